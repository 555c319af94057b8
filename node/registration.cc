#include "node/registration.h"

#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "platform/logging.h"

namespace mpshare::node {
namespace {

constexpr const char* kApiVersion = "v1beta1";

core::Error unavailable(std::string field, std::string message) {
  return core::Error{core::ErrorCode::kUnavailable, std::move(field), std::move(message)};
}

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

// --- registerWithKubelet ---------------------------------------------------

void RegistrationCanceller::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (context_ != nullptr) {
    context_->TryCancel();
  }
}

bool RegistrationCanceller::attach(grpc::ClientContext* context) {
  std::lock_guard lock(mutex_);
  if (cancelled_) {
    return false;
  }
  context_ = context;
  return true;
}

void RegistrationCanceller::detach() {
  std::lock_guard lock(mutex_);
  context_ = nullptr;
}

core::Status registerWithKubelet(const RegistrationRequest& request,
                                 RegistrationCanceller* canceller) {
  // A channel of its own: gRPC's shared subchannel pool would otherwise keep
  // the back-off of an earlier failed dial to this path.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel("unix:" + request.kubelet_socket,
                                           grpc::InsecureChannelCredentials(), args);
  auto stub = v1beta1::Registration::NewStub(channel);

  v1beta1::RegisterRequest message;
  message.set_version(kApiVersion);
  message.set_endpoint(request.endpoint);
  message.set_resource_name(request.resource_name);
  message.mutable_options()->set_pre_start_required(request.pre_start_required);
  message.mutable_options()->set_get_preferred_allocation_available(
      request.get_preferred_allocation_available);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + request.timeout);
  if (canceller != nullptr && !canceller->attach(&context)) {
    return unavailable(request.kubelet_socket, "Register not sent: the plugin is stopping");
  }
  v1beta1::Empty reply;
  const grpc::Status status = stub->Register(&context, message, &reply);
  if (canceller != nullptr) {
    canceller->detach();
  }
  if (!status.ok()) {
    return unavailable(request.kubelet_socket,
                       "Register failed (" + describeGrpcStatus(status) + ")");
  }
  return {};
}

// --- PluginRunner ----------------------------------------------------------

