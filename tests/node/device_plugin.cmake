# Tests of the kubelet-facing gRPC part (node/device_plugin.cmake), over real
# unix sockets in short /tmp directories.
# The fake kubelet (Registration + PodResources servers) and a fake SlotBackend
# are mpshare_testing_kubelet (testing/kubelet/).

mpshare_test(node_device_plugin_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/device_plugin_test.cc
             LIBS mpshare_testing_kubelet)
mpshare_test(node_registration_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/registration_test.cc
             LIBS mpshare_testing_kubelet)
mpshare_test(node_pod_resources_client_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pod_resources_client_test.cc
             LIBS mpshare_testing_kubelet)
