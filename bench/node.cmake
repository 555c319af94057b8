# mpshare-node's PreStartContainer latency against the test API server and the
# fake kubelet (testing/).
if(TARGET mpshare_testing_apiserver AND TARGET mpshare_testing_kubelet)
  add_executable(node_prestart_benchmark ${CMAKE_CURRENT_LIST_DIR}/node_prestart_benchmark.cc)
  target_link_libraries(node_prestart_benchmark PRIVATE mpshare_node mpshare_testing_kubelet
                                                        mpshare_testing_apiserver mpshare_warnings)
endif()
