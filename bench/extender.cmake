# Extender benchmarks: filter + prioritize through the routes (Google Benchmark);
# the HTTP load test is bench/extender_wrk.sh on top of bench/wrk/.
add_executable(extender_benchmark ${CMAKE_CURRENT_LIST_DIR}/extender_benchmark.cc)
target_link_libraries(extender_benchmark PRIVATE mpshare_extender benchmark::benchmark mpshare_warnings)
