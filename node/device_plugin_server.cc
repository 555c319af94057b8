#include "node/device_plugin_server.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <iterator>
#include <utility>
#include <vector>

#include "core/slots.h"
#include "platform/logging.h"

namespace mpshare::node {
namespace {

// How often an idle ListAndWatch looks for a client that went away: gRPC's
// sync API has no callback for it, and a cancelled stream must not hold a
// serving thread until the next health change.
constexpr auto kCancelPoll = std::chrono::milliseconds(250);

// In-flight unary calls get this long to finish when the server stops.
constexpr auto kShutdownGrace = std::chrono::milliseconds(500);

constexpr const char* kHealthy = "Healthy";
constexpr const char* kUnhealthy = "Unhealthy";
constexpr const char* kSlotsEnv = "MPSHARE_SLOTS";

v1beta1::ListAndWatchResponse toListResponse(const std::vector<SlotHealth>& slots) {
  v1beta1::ListAndWatchResponse response;
  for (const SlotHealth& slot : slots) {
    v1beta1::Device* device = response.add_devices();
    device->set_id(slot.id);
    device->set_health(slot.healthy ? kHealthy : kUnhealthy);
  }
  return response;
}

// Every ID of one container's request as a slot number, or an error naming the
// request's field ("container_requests[1].devices_ids[0]") and the valid range.
core::Result<std::vector<int>> parseSlots(
    const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& field,
    int slot_count) {
  if (ids.empty()) {
    return core::invalidArgument(field, "no device IDs; the kubelet sends at least one slot");
  }
  std::vector<int> slots;
  slots.reserve(ids.size());
  for (int i = 0; i < ids.size(); ++i) {
    core::Result<int> slot = core::parseSlotId(ids[i], slot_count);
    if (!slot) {
      return core::invalidArgument(field + "[" + std::to_string(i) + "]", slot.error().message);
    }
    slots.push_back(*slot);
  }
  return slots;
}

grpc::Status toGrpcStatus(const core::Error& error, grpc::StatusCode code) {
  return {code, error.describe()};
}

// A handler that throws would leave the kubelet with gRPC's generic UNKNOWN;
// name the call and the reason instead.
template <typename Body>
grpc::Status guarded(const char* method, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    platform::logError("device plugin call failed", {{"method", method}, {"error", e.what()}});
    return {grpc::StatusCode::INTERNAL, std::string(method) + " failed: " + e.what()};
  } catch (...) {
    platform::logError("device plugin call failed",
                       {{"method", method}, {"error", "unknown exception"}});
    return {grpc::StatusCode::INTERNAL, std::string(method) + " failed: unknown exception"};
  }
}

core::Error unavailable(std::string field, std::string message) {
  return core::Error{core::ErrorCode::kUnavailable, std::move(field), std::move(message)};
}

}  // namespace

std::string describeGrpcStatus(const grpc::Status& status) {
  // In grpc::StatusCode order.
  // clang-format off
  static constexpr const char* kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  // clang-format on
  const int code = static_cast<int>(status.error_code());
  const std::string name = code >= 0 && code < static_cast<int>(std::size(kNames))
                               ? kNames[code]
                               : "code " + std::to_string(code);
  const std::string& message = status.error_message();
  return message.empty() || message == name ? name : name + ": " + message;
}

DevicePluginServer::DevicePluginServer(Options options, SlotBackend& backend)
    : options_(std::move(options)), backend_(backend) {}

DevicePluginServer::~DevicePluginServer() { stop(); }

std::string DevicePluginServer::socketPath() const {
  return options_.plugin_dir + "/" + options_.socket_name;
}

core::Status DevicePluginServer::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  const std::string path = socketPath();
  if (server_) {
    return core::Error{core::ErrorCode::kConflict, path,
                       "the device plugin is already serving there"};
  }
  constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;
  if (path.size() > kMaxPath) {
    return core::invalidArgument(path, "socket path is " + std::to_string(path.size()) +
                                           " bytes; unix sockets allow at most " +
                                           std::to_string(kMaxPath));
  }
  struct stat dir_stat {};
  if (::stat(options_.plugin_dir.c_str(), &dir_stat) != 0 || !S_ISDIR(dir_stat.st_mode)) {
    return unavailable(options_.plugin_dir, "the device plugin directory does not exist");
  }
  // A socket left by an earlier run (or a crash) would make bind() fail.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return unavailable(path,
                       std::string("cannot remove the stale socket: ") + std::strerror(errno));
  }
  {
    std::lock_guard watch(watch_mutex_);
    stopping_ = false;
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  if (!server_) {
    return unavailable(
        path, "cannot serve the device plugin on this socket (is the directory writable?)");
  }
  platform::logInfo("device plugin serving", {{"socket", path},
                                              {"resource", options_.resource_name},
                                              {"slots", std::to_string(options_.slot_count)}});
  return {};
}

