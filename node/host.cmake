# mpshare_node_host: the host side of mpshare-node. CDI specs per slot, the
# node's GPUs (NVML at run time, or an inventory file) and the MPS daemons.
# NVML is loaded with dlopen, so nothing NVIDIA-specific is needed to build.
add_library(mpshare_node_host
  ${CMAKE_CURRENT_SOURCE_DIR}/cdi_dir.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/cdi_spec.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/child_process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/inventory_file.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/inventory_format.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/mps_supervisor.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/nvml_inventory.cc
)
target_include_directories(mpshare_node_host PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(mpshare_node_host
  PUBLIC mpshare_core mpshare_platform nlohmann_json::nlohmann_json Threads::Threads
  PRIVATE yaml-cpp ${CMAKE_DL_LIBS} mpshare_warnings)
