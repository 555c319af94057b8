# Tests of mpshare_node (node/agent.cmake): late binding and the node's pod directory.
mpshare_test(node_late_binder_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/late_binder_test.cc
             LIBS mpshare_node)
mpshare_test(node_api_pod_directory_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/api_pod_directory_test.cc
             LIBS mpshare_node mpshare_kube_testing)
