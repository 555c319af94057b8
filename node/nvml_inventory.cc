#include "node/nvml_inventory.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace mpshare::node {
namespace {

// The parts of NVIDIA's nvml.h that are used, declared here so the build needs
// nothing from NVIDIA. Signatures as published in nvml.h (NVML API reference).
using NvmlReturn = int;  // nvmlReturn_t: an enum, int-sized in the C ABI
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr NvmlReturn kNvmlErrorNotSupported = 3;
constexpr unsigned kNvmlDeviceMigEnable = 1;
// NVML_DEVICE_UUID_V2_BUFFER_SIZE and NVML_DEVICE_NAME_V2_BUFFER_SIZE are both 96.
constexpr unsigned kNvmlBufferSize = 96;

struct NvmlMemory {          // nvmlMemory_t (v1), in bytes
  unsigned long long total;  // NOLINT(google-runtime-int): the C ABI's type
  unsigned long long free;   // NOLINT(google-runtime-int)
  unsigned long long used;   // NOLINT(google-runtime-int)
};

struct Nvml {
  NvmlReturn (*init)();
  NvmlReturn (*shutdown)();
  NvmlReturn (*get_count)(unsigned* count);
  NvmlReturn (*get_handle)(unsigned index, NvmlDevice* device);
  NvmlReturn (*get_uuid)(NvmlDevice device, char* uuid, unsigned length);
  NvmlReturn (*get_name)(NvmlDevice device, char* name, unsigned length);
  NvmlReturn (*get_memory)(NvmlDevice device, NvmlMemory* memory);
  NvmlReturn (*get_mig_mode)(NvmlDevice device, unsigned* current, unsigned* pending);
  const char* (*error_string)(NvmlReturn result);
};

struct LibraryCloser {
  void operator()(void* handle) const { ::dlclose(handle); }
};
using Library = std::unique_ptr<void, LibraryCloser>;

template <typename Function>
bool bind(void* library, const char* symbol, Function& function) {
  function = reinterpret_cast<Function>(::dlsym(library, symbol));
  return function != nullptr;
}

core::Error nvmlError(const std::string& library, std::string message) {
  return core::Error{core::ErrorCode::kUnavailable, library, std::move(message)};
}

class Session {
 public:
  Session(const Nvml& nvml, std::string library) : nvml_(nvml), library_(std::move(library)) {}

  // `what` failed with `result`: "<library>: nvmlDeviceGetUUID(1) failed: Unknown Error".
  [[nodiscard]] core::Error failed(const std::string& what, NvmlReturn result) const {
    const char* text = nvml_.error_string(result);
    return nvmlError(library_, what + " failed: " +
                                   (text != nullptr ? text : "error " + std::to_string(result)));
  }

  core::Result<core::GpuDevice> device(unsigned index) const {
    const std::string at = "(" + std::to_string(index) + ")";
    NvmlDevice handle = nullptr;
    if (const auto r = nvml_.get_handle(index, &handle); r != kNvmlSuccess) {
      return failed("nvmlDeviceGetHandleByIndex_v2" + at, r);
    }
    core::GpuDevice gpu;
    gpu.index = static_cast<int>(index);
    char text[kNvmlBufferSize] = {};
    if (const auto r = nvml_.get_uuid(handle, text, kNvmlBufferSize); r != kNvmlSuccess) {
      return failed("nvmlDeviceGetUUID" + at, r);
    }
    gpu.uuid = std::string(text, strnlen(text, kNvmlBufferSize));
    std::fill(std::begin(text), std::end(text), '\0');
    if (const auto r = nvml_.get_name(handle, text, kNvmlBufferSize); r != kNvmlSuccess) {
      return failed("nvmlDeviceGetName" + at, r);
    }
    gpu.product = productName(std::string_view(text, strnlen(text, kNvmlBufferSize)));
    NvmlMemory memory{};
    if (const auto r = nvml_.get_memory(handle, &memory); r != kNvmlSuccess) {
      return failed("nvmlDeviceGetMemoryInfo" + at, r);
    }
    gpu.memory_mib = static_cast<int64_t>(memory.total / (1024ULL * 1024ULL));
    unsigned current = 0;
    unsigned pending = 0;
    // GPUs without MIG support answer NOT_SUPPORTED: MIG is off on them.
    if (const auto r = nvml_.get_mig_mode(handle, &current, &pending);
        r != kNvmlSuccess && r != kNvmlErrorNotSupported) {
      return failed("nvmlDeviceGetMigMode" + at, r);
    } else {
      gpu.mig_enabled = r == kNvmlSuccess && current == kNvmlDeviceMigEnable;
    }
    return gpu;
  }

