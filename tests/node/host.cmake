# Tests of mpshare_node_host (node/host.cmake): CDI specs and their directory,
# the GPU inventory (file, NVML through a fake library), the MPS supervisor.
mpshare_test(node_cdi_spec_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cdi_spec_test.cc
             LIBS mpshare_node_host)
mpshare_test(node_cdi_dir_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cdi_dir_test.cc
             LIBS mpshare_node_host)
mpshare_test(node_inventory_file_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/inventory_file_test.cc
             LIBS mpshare_node_host)
mpshare_test(node_inventory_format_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/inventory_format_test.cc
             LIBS mpshare_node_host)

# A fake libnvidia-ml.so.1 the NVML test loads by path: the dlopen path runs for real.
add_library(mpshare_fake_nvml SHARED ${CMAKE_CURRENT_SOURCE_DIR}/fake_nvml.cc)
target_link_libraries(mpshare_fake_nvml PRIVATE mpshare_warnings)
mpshare_test(node_nvml_inventory_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/nvml_inventory_test.cc
             LIBS mpshare_node_host ${CMAKE_DL_LIBS})
target_compile_definitions(node_nvml_inventory_test
                           PRIVATE MPSHARE_FAKE_NVML_LIBRARY="$<TARGET_FILE:mpshare_fake_nvml>")
add_dependencies(node_nvml_inventory_test mpshare_fake_nvml)

# The supervisor runs tests/node/fake-mps-control (copied to a temp dir) as its daemon.
mpshare_test(node_mps_supervisor_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mps_supervisor_test.cc
             LIBS mpshare_node_host)
