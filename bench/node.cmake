# mpshare-node's PreStartContainer latency (needs the test API server and the
# fake kubelet, so only with the test suite).
if(TARGET mpshare_kube_testing AND TARGET mpshare_node_fake_kubelet)
  add_executable(node_prestart_benchmark ${CMAKE_CURRENT_LIST_DIR}/node_prestart_benchmark.cc)
  target_link_libraries(node_prestart_benchmark PRIVATE mpshare_node mpshare_node_fake_kubelet
                                                        mpshare_kube_testing mpshare_warnings)
endif()