void DevicePluginServer::stop() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!server_) {
    return;
  }
  {
    std::lock_guard watch(watch_mutex_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  // ListAndWatch returns at once on stopping_; the deadline bounds unary calls.
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  server_.reset();
  // gRPC removes its socket on shutdown; make sure, so a watcher sees it go.
  ::unlink(socketPath().c_str());
  platform::logInfo("device plugin stopped", {{"socket", socketPath()}});
}

bool DevicePluginServer::serving() const {
  std::lock_guard lifecycle(lifecycle_mutex_);
  return server_ != nullptr;
}

int DevicePluginServer::openStreams() const {
  std::lock_guard watch(watch_mutex_);
  return open_streams_;
}

void DevicePluginServer::notifyHealthChanged() {
  {
    std::lock_guard watch(watch_mutex_);
    ++health_version_;
  }
  watch_cv_.notify_all();
}

grpc::Status DevicePluginServer::GetDevicePluginOptions(grpc::ServerContext* /*context*/,
                                                        const v1beta1::Empty* /*request*/,
                                                        v1beta1::DevicePluginOptions* response) {
  // PreStart is where a slot is bound to its GPU; preferred allocation is
  // pointless for interchangeable slots.
  response->set_pre_start_required(true);
  response->set_get_preferred_allocation_available(false);
  return grpc::Status::OK;
}

bool DevicePluginServer::waitForChange(grpc::ServerContext* context, std::uint64_t& seen_version) {
  std::unique_lock watch(watch_mutex_);
  while (true) {
    if (stopping_) {
      return false;
    }
    if (health_version_ != seen_version) {
      seen_version = health_version_;
      return true;
    }
    if (context->IsCancelled()) {
      return false;
    }
    watch_cv_.wait_for(watch, kCancelPoll);
  }
}

grpc::Status DevicePluginServer::ListAndWatch(
    grpc::ServerContext* context, const v1beta1::Empty* /*request*/,
    grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) {
  return guarded("ListAndWatch", [&]() -> grpc::Status {
    std::uint64_t seen_version = 0;
    {
      std::lock_guard watch(watch_mutex_);
      if (stopping_) {
        return {grpc::StatusCode::UNAVAILABLE, "the device plugin is stopping"};
      }
      seen_version = health_version_;
      ++open_streams_;
    }
    // Counted down on every way out, exceptions included.
    struct StreamCount {
      DevicePluginServer& server;
      ~StreamCount() {
        std::lock_guard watch(server.watch_mutex_);
        --server.open_streams_;
      }
    } stream_count{*this};
    std::vector<SlotHealth> sent = backend_.slots();
    platform::logInfo("ListAndWatch opened", {{"slots", std::to_string(sent.size())}});
    if (!writer->Write(toListResponse(sent))) {
      return grpc::Status::OK;  // the client is gone; nothing to tell it
    }
    while (waitForChange(context, seen_version)) {
      std::vector<SlotHealth> now = backend_.slots();
      if (now == sent) {
        continue;
      }
      sent = std::move(now);
      if (!writer->Write(toListResponse(sent))) {
        break;
      }
    }
    if (context->IsCancelled()) {
      return {grpc::StatusCode::CANCELLED, "the kubelet closed ListAndWatch"};
    }
    return grpc::Status::OK;
  });
}

grpc::Status DevicePluginServer::GetPreferredAllocation(
    grpc::ServerContext* /*context*/, const v1beta1::PreferredAllocationRequest* /*request*/,
    v1beta1::PreferredAllocationResponse* /*response*/) {
  return {grpc::StatusCode::UNIMPLEMENTED,
          "GetPreferredAllocation is not offered: get_preferred_allocation_available is false"};
}

grpc::Status DevicePluginServer::Allocate(grpc::ServerContext* /*context*/,
                                          const v1beta1::AllocateRequest* request,
                                          v1beta1::AllocateResponse* response) {
  return guarded("Allocate", [&]() -> grpc::Status {
    // Pod-blind and idempotent: the answer depends on the IDs alone, so the
    // kubelet's checkpointed copy stays right on every container restart.
    for (int c = 0; c < request->container_requests_size(); ++c) {
      const std::string field = "container_requests[" + std::to_string(c) + "].devices_ids";
      core::Result<std::vector<int>> slots =
          parseSlots(request->container_requests(c).devices_ids(), field, options_.slot_count);
      if (!slots) {
        platform::logWarn("Allocate refused", {{"error", slots.error().describe()}});
        return toGrpcStatus(slots.error(), grpc::StatusCode::INVALID_ARGUMENT);
      }
      v1beta1::ContainerAllocateResponse* answer = response->add_container_responses();
      std::string joined;
      for (int slot : *slots) {
        const std::string cdi_name = core::cdiDeviceName(slot);
        answer->add_cdi_devices()->set_name(cdi_name);
        // Same device for runtimes that read CDI only from annotations
        // (kubelets without the cdi_devices field, containerd 1.7).
        (*answer->mutable_annotations())[core::cdiAnnotationKey(slot)] = cdi_name;
        joined += (joined.empty() ? "" : ",") + core::slotId(slot);
      }
      (*answer->mutable_envs())[kSlotsEnv] = joined;
      platform::logDebug("Allocate", {{"slots", joined}});
    }
    return grpc::Status::OK;
  });
}

grpc::Status DevicePluginServer::PreStartContainer(
    grpc::ServerContext* /*context*/, const v1beta1::PreStartContainerRequest* request,
    v1beta1::PreStartContainerResponse* /*response*/) {
  return guarded("PreStartContainer", [&]() -> grpc::Status {
    core::Result<std::vector<int>> slots =
        parseSlots(request->devices_ids(), "devices_ids", options_.slot_count);
    if (!slots) {
      platform::logWarn("PreStartContainer refused", {{"error", slots.error().describe()}});
      return toGrpcStatus(slots.error(), grpc::StatusCode::INVALID_ARGUMENT);
    }
    const std::vector<std::string> ids(request->devices_ids().begin(),
                                       request->devices_ids().end());
    core::Status status = backend_.preStart(ids);
    if (!status) {
      platform::logWarn("PreStartContainer failed", {{"error", status.error().describe()}});
      // UNAVAILABLE tells a person reading the pod's events that a retry may
      // work; anything else is a precondition the pod does not meet.
      return toGrpcStatus(status.error(), status.error().code == core::ErrorCode::kUnavailable
                                              ? grpc::StatusCode::UNAVAILABLE
                                              : grpc::StatusCode::FAILED_PRECONDITION);
    }
    return grpc::Status::OK;
  });
}

}  // namespace mpshare::node
