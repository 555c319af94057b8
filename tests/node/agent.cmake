# Tests of mpshare_node (node/agent.cmake): late binding and the node's pod directory.
mpshare_test(node_late_binder_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/late_binder_test.cc
             LIBS mpshare_node)
