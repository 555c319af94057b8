#pragma once

// Registering the device plugin with the kubelet, and keeping it registered
// across kubelet restarts (docs: gpu-pinning.md section 1.2). The kubelet
// dials the plugin back and calls GetDevicePluginOptions *inside* Register, so
// the plugin must be serving before it registers; PluginRunner keeps that
// order every time it (re)starts.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "core/result.h"
#include "node/device_plugin_server.h"

namespace grpc {
class ClientContext;
}

namespace mpshare::node {

// The fields of v1beta1.RegisterRequest, plus where and how long to call.
struct RegistrationRequest {
  std::string kubelet_socket;  // "/var/lib/kubelet/device-plugins/kubelet.sock"
  std::string endpoint;        // our socket's file name in the same directory: "mpshare.sock"
  std::string resource_name;   // "nvidia.com/gpu.shared"
  bool pre_start_required = true;
  bool get_preferred_allocation_available = false;
  // Register blocks while the kubelet dials us back (its own dial timeout is 10 s).
  std::chrono::milliseconds timeout{15000};
};

// Lets another thread abandon a Register in flight (PluginRunner::stop).
class RegistrationCanceller {
 public:
  // Cancels the call in flight, if any, and every later one.
  void cancel();

 private:
  friend core::Status registerWithKubelet(const RegistrationRequest&, RegistrationCanceller*);
  bool attach(grpc::ClientContext* context);  // false when already cancelled
  void detach();

  std::mutex mutex_;
  grpc::ClientContext* context_ = nullptr;
  bool cancelled_ = false;
};

// Calls v1beta1.Registration/Register on the kubelet's socket with version
// "v1beta1". An error (kUnavailable) names the socket and the kubelet's answer,
// e.g. "/var/lib/kubelet/device-plugins/kubelet.sock: Register failed
// (UNAVAILABLE: failed to connect to all addresses)".
core::Status registerWithKubelet(const RegistrationRequest& request,
                                 RegistrationCanceller* canceller = nullptr);

// Owns the plugin's lifecycle: serve, then register (retrying with capped
// back-off while the kubelet is absent or refuses), then watch the plugin
// directory. When kubelet.sock is (re)created (a kubelet restart) or our own
// socket disappears (the kubelet cleans the directory on start), it stops the
// server, serves again on a fresh socket and registers again.
class PluginRunner {
 public:
  struct Options {
    std::string kubelet_socket_name = "kubelet.sock";  // in the server's plugin_dir
    std::chrono::milliseconds retry_initial{500};
    std::chrono::milliseconds retry_max{30000};
    std::chrono::milliseconds register_timeout{15000};
    // Called on the runner's thread after each successful Register (count from 1).
    std::function<void(int registrations)> on_registered;
  };

  // `server` must outlive the runner and is started and stopped only by it.
  PluginRunner(DevicePluginServer& server, Options options);
  ~PluginRunner();

  PluginRunner(const PluginRunner&) = delete;
  PluginRunner& operator=(const PluginRunner&) = delete;

  // Serves and keeps registered until stop(); the server is stopped on return.
  // An error only when the directory cannot be watched (inotify), naming it.
  core::Status run();

  // Makes run() return promptly, from any thread; also before run() starts.
  void stop();

  [[nodiscard]] int registrations() const { return registrations_.load(); }
  // Kubelet restarts or lost sockets detected (each one re-serves).
  [[nodiscard]] int restarts() const { return restarts_.load(); }

 private:
  struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
    long ctime_ns = 0;  // an inode number can be reused by the next socket
    bool operator==(const FileId&) const = default;
  };

  bool restartServer();
  bool tryRegister();
  // Reads pending inotify events; true when the server must be restarted.
  bool restartNeeded(bool& kubelet_appeared);
  [[nodiscard]] std::string kubeletSocketPath() const;
  static bool statSocket(const std::string& path, FileId& id);

  DevicePluginServer& server_;
  const Options options_;
  RegistrationCanceller canceller_;

  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: stop() writes, run()'s poll wakes

  FileId registered_kubelet_{};  // the kubelet.sock we last registered with
  bool has_registered_kubelet_ = false;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int> registrations_{0};
  std::atomic<int> restarts_{0};
};

}  // namespace mpshare::node