 private:
  const Nvml& nvml_;
  std::string library_;
};

}  // namespace

std::string productName(std::string_view nvml_name) {
  std::string name(nvml_name);
  std::replace(name.begin(), name.end(), ' ', '-');
  return name;
}

core::Result<std::vector<core::GpuDevice>> readNvmlInventory(const std::string& library) {
  // RTLD_LOCAL: NVML's symbols stay out of the global namespace, so a second
  // library (a test's fake) never resolves against this one.
  Library handle(::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!handle) {
    const char* why = ::dlerror();
    return nvmlError(library, std::string("cannot load NVML (") + (why ? why : "unknown error") +
                                  "): install the NVIDIA driver on the node, or run mpshare-node "
                                  "under the NVIDIA container runtime, which mounts the driver's "
                                  "libraries into the container");
  }
  Nvml nvml{};
  const std::pair<const char*, bool> symbols[] = {
      {"nvmlInit_v2", bind(handle.get(), "nvmlInit_v2", nvml.init)},
      {"nvmlShutdown", bind(handle.get(), "nvmlShutdown", nvml.shutdown)},
      {"nvmlDeviceGetCount_v2", bind(handle.get(), "nvmlDeviceGetCount_v2", nvml.get_count)},
      {"nvmlDeviceGetHandleByIndex_v2",
       bind(handle.get(), "nvmlDeviceGetHandleByIndex_v2", nvml.get_handle)},
      {"nvmlDeviceGetUUID", bind(handle.get(), "nvmlDeviceGetUUID", nvml.get_uuid)},
      {"nvmlDeviceGetName", bind(handle.get(), "nvmlDeviceGetName", nvml.get_name)},
      {"nvmlDeviceGetMemoryInfo", bind(handle.get(), "nvmlDeviceGetMemoryInfo", nvml.get_memory)},
      {"nvmlDeviceGetMigMode", bind(handle.get(), "nvmlDeviceGetMigMode", nvml.get_mig_mode)},
      {"nvmlErrorString", bind(handle.get(), "nvmlErrorString", nvml.error_string)},
  };
  for (const auto& [symbol, found] : symbols) {
    if (!found) {
      return nvmlError(library, std::string("has no ") + symbol +
                                    ": not NVML, or a driver older than mpshare supports "
                                    "(R450 or newer is needed)");
    }
  }
  const Session session(nvml, library);
  if (const auto r = nvml.init(); r != kNvmlSuccess) {
    return session.failed("nvmlInit_v2", r);
  }
  // NVML counts its users; every successful init is paired with a shutdown.
  const std::unique_ptr<const Nvml, void (*)(const Nvml*)> shutdown(
      &nvml, [](const Nvml* n) { n->shutdown(); });
  unsigned count = 0;
  if (const auto r = nvml.get_count(&count); r != kNvmlSuccess) {
    return session.failed("nvmlDeviceGetCount_v2", r);
  }
  std::vector<core::GpuDevice> gpus;
  for (unsigned index = 0; index < count; ++index) {
    auto gpu = session.device(index);
    if (!gpu) {
      return gpu.error();
    }
    gpus.push_back(std::move(*gpu));
  }
  return gpus;
}

}  // namespace mpshare::node
