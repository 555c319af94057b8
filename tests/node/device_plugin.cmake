# Tests of the kubelet-facing gRPC part (node/device_plugin.cmake), over real
# unix sockets in short /tmp directories.

# The fake kubelet (Registration + PodResources servers) and a fake SlotBackend,
# for any node test.
add_library(mpshare_node_fake_kubelet STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fake_kubelet.cc)
target_link_libraries(mpshare_node_fake_kubelet PUBLIC mpshare_node_grpc PRIVATE mpshare_warnings)

mpshare_test(node_device_plugin_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/device_plugin_test.cc
             LIBS mpshare_node_fake_kubelet)
mpshare_test(node_registration_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/registration_test.cc
             LIBS mpshare_node_fake_kubelet)
mpshare_test(node_pod_resources_client_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pod_resources_client_test.cc
             LIBS mpshare_node_fake_kubelet)
