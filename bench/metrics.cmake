# Metrics benchmarks: one update on the request path, one scrape (Google Benchmark).
add_executable(metrics_benchmark ${CMAKE_CURRENT_LIST_DIR}/metrics_benchmark.cc)
target_link_libraries(metrics_benchmark PRIVATE mpshare_platform benchmark::benchmark mpshare_warnings)
