# Cluster-mode benchmark and the stand-alone test API server, both on the
# in-process API server of testing/apiserver/.
if(TARGET mpshare_testing_apiserver)
  add_library(mpshare_cluster_seed STATIC ${CMAKE_CURRENT_LIST_DIR}/cluster_seed.cc)
  target_link_libraries(mpshare_cluster_seed PUBLIC mpshare_testing_apiserver PRIVATE mpshare_warnings)

  add_executable(cluster_benchmark ${CMAKE_CURRENT_LIST_DIR}/cluster_benchmark.cc)
  target_link_libraries(cluster_benchmark PRIVATE mpshare_cluster mpshare_cluster_seed mpshare_warnings)

  add_executable(mpshare-test-apiserver ${CMAKE_CURRENT_LIST_DIR}/cluster_apiserver.cc)
  target_link_libraries(mpshare-test-apiserver PRIVATE mpshare_cluster_seed OpenSSL::Crypto mpshare_warnings)
endif()
