#include "testing/kubelet/fake_kubelet.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <utility>

#include "core/slots.h"

namespace mpshare::node::fakes {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxDeviceIdLength = 63;

std::shared_ptr<grpc::Channel> dial(const std::string& socket_path) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::Server> serve(const std::string& socket_path, grpc::Service* service) {
  ::unlink(socket_path.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

}  // namespace

// --- SocketDir ---------------------------------------------------------------

SocketDir::SocketDir() {
  char name[] = "/tmp/mpn-XXXXXX";
  if (::mkdtemp(name) == nullptr) {
    throw std::runtime_error("mkdtemp failed for /tmp/mpn-XXXXXX");
  }
  path_ = name;
}

SocketDir::~SocketDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

// --- FakeSlotBackend -----------------------------------------------------------

FakeSlotBackend::FakeSlotBackend(int slot_count) {
  for (int slot = 0; slot < slot_count; ++slot) {
    slots_.push_back({core::slotId(slot), true});
  }
}

std::vector<SlotHealth> FakeSlotBackend::slots() const {
  std::lock_guard lock(mutex_);
  return slots_;
}

core::Status FakeSlotBackend::preStart(const std::vector<std::string>& device_ids) {
  std::lock_guard lock(mutex_);
  pre_start_calls_.push_back(device_ids);
  return pre_start_result_;
}

void FakeSlotBackend::setHealthy(int slot, bool healthy) {
  std::lock_guard lock(mutex_);
  slots_.at(static_cast<std::size_t>(slot)).healthy = healthy;
}

void FakeSlotBackend::setPreStartResult(core::Status result) {
  std::lock_guard lock(mutex_);
  pre_start_result_ = std::move(result);
}

std::vector<std::vector<std::string>> FakeSlotBackend::preStartCalls() const {
  std::lock_guard lock(mutex_);
  return pre_start_calls_;
}

// --- FakeKubelet -------------------------------------------------------------

// One registered plugin: the kubelet's client for its endpoint.
struct FakeKubelet::Plugin {
  std::string socket_path;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub;
  grpc::ClientContext watch_context;
  std::thread reader;
  // Guarded by FakeKubelet::mutex_.
  std::vector<std::vector<SlotHealth>> lists;
  bool open = true;
};

FakeKubelet::FakeKubelet(Options options) : options_(std::move(options)) {}

FakeKubelet::~FakeKubelet() { stop(); }

std::string FakeKubelet::socketPath() const { return options_.dir + "/" + options_.socket_name; }

core::Status FakeKubelet::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  server_ = serve(socketPath(), this);
  if (!server_) {
    return core::Error{core::ErrorCode::kUnavailable, socketPath(), "fake kubelet cannot serve"};
  }
  return {};
}

void FakeKubelet::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
    ::unlink(socketPath().c_str());
  }
  closePlugins();
}

void FakeKubelet::closePlugins() {
  std::vector<std::shared_ptr<Plugin>> plugins;
  {
    std::lock_guard lock(mutex_);
    plugins.swap(plugins_);
  }
  for (const auto& plugin : plugins) {
    plugin->watch_context.TryCancel();
    if (plugin->reader.joinable()) {
      plugin->reader.join();
    }
  }
}

grpc::Status FakeKubelet::refuse(grpc::StatusCode code, const std::string& message) {
  std::lock_guard lock(mutex_);
  refusals_.push_back(message);
  changed_.notify_all();
  return {code, message};
}

