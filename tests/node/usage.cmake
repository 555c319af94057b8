# Tests of mpshare_node_usage (node/usage.cmake): cgroups -> containers on
# fixture /proc trees, the GPU processes file, the report, the table, NVML's
# process calls through the fake library, the pod Event.
mpshare_test(node_usage_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/usage_test.cc
             LIBS mpshare_node_usage)
mpshare_test(node_nvml_processes_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/nvml_processes_test.cc
             LIBS mpshare_node_usage ${CMAKE_DL_LIBS})
target_compile_definitions(node_nvml_processes_test
                           PRIVATE MPSHARE_FAKE_NVML_LIBRARY="$<TARGET_FILE:mpshare_fake_nvml>")
add_dependencies(node_nvml_processes_test mpshare_fake_nvml)
