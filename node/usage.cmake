# mpshare_node_usage: what each pod uses of its GPU slice. GPU processes (NVML
# or a file), their pod and container (cgroup), the report, its metrics, the
# double-cap episodes and the usage command.
add_library(mpshare_node_usage
  ${CMAKE_CURRENT_SOURCE_DIR}/cgroup_path.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/gpu_processes_file.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/nvml_processes.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/pod_containers.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/proc_reader.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/usage_format.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/usage_metrics.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/usage_monitor.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/usage_report.cc
)
target_include_directories(mpshare_node_usage PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(mpshare_node_usage
  PUBLIC mpshare_node_host mpshare_core mpshare_platform nlohmann_json::nlohmann_json
  PRIVATE ${CMAKE_DL_LIBS} mpshare_warnings)