grpc::Status FakeKubelet::Register(grpc::ServerContext* /*context*/,
                                   const v1beta1::RegisterRequest* request,
                                   v1beta1::Empty* /*response*/) {
  {
    std::unique_lock lock(mutex_);
    ++register_calls_;
    last_request_ = *request;
    changed_.notify_all();
    if (options_.register_delay.count() > 0 &&
        changed_.wait_for(lock, options_.register_delay, [&] { return stopping_; })) {
      return {grpc::StatusCode::UNAVAILABLE, "fake kubelet stopping"};
    }
  }
  // The kubelet's checks, then its synchronous dial-back (server.go, manager.go).
  if (request->version() != "v1beta1") {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  "Requested device plugin version " + request->version() + " is not supported");
  }
  if (request->resource_name() != options_.resource_name) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT, "resource name " + request->resource_name() +
                                                          " is not " + options_.resource_name);
  }
  if (request->endpoint().empty() || request->endpoint().find('/') != std::string::npos) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  "endpoint \"" + request->endpoint() + "\" is not a file name");
  }
  auto plugin = std::make_shared<Plugin>();
  plugin->socket_path = options_.dir + "/" + request->endpoint();
  plugin->channel = dial(plugin->socket_path);
  plugin->stub = v1beta1::DevicePlugin::NewStub(plugin->channel);
  if (!plugin->channel->WaitForConnected(std::chrono::system_clock::now() +
                                         options_.dial_timeout)) {
    return refuse(grpc::StatusCode::UNAVAILABLE,
                  "cannot dial the plugin at " + plugin->socket_path + " within " +
                      std::to_string(options_.dial_timeout.count()) +
                      " ms (a plugin must serve before it registers)");
  }
  grpc::ClientContext options_context;
  options_context.set_deadline(std::chrono::system_clock::now() + options_.dial_timeout);
  v1beta1::DevicePluginOptions plugin_options;
  grpc::Status status =
      plugin->stub->GetDevicePluginOptions(&options_context, v1beta1::Empty(), &plugin_options);
  if (!status.ok()) {
    return refuse(grpc::StatusCode::UNAVAILABLE,
                  "GetDevicePluginOptions failed: " + status.error_message());
  }

  std::shared_ptr<Plugin> previous;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return {grpc::StatusCode::UNAVAILABLE, "fake kubelet stopping"};
    }
    previous = std::exchange(plugin_, plugin);
    plugins_.push_back(plugin);
    last_options_ = plugin_options;
    // The reader starts under the lock so closePlugins() never sees it half made.
    plugin->reader = std::thread([this, plugin] { readListAndWatch(plugin); });
    ++registrations_;
  }
  changed_.notify_all();
  if (previous) {
    previous->watch_context.TryCancel();  // the kubelet drops the old endpoint
  }
  return grpc::Status::OK;
}

void FakeKubelet::readListAndWatch(const std::shared_ptr<Plugin>& plugin) {
  auto reader = plugin->stub->ListAndWatch(&plugin->watch_context, v1beta1::Empty());
  v1beta1::ListAndWatchResponse response;
  while (reader->Read(&response)) {
    std::vector<SlotHealth> list;
    std::vector<std::string> errors;
    for (const v1beta1::Device& device : response.devices()) {
      list.push_back({device.id(), device.health() == "Healthy"});
      if (device.health() != "Healthy" && device.health() != "Unhealthy") {
        errors.push_back(device.id() + ": health \"" + device.health() + "\"");
      }
      if (device.id().size() > kMaxDeviceIdLength) {
        errors.push_back(device.id() + ": longer than 63 characters");
      }
    }
    std::lock_guard lock(mutex_);
    plugin->lists.push_back(std::move(list));
    protocol_errors_.insert(protocol_errors_.end(), errors.begin(), errors.end());
    changed_.notify_all();
  }
  reader->Finish();
  std::lock_guard lock(mutex_);
  plugin->open = false;
  changed_.notify_all();
}

int FakeKubelet::registerCalls() const {
  std::lock_guard lock(mutex_);
  return register_calls_;
}

int FakeKubelet::registrations() const {
  std::lock_guard lock(mutex_);
  return registrations_;
}

bool FakeKubelet::waitForRegistrations(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return registrations_ >= count; });
}

bool FakeKubelet::waitForRegisterCalls(int count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return register_calls_ >= count; });
}

std::vector<std::string> FakeKubelet::refusals() const {
  std::lock_guard lock(mutex_);
  return refusals_;
}

std::optional<v1beta1::RegisterRequest> FakeKubelet::lastRequest() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

std::optional<v1beta1::DevicePluginOptions> FakeKubelet::lastOptions() const {
  std::lock_guard lock(mutex_);
  return last_options_;
}

std::vector<std::vector<SlotHealth>> FakeKubelet::lists() const {
  std::lock_guard lock(mutex_);
  return plugin_ ? plugin_->lists : std::vector<std::vector<SlotHealth>>{};
}

bool FakeKubelet::waitForLists(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [&] { return plugin_ && plugin_->lists.size() >= count; });
}

bool FakeKubelet::waitForListAndWatchClosed(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return !plugin_ || !plugin_->open; });
}

std::vector<std::string> FakeKubelet::protocolErrors() const {
  std::lock_guard lock(mutex_);
  return protocol_errors_;
}

