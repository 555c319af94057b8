#include "node/pod_resources_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "node/device_plugin_server.h"
#include "podresources/v1/api.grpc.pb.h"

namespace mpshare::node {

struct PodResourcesClient::Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PodResourcesLister::Stub> stub;
};

namespace {

// The kubelet reports each resource of a container once; merge anyway, so a
// container never looks like two holders of its own devices.
void addDevices(std::vector<ContainerDevices>& out, const v1::PodResources& pod,
                const v1::ContainerResources& container, const v1::ContainerDevices& devices) {
  if (devices.device_ids().empty()) {
    return;
  }
  auto same = [&](const ContainerDevices& entry) {
    return entry.namespace_name == pod.namespace_() && entry.pod_name == pod.name() &&
           entry.container_name == container.name() &&
           entry.resource_name == devices.resource_name();
  };
  auto existing = std::find_if(out.begin(), out.end(), same);
  if (existing == out.end()) {
    out.push_back({pod.namespace_(), pod.name(), container.name(), devices.resource_name(), {}});
    existing = std::prev(out.end());
  }
  existing->device_ids.insert(existing->device_ids.end(), devices.device_ids().begin(),
                              devices.device_ids().end());
}

std::string joinIds(const std::vector<std::string>& ids) {
  std::string joined;
  for (const std::string& id : ids) {
    joined += (joined.empty() ? "" : ", ") + id;
  }
  return joined;
}

}  // namespace

PodResourcesClient::PodResourcesClient(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

PodResourcesClient::~PodResourcesClient() = default;

std::shared_ptr<PodResourcesClient::Connection> PodResourcesClient::connection() {
  std::lock_guard lock(mutex_);
  if (!connection_) {
    // A local subchannel pool: a fresh channel must dial the socket now, not
    // inherit the reconnect back-off of the channel it replaces.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel("unix:" + socket_path_, grpc::InsecureChannelCredentials(), args);
    connection_ =
        std::make_shared<Connection>(Connection{channel, v1::PodResourcesLister::NewStub(channel)});
  }
  return connection_;
}

void PodResourcesClient::dropConnection(const std::shared_ptr<Connection>& failed) {
  std::lock_guard lock(mutex_);
  if (connection_ == failed) {  // another caller may have replaced it already
    connection_.reset();
  }
}

core::Result<std::vector<ContainerDevices>> PodResourcesClient::list() {
  v1::ListPodResourcesResponse response;
  grpc::Status status;
  // The second attempt runs on a new channel: after a kubelet restart the old
  // one may still point at the socket that was deleted.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<Connection> current = connection();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    response.Clear();
    status = current->stub->List(&context, v1::ListPodResourcesRequest(), &response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      break;
    }
    dropConnection(current);
  }
  if (!status.ok()) {
    return core::Error{core::ErrorCode::kUnavailable, socket_path_,
                       "List failed (" + describeGrpcStatus(status) + ")"};
  }
  std::vector<ContainerDevices> out;
  for (const v1::PodResources& pod : response.pod_resources()) {
    for (const v1::ContainerResources& container : pod.containers()) {
      for (const v1::ContainerDevices& devices : container.devices()) {
        addDevices(out, pod, container, devices);
      }
    }
  }
  return out;
}

core::Result<ContainerRef> findContainerHolding(const std::vector<ContainerDevices>& containers,
                                                const std::string& resource_name,
                                                const std::vector<std::string>& device_ids) {
  if (device_ids.empty()) {
    return core::invalidArgument("device IDs", "none given; a container holds at least one");
  }
  const ContainerDevices* found = nullptr;
  for (const ContainerDevices& entry : containers) {
    if (entry.resource_name != resource_name) {
      continue;
    }
    const bool holds_all =
        std::all_of(device_ids.begin(), device_ids.end(), [&](const std::string& id) {
          return std::find(entry.device_ids.begin(), entry.device_ids.end(), id) !=
                 entry.device_ids.end();
        });
    if (!holds_all) {
      continue;
    }
    if (found == nullptr) {
      found = &entry;
    } else if (found->namespace_name != entry.namespace_name || found->pod_name != entry.pod_name) {
      return core::Error{core::ErrorCode::kConflict, resource_name,
                         joinIds(device_ids) + " held by two pods: " + found->namespace_name + "/" +
                             found->pod_name + " and " + entry.namespace_name + "/" +
                             entry.pod_name};
    }
  }
  if (found == nullptr) {
    return core::Error{core::ErrorCode::kNotFound, resource_name,
                       "no container holds " + joinIds(device_ids)};
  }
  return ContainerRef{found->namespace_name, found->pod_name, found->container_name};
}

}  // namespace mpshare::node
