# Tests of mpshare_node (node/agent.cmake): late binding and the node's pod directory.
mpshare_test(node_late_binder_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/late_binder_test.cc
             LIBS mpshare_node)
mpshare_test(node_api_pod_directory_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/api_pod_directory_test.cc
             LIBS mpshare_node mpshare_testing_apiserver)
mpshare_test(node_serve_options_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serve_options_test.cc LIBS mpshare_node)
# mpshare-node as a process on a fake 2-GPU node (fake kubelet, test API server,
# a stand-in nvidia-cuda-mps-control).
mpshare_test(node_agent_process_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent_process_test.cc
             LIBS mpshare_testing_kubelet mpshare_testing_apiserver mpshare_test_client
                  mpshare_test_process)
target_compile_definitions(node_agent_process_test PRIVATE MPSHARE_NODE_BINARY="$<TARGET_FILE:mpshare-node>")
add_dependencies(node_agent_process_test mpshare-node)

# On a GPU machine only (tests/gpu/run_node_validation.sh); never run by ctest.
add_executable(mpshare-node-gpu-check ${CMAKE_CURRENT_SOURCE_DIR}/gpu_check.cc)
target_link_libraries(mpshare-node-gpu-check PRIVATE mpshare_node_host mpshare_testing_kubelet
                                                     mpshare_testing_apiserver mpshare_warnings)