std::shared_ptr<FakeKubelet::Plugin> FakeKubelet::currentPlugin() const {
  std::lock_guard lock(mutex_);
  return plugin_;
}

grpc::Status FakeKubelet::allocate(
    const std::vector<std::vector<std::string>>& container_device_ids,
    v1beta1::AllocateResponse* response) {
  std::shared_ptr<Plugin> plugin = currentPlugin();
  if (!plugin) {
    return {grpc::StatusCode::FAILED_PRECONDITION, "no plugin registered"};
  }
  v1beta1::AllocateRequest request;
  for (const auto& ids : container_device_ids) {
    auto* container = request.add_container_requests();
    for (const auto& id : ids) {
      container->add_devices_ids(id);
    }
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return plugin->stub->Allocate(&context, request, response);
}

grpc::Status FakeKubelet::preStart(const std::vector<std::string>& device_ids) {
  std::shared_ptr<Plugin> plugin = currentPlugin();
  if (!plugin) {
    return {grpc::StatusCode::FAILED_PRECONDITION, "no plugin registered"};
  }
  v1beta1::PreStartContainerRequest request;
  for (const auto& id : device_ids) {
    request.add_devices_ids(id);
  }
  v1beta1::PreStartContainerResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return plugin->stub->PreStartContainer(&context, request, &response);
}

// --- FakePodResources ----------------------------------------------------------

FakePodResources::FakePodResources(std::string socket_path)
    : socket_path_(std::move(socket_path)) {}

FakePodResources::~FakePodResources() { stop(); }

core::Status FakePodResources::start() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  server_ = serve(socket_path_, this);
  if (!server_) {
    return core::Error{core::ErrorCode::kUnavailable, socket_path_,
                       "fake PodResources cannot serve"};
  }
  return {};
}

void FakePodResources::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopped_.notify_all();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
    ::unlink(socket_path_.c_str());
  }
}

void FakePodResources::setPods(std::vector<FakePod> pods) {
  std::lock_guard lock(mutex_);
  pods_ = std::move(pods);
}

void FakePodResources::setListDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  list_delay_ = delay;
}

int FakePodResources::listCalls() const {
  std::lock_guard lock(mutex_);
  return list_calls_;
}

void FakePodResources::fill(const FakePod& pod, v1::PodResources* out) {
  out->set_name(pod.name);
  out->set_namespace_(pod.namespace_name);
  for (const FakeContainer& container : pod.containers) {
    v1::ContainerResources* resources = out->add_containers();
    resources->set_name(container.name);
    if (container.device_ids.empty()) {
      continue;
    }
    v1::ContainerDevices* devices = resources->add_devices();
    devices->set_resource_name(container.resource_name);
    for (const auto& id : container.device_ids) {
      devices->add_device_ids(id);
    }
  }
}

grpc::Status FakePodResources::List(grpc::ServerContext* /*context*/,
                                    const v1::ListPodResourcesRequest* /*request*/,
                                    v1::ListPodResourcesResponse* response) {
  std::unique_lock lock(mutex_);
  ++list_calls_;
  if (list_delay_.count() > 0 && stopped_.wait_for(lock, list_delay_, [&] { return stopping_; })) {
    return {grpc::StatusCode::UNAVAILABLE, "fake PodResources stopping"};
  }
  for (const FakePod& pod : pods_) {
    fill(pod, response->add_pod_resources());
  }
  return grpc::Status::OK;
}

grpc::Status FakePodResources::GetAllocatableResources(
    grpc::ServerContext* /*context*/, const v1::AllocatableResourcesRequest* /*request*/,
    v1::AllocatableResourcesResponse* /*response*/) {
  return grpc::Status::OK;
}

grpc::Status FakePodResources::Get(grpc::ServerContext* /*context*/,
                                   const v1::GetPodResourcesRequest* request,
                                   v1::GetPodResourcesResponse* response) {
  std::lock_guard lock(mutex_);
  for (const FakePod& pod : pods_) {
    if (pod.name == request->pod_name() && pod.namespace_name == request->pod_namespace()) {
      fill(pod, response->mutable_pod_resources());
      return grpc::Status::OK;
    }
  }
  return {grpc::StatusCode::NOT_FOUND,
          "pod " + request->pod_namespace() + "/" + request->pod_name() + " not found"};
}

}  // namespace mpshare::node::fakes
