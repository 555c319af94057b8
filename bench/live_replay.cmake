# The trace replayed through the live extender's service (filter, prioritize,
# bind and the planner of fgd-plus-batch); bench/live_replay.sh runs it over
# lists x policies x seeds. See docs/packing.md.
add_executable(live_replay ${CMAKE_CURRENT_LIST_DIR}/live_replay.cc
                           ${CMAKE_CURRENT_LIST_DIR}/trace_objects.cc)
target_link_libraries(live_replay PRIVATE mpshare_extender mpshare_simulator mpshare_platform
                                          mpshare_warnings)
if(MPSHARE_BUILD_TESTS)
  # A slice of the trace (300 pods, 60 nodes) for both policies: the report is
  # complete and every bind kept the ledger's budgets (seconds).
  add_test(NAME bench_live_replay_smoke_test
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/live_replay_smoke_test.sh $<TARGET_FILE:live_replay>
                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(bench_live_replay_smoke_test PROPERTIES TIMEOUT 60 LABELS simulation)
endif()
