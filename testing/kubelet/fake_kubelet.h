#pragma once

// Stand-ins for the kubelet's two gRPC faces, over real unix sockets, for the
// node agent's tests (docs: gpu-pinning.md section 6.4).
//
// FakeKubelet serves v1beta1.Registration on <dir>/kubelet.sock and behaves
// like the kubelet's Register: it checks the version and resource name, then
// synchronously dials <dir>/<endpoint>, calls GetDevicePluginOptions and opens
// ListAndWatch on a reader thread before it answers. A plugin that registers
// before it serves therefore fails here as it would on a node.
//
// FakePodResources serves v1.PodResourcesLister with pods a test sets.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "node/slot_backend.h"
#include "podresources/v1/api.grpc.pb.h"

namespace mpshare::node::fakes {

// A fresh directory "/tmp/mpn-XXXXXX", removed with everything in it. Short on
// purpose: unix socket paths allow 107 bytes.
class SocketDir {
 public:
  SocketDir();
  ~SocketDir();
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A SlotBackend whose slots are slot-000 .. slot-<n-1>, all healthy at first,
// and whose preStart records its calls and answers what the test set.
class FakeSlotBackend final : public SlotBackend {
 public:
  explicit FakeSlotBackend(int slot_count);

  [[nodiscard]] std::vector<SlotHealth> slots() const override;
  core::Status preStart(const std::vector<std::string>& device_ids) override;

  void setHealthy(int slot, bool healthy);
  void setPreStartResult(core::Status result);
  [[nodiscard]] std::vector<std::vector<std::string>> preStartCalls() const;

 private:
  mutable std::mutex mutex_;
  std::vector<SlotHealth> slots_;
  core::Status pre_start_result_;
  std::vector<std::vector<std::string>> pre_start_calls_;
};

class FakeKubelet final : public v1beta1::Registration::Service {
 public:
  struct Options {
    std::string dir;  // the device plugin directory
    std::string socket_name = "kubelet.sock";
    std::string resource_name = "nvidia.com/gpu.shared";
    // The kubelet waits 10 s for the plugin's socket; tests need less.
    std::chrono::milliseconds dial_timeout{1000};
    // Holds each Register this long before dialling (until stop() at most).
    std::chrono::milliseconds register_delay{0};
  };

  explicit FakeKubelet(Options options);
  ~FakeKubelet() override;

  // Serves on socketPath(); an error names it.
  core::Status start();
  // Closes the plugin's ListAndWatch and stops serving; kubelet.sock is removed.
  void stop();
  [[nodiscard]] std::string socketPath() const;

  grpc::Status Register(grpc::ServerContext* context, const v1beta1::RegisterRequest* request,
                        v1beta1::Empty* response) override;

  // Register calls received, accepted or not.
  [[nodiscard]] int registerCalls() const;
  // Registrations accepted (the plugin answered GetDevicePluginOptions).
  [[nodiscard]] int registrations() const;
  bool waitForRegistrations(int count, std::chrono::milliseconds timeout) const;
  bool waitForRegisterCalls(int count, std::chrono::milliseconds timeout) const;
  // Why refused Register calls were refused, in order.
  [[nodiscard]] std::vector<std::string> refusals() const;
  [[nodiscard]] std::optional<v1beta1::RegisterRequest> lastRequest() const;
  // What the plugin answered to GetDevicePluginOptions during the last Register.
  [[nodiscard]] std::optional<v1beta1::DevicePluginOptions> lastOptions() const;

  // Every list the plugin sent on ListAndWatch since the last registration.
  [[nodiscard]] std::vector<std::vector<SlotHealth>> lists() const;
  bool waitForLists(std::size_t count, std::chrono::milliseconds timeout) const;
  // Waits until the last registration's ListAndWatch has closed.
  bool waitForListAndWatchClosed(std::chrono::milliseconds timeout) const;
  // Health strings other than "Healthy"/"Unhealthy", IDs over 63 characters.
  [[nodiscard]] std::vector<std::string> protocolErrors() const;

  // Calls on the plugin that registered last, as the kubelet would make them;
  // FAILED_PRECONDITION when no plugin has registered.
  grpc::Status allocate(const std::vector<std::vector<std::string>>& container_device_ids,
                        v1beta1::AllocateResponse* response);
  grpc::Status preStart(const std::vector<std::string>& device_ids);

 private:
  struct Plugin;
  void readListAndWatch(const std::shared_ptr<Plugin>& plugin);
  std::shared_ptr<Plugin> currentPlugin() const;
  grpc::Status refuse(grpc::StatusCode code, const std::string& message);
  void closePlugins();

  const Options options_;
  std::unique_ptr<grpc::Server> server_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  int register_calls_ = 0;
  int registrations_ = 0;
  std::vector<std::string> refusals_;
  std::vector<std::string> protocol_errors_;
  std::optional<v1beta1::RegisterRequest> last_request_;
  std::optional<v1beta1::DevicePluginOptions> last_options_;
  std::shared_ptr<Plugin> plugin_;                // the last registered
  std::vector<std::shared_ptr<Plugin>> plugins_;  // every one, for stop()
};

// One container's devices in a FakePodResources answer.
struct FakeContainer {
  std::string name;
  std::string resource_name;
  std::vector<std::string> device_ids;  // empty: the container has no devices
};

struct FakePod {
  std::string namespace_name;
  std::string name;
  std::vector<FakeContainer> containers;
};

class FakePodResources final : public v1::PodResourcesLister::Service {
 public:
  explicit FakePodResources(std::string socket_path);
  ~FakePodResources() override;

  core::Status start();
  void stop();  // the socket file is removed

  void setPods(std::vector<FakePod> pods);
  // List answers only after this long (to test the client's deadline).
  void setListDelay(std::chrono::milliseconds delay);
  [[nodiscard]] int listCalls() const;

  grpc::Status List(grpc::ServerContext* context, const v1::ListPodResourcesRequest* request,
                    v1::ListPodResourcesResponse* response) override;
  grpc::Status GetAllocatableResources(grpc::ServerContext* context,
                                       const v1::AllocatableResourcesRequest* request,
                                       v1::AllocatableResourcesResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetPodResourcesRequest* request,
                   v1::GetPodResourcesResponse* response) override;

 private:
  static void fill(const FakePod& pod, v1::PodResources* out);

  const std::string socket_path_;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  std::vector<FakePod> pods_;
  std::chrono::milliseconds list_delay_{0};
  int list_calls_ = 0;
};

}  // namespace mpshare::node::fakes
