# Webhook benchmarks: the pure review path (Google Benchmark); the HTTPS load
# test is bench/webhook_wrk.sh on top of bench/wrk/.
add_executable(webhook_review_benchmark ${CMAKE_CURRENT_LIST_DIR}/webhook_review_benchmark.cc)
target_link_libraries(webhook_review_benchmark PRIVATE mpshare_webhook benchmark::benchmark mpshare_warnings)
target_compile_definitions(webhook_review_benchmark PRIVATE MPSHARE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
