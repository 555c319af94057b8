# mpshare_node: late binding (PreStartContainer -> the pod's GPU -> a per-slot
# CDI spec), the node's pods from the API server, and the serve command.
add_library(mpshare_node
  ${CMAKE_CURRENT_SOURCE_DIR}/api_pod_directory.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/late_binder.cc
)
target_include_directories(mpshare_node PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(mpshare_node
  PUBLIC mpshare_node_grpc mpshare_node_host mpshare_core mpshare_platform
  PRIVATE mpshare_warnings)