PluginRunner::PluginRunner(DevicePluginServer& server, Options options)
    : server_(server), options_(std::move(options)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

PluginRunner::~PluginRunner() {
  if (stop_fd_ >= 0) {
    ::close(stop_fd_);
  }
}

void PluginRunner::stop() {
  stop_requested_ = true;
  canceller_.cancel();
  const std::uint64_t one = 1;
  // The counter only grows; a failed write (overflow) still leaves it readable.
  [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof one);
}

std::string PluginRunner::kubeletSocketPath() const {
  return server_.options().plugin_dir + "/" + options_.kubelet_socket_name;
}

bool PluginRunner::statSocket(const std::string& path, FileId& id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return false;
  }
  id = FileId{st.st_dev, st.st_ino, st.st_ctim.tv_sec * 1'000'000'000L + st.st_ctim.tv_nsec};
  return true;
}

bool PluginRunner::restartServer() {
  server_.stop();
  core::Status started = server_.start();
  if (!started) {
    platform::logError("device plugin cannot serve", {{"error", started.error().describe()}});
    return false;
  }
  return true;
}

bool PluginRunner::tryRegister() {
  // The identity of the kubelet we talk to, taken before the call: if it
  // restarts during Register, the socket we see next differs and we register
  // again rather than miss it.
  FileId kubelet{};
  const std::string kubelet_socket = kubeletSocketPath();
  if (!statSocket(kubelet_socket, kubelet)) {
    platform::logInfo("waiting for the kubelet", {{"socket", kubelet_socket}});
    return false;
  }
  const DevicePluginServer::Options& server = server_.options();
  RegistrationRequest request;
  request.kubelet_socket = kubelet_socket;
  request.endpoint = server.socket_name;
  request.resource_name = server.resource_name;
  request.timeout = options_.register_timeout;
  core::Status status = registerWithKubelet(request, &canceller_);
  if (!status) {
    if (!stop_requested_) {  // a Register cut short by stop() is no failure
      platform::logWarn("registration with the kubelet failed",
                        {{"error", status.error().describe()}});
    }
    return false;
  }
  registered_kubelet_ = kubelet;
  has_registered_kubelet_ = true;
  const int count = ++registrations_;
  platform::logInfo("registered with the kubelet", {{"socket", kubelet_socket},
                                                    {"resource", server.resource_name},
                                                    {"endpoint", server.socket_name},
                                                    {"registrations", std::to_string(count)}});
  if (options_.on_registered) {
    options_.on_registered(count);
  }
  return true;
}

bool PluginRunner::restartNeeded(bool& kubelet_appeared) {
  // Drain the queue; what matters is the state of the two sockets now, not the
  // events (our own restarts delete and create our socket too).
  alignas(inotify_event) char buffer[4096];
  bool relevant = false;
  while (true) {
    const ssize_t length = ::read(inotify_fd_, buffer, sizeof buffer);
    if (length <= 0) {
      break;
    }
    for (ssize_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      const std::string_view name =
          event->len > 0 ? std::string_view(event->name) : std::string_view();
      if ((event->mask & IN_Q_OVERFLOW) != 0 || name == options_.kubelet_socket_name ||
          name == server_.options().socket_name) {
        relevant = true;
      }
      if ((event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        platform::logError("device plugin directory removed; waiting for it to come back",
                           {{"dir", server_.options().plugin_dir}});
      }
    }
  }
  if (!relevant) {
    return false;
  }
  FileId ours{};
  if (server_.serving() && !statSocket(server_.socketPath(), ours)) {
    platform::logWarn("device plugin socket removed (kubelet restart?); serving again",
                      {{"socket", server_.socketPath()}});
    return true;
  }
  FileId kubelet{};
  if (statSocket(kubeletSocketPath(), kubelet)) {
    if (has_registered_kubelet_ && !(kubelet == registered_kubelet_)) {
      platform::logWarn("kubelet restarted; serving and registering again",
                        {{"socket", kubeletSocketPath()}});
      return true;
    }
    kubelet_appeared = !has_registered_kubelet_;
  }
  return false;
}

core::Status PluginRunner::run() {
  const std::string& dir = server_.options().plugin_dir;
  if (stop_fd_ < 0) {
    return unavailable(dir, errnoText("cannot create the stop eventfd"));
  }
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return unavailable(dir, errnoText("cannot watch the device plugin directory (inotify_init1)"));
  }
  // Watch before serving, so a kubelet restart in between is not missed.
  if (::inotify_add_watch(inotify_fd_, dir.c_str(),
                          IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF |
                              IN_MOVE_SELF) < 0) {
    const core::Error error =
        unavailable(dir, errnoText("cannot watch the device plugin directory"));
    ::close(std::exchange(inotify_fd_, -1));
    return error;
  }

  using Clock = std::chrono::steady_clock;
  bool serving = false;
  bool registered = false;
  std::chrono::milliseconds backoff = options_.retry_initial;
  Clock::time_point next_attempt = Clock::now();
  auto fail = [&] {
    next_attempt = Clock::now() + backoff;
    backoff = std::min(backoff * 2, options_.retry_max);
  };

  while (true) {
    if (Clock::now() >= next_attempt) {
      if (!serving) {
        serving = restartServer();
        if (!serving) {
          fail();
        }
      }
      if (serving && !registered) {
        registered = tryRegister();
        if (registered) {
          backoff = options_.retry_initial;
        } else {
          fail();
        }
      }
    }
    int timeout_ms = -1;
    if (!serving || !registered) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt - Clock::now());
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
    }
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
      platform::logError("device plugin runner poll failed", {{"error", std::strerror(errno)}});
      break;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      break;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      bool kubelet_appeared = false;
      if (restartNeeded(kubelet_appeared)) {
        ++restarts_;
        serving = false;
        registered = false;
        has_registered_kubelet_ = false;
        backoff = options_.retry_initial;
        next_attempt = Clock::now();
      } else if (kubelet_appeared && serving && !registered) {
        // No need to wait out the back-off. The socket appears at bind(),
        // a moment before the kubelet listens: start the back-off afresh so
        // a refused first try is retried soon, not after retry_max.
        next_attempt = Clock::now();
        backoff = options_.retry_initial;
      }
    }
  }
  server_.stop();
  ::close(std::exchange(inotify_fd_, -1));
  return {};
}

}  // namespace mpshare::node
