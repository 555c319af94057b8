# Packing policies: one pod scored on every node of a large cluster (Google
# Benchmark); the packing quality itself is bench/packing.sh.
add_executable(packing_policy_benchmark ${CMAKE_CURRENT_LIST_DIR}/packing_policy_benchmark.cc)
target_link_libraries(packing_policy_benchmark PRIVATE mpshare_simulator benchmark::benchmark mpshare_warnings)
target_compile_definitions(packing_policy_benchmark PRIVATE
  MPSHARE_TRACE_DIR="${PROJECT_SOURCE_DIR}/data/alibaba-gpu-v2023")
