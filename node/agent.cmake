# mpshare_node: late binding (PreStartContainer -> the pod's GPU -> a per-slot
# CDI spec), the node's pods from the API server, metrics and the commands.
add_library(mpshare_node
  ${CMAKE_CURRENT_SOURCE_DIR}/agent_metrics.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/api_pod_directory.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/late_binder.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/serve_command.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/serve_options.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/usage_command.cc
)
target_include_directories(mpshare_node PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(mpshare_node
  PUBLIC mpshare_node_grpc mpshare_node_host mpshare_node_usage mpshare_core mpshare_platform
  PRIVATE mpshare_warnings)

add_executable(mpshare-node ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_compile_definitions(mpshare-node PRIVATE MPSHARE_VERSION="${PROJECT_VERSION}")
target_link_libraries(mpshare-node PRIVATE mpshare_node mpshare_warnings)
