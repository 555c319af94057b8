# The kubelet-facing gRPC part of mpshare-node (included from node/CMakeLists.txt).
#
#   mpshare_node_proto  code generated from proto/ (deviceplugin v1beta1,
#                       podresources v1); built without the house warnings
#                       because protoc's output is not ours to fix
#   mpshare_node_grpc   the device plugin server, registration with the kubelet
#                       and its restarts, the PodResources client
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)

set(MPSHARE_NODE_PROTO_DIR ${CMAKE_CURRENT_SOURCE_DIR}/proto)
set(MPSHARE_NODE_PROTO_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/proto_gen)

set(mpshare_node_proto_sources)
foreach(proto deviceplugin/v1beta1/api podresources/v1/api)
  set(gen ${MPSHARE_NODE_PROTO_GEN_DIR}/${proto})
  add_custom_command(
    OUTPUT ${gen}.pb.cc ${gen}.pb.h ${gen}.grpc.pb.cc ${gen}.grpc.pb.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${MPSHARE_NODE_PROTO_GEN_DIR}
    COMMAND protobuf::protoc
      --proto_path=${MPSHARE_NODE_PROTO_DIR}
      --cpp_out=${MPSHARE_NODE_PROTO_GEN_DIR}
      --grpc_out=${MPSHARE_NODE_PROTO_GEN_DIR}
      --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
      ${MPSHARE_NODE_PROTO_DIR}/${proto}.proto
    DEPENDS ${MPSHARE_NODE_PROTO_DIR}/${proto}.proto protobuf::protoc gRPC::grpc_cpp_plugin
    COMMENT "protoc ${proto}.proto"
    VERBATIM)
  list(APPEND mpshare_node_proto_sources ${gen}.pb.cc ${gen}.grpc.pb.cc)
endforeach()

add_library(mpshare_node_proto STATIC ${mpshare_node_proto_sources})
# SYSTEM: our own -Werror code includes these headers without tripping on them.
target_include_directories(mpshare_node_proto SYSTEM PUBLIC ${MPSHARE_NODE_PROTO_GEN_DIR})
target_link_libraries(mpshare_node_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)
target_compile_options(mpshare_node_proto PRIVATE -w)

add_library(mpshare_node_grpc
  ${CMAKE_CURRENT_SOURCE_DIR}/device_plugin_server.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/registration.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/pod_resources_client.cc
)
target_include_directories(mpshare_node_grpc PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(mpshare_node_grpc
  PUBLIC mpshare_node_proto mpshare_core mpshare_platform gRPC::grpc++ protobuf::libprotobuf
         Threads::Threads
  PRIVATE mpshare_warnings)
