#pragma once

// The kubelet's view of mpshare-node: a v1beta1 device plugin serving
// GPU-agnostic slots ("slot-000" ..) on a unix socket in the device plugin
// directory. Allocate is pod-blind and only names each slot's CDI device; the
// GPU is chosen later, in PreStartContainer, by the SlotBackend (docs:
// gpu-pinning.md section 6.2). Registration with the kubelet and its restarts
// are PluginRunner's job (node/registration.h).

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "node/slot_backend.h"

namespace mpshare::node {

// "UNAVAILABLE: failed to connect to all addresses": a gRPC status for the
// messages of errors that carry it.
std::string describeGrpcStatus(const grpc::Status& status);

class DevicePluginServer final : public v1beta1::DevicePlugin::Service {
 public:
  struct Options {
    std::string plugin_dir;  // "/var/lib/kubelet/device-plugins"
    std::string socket_name = "mpshare.sock";
    std::string resource_name = "nvidia.com/gpu.shared";
    int slot_count = 0;  // IDs slot-000 .. slot-<slot_count-1> are valid
  };

  // `backend` must outlive the server.
  DevicePluginServer(Options options, SlotBackend& backend);
  ~DevicePluginServer() override;

  DevicePluginServer(const DevicePluginServer&) = delete;
  DevicePluginServer& operator=(const DevicePluginServer&) = delete;

  // Serves on socketPath(), replacing a stale socket file left by an earlier
  // run. An error names the socket path. Starting a started server is an error.
  core::Status start();

  // Ends every open ListAndWatch and stops serving (prompt: in-flight calls get
  // a short grace period). The socket file is gone afterwards. Idempotent;
  // start() may be called again.
  void stop();

  [[nodiscard]] bool serving() const;

  // ListAndWatch streams open now: 0 means no kubelet is watching the slots.
  [[nodiscard]] int openStreams() const;

  // "<plugin_dir>/<socket_name>".
  [[nodiscard]] std::string socketPath() const;
  [[nodiscard]] const Options& options() const { return options_; }

  // The health of some slot may have changed: every open ListAndWatch re-reads
  // backend.slots() and sends the full list if it differs from what it sent.
  void notifyHealthChanged();

  // v1beta1.DevicePlugin.
  grpc::Status GetDevicePluginOptions(grpc::ServerContext* context, const v1beta1::Empty* request,
                                      v1beta1::DevicePluginOptions* response) override;
  grpc::Status ListAndWatch(grpc::ServerContext* context, const v1beta1::Empty* request,
                            grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override;
  grpc::Status GetPreferredAllocation(grpc::ServerContext* context,
                                      const v1beta1::PreferredAllocationRequest* request,
                                      v1beta1::PreferredAllocationResponse* response) override;
  grpc::Status Allocate(grpc::ServerContext* context, const v1beta1::AllocateRequest* request,
                        v1beta1::AllocateResponse* response) override;
  grpc::Status PreStartContainer(grpc::ServerContext* context,
                                 const v1beta1::PreStartContainerRequest* request,
                                 v1beta1::PreStartContainerResponse* response) override;

 private:
  // Waits for a health change, the server stopping or the client going away.
  // Returns false when the stream should end.
  bool waitForChange(grpc::ServerContext* context, std::uint64_t& seen_version);

  const Options options_;
  SlotBackend& backend_;

  mutable std::mutex lifecycle_mutex_;  // start/stop/serving
  std::unique_ptr<grpc::Server> server_;

  mutable std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  std::uint64_t health_version_ = 0;
  bool stopping_ = false;
  int open_streams_ = 0;
};

}  // namespace mpshare::node
