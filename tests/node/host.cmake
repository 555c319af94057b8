# Tests of mpshare_node_host (node/host.cmake): CDI specs and their directory,
# the GPU inventory (file, NVML through a fake library), the MPS supervisor.
mpshare_test(node_cdi_spec_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cdi_spec_test.cc
             LIBS mpshare_node_host)
mpshare_test(node_cdi_dir_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cdi_dir_test.cc
             LIBS mpshare_node_host)
