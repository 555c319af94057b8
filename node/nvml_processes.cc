#include "node/nvml_processes.h"

#include <dlfcn.h>

#include <algorithm>
#include <functional>

namespace mpshare::node {
namespace {

// From NVIDIA's nvml.h (NVML API reference), declared here so the build needs
// nothing from NVIDIA.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
using Ull = unsigned long long;  // NOLINT(google-runtime-int): the C ABI's type
constexpr NvmlReturn kSuccess = 0;
constexpr NvmlReturn kNotSupported = 3;
constexpr NvmlReturn kNotFound = 6;
constexpr NvmlReturn kInsufficientSize = 7;
constexpr Ull kValueNotAvailable = ~0ULL;  // NVML_VALUE_NOT_AVAILABLE

struct NvmlMemory {  // nvmlMemory_t
  Ull total;
  Ull free;
  Ull used;
};

struct NvmlProcessInfo {  // nvmlProcessInfo_v2_t, taken by the _v3 process calls
  unsigned pid;
  Ull used_gpu_memory;
  unsigned gpu_instance_id;
  unsigned compute_instance_id;
};

struct NvmlUtilizationSample {  // nvmlProcessUtilizationSample_t
  unsigned pid;
  Ull time_stamp;  // µs
  unsigned sm_util;
  unsigned mem_util;
  unsigned enc_util;
  unsigned dec_util;
};

using ProcessList = NvmlReturn (*)(NvmlDevice, unsigned*, NvmlProcessInfo*);

template <typename Function>
bool bind(void* library, const char* symbol, Function& function) {
  function = reinterpret_cast<Function>(::dlsym(library, symbol));
  return function != nullptr;
}

}  // namespace

struct NvmlProcessSource::Api {
  void* library = nullptr;
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*handle_by_uuid)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
  ProcessList compute = nullptr;
  ProcessList mps = nullptr;  // optional: drivers before R510 lack the _v3 call
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilizationSample*, unsigned*, Ull) = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;

  ~Api() {
    if (library != nullptr) ::dlclose(library);
  }
};

namespace {

core::Error failed(const std::string& library, const std::string& what, NvmlReturn result,
                   const char* (*error_string)(NvmlReturn)) {
  const char* text = error_string != nullptr ? error_string(result) : nullptr;
  return core::Error{
      core::ErrorCode::kUnavailable, library,
      what + " failed: " + (text != nullptr ? text : "error " + std::to_string(result))};
}

// One of the process lists into `infos`, grown until it fits (processes start
// between the calls).
NvmlReturn listProcesses(ProcessList call, NvmlDevice device, std::vector<NvmlProcessInfo>& infos) {
  infos.resize(16);
  NvmlReturn r = kInsufficientSize;
  for (int attempt = 0; attempt < 4 && r == kInsufficientSize; ++attempt) {
    auto count = static_cast<unsigned>(infos.size());
    r = call(device, &count, infos.data());
    if (r == kSuccess) {
      infos.resize(count);
    } else if (r == kInsufficientSize) {
      infos.resize(std::max<size_t>(count + 16, infos.size() * 2));
    }
  }
  if (r != kSuccess) infos.clear();
  return r;
}

}  // namespace

NvmlProcessSource::NvmlProcessSource(std::unique_ptr<Api> api, std::string library)
    : api_(std::move(api)), library_(std::move(library)) {}

NvmlProcessSource::~NvmlProcessSource() { api_->shutdown(); }

core::Result<std::unique_ptr<NvmlProcessSource>> NvmlProcessSource::open(
    const std::string& library) {
  // Loading and the symbols the inventory needs are checked there, with its messages.
  if (auto gpus = readNvmlInventory(library); !gpus) return gpus.error();
  auto api = std::make_unique<Api>();
  api->library = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (api->library == nullptr) {
    return core::Error{core::ErrorCode::kUnavailable, library, "cannot load NVML"};
  }
  void* l = api->library;
  const std::pair<const char*, bool> required[] = {
      {"nvmlInit_v2", bind(l, "nvmlInit_v2", api->init)},
      {"nvmlShutdown", bind(l, "nvmlShutdown", api->shutdown)},
      {"nvmlDeviceGetHandleByUUID", bind(l, "nvmlDeviceGetHandleByUUID", api->handle_by_uuid)},
      {"nvmlDeviceGetMemoryInfo", bind(l, "nvmlDeviceGetMemoryInfo", api->memory)},
      {"nvmlDeviceGetComputeRunningProcesses_v3",
       bind(l, "nvmlDeviceGetComputeRunningProcesses_v3", api->compute)},
      {"nvmlDeviceGetProcessUtilization",
       bind(l, "nvmlDeviceGetProcessUtilization", api->utilization)},
      {"nvmlErrorString", bind(l, "nvmlErrorString", api->error_string)},
  };
  for (const auto& [symbol, found] : required) {
    if (!found) {
      return core::Error{
          core::ErrorCode::kUnavailable, library,
          std::string("has no ") + symbol + ": per-process GPU usage needs driver R510 or newer"};
    }
  }
  bind(l, "nvmlDeviceGetMPSComputeRunningProcesses_v3", api->mps);
  if (const auto r = api->init(); r != kSuccess) {
    return failed(library, "nvmlInit_v2", r, api->error_string);
  }
  return std::unique_ptr<NvmlProcessSource>(new NvmlProcessSource(std::move(api), library));
}

core::Result<std::vector<GpuSample>> NvmlProcessSource::sample(
    const std::vector<core::GpuDevice>& gpus) {
  std::vector<GpuSample> samples;
  for (const auto& gpu : gpus) {
    const std::string at = "(" + gpu.uuid + ")";
    auto error = [&](const std::string& what) {
      return [this, what, at](NvmlReturn r) {
        return failed(library_, what + at, r, api_->error_string);
      };
    };
    NvmlDevice device = nullptr;
    if (const auto r = api_->handle_by_uuid(gpu.uuid.c_str(), &device); r != kSuccess) {
      return error("nvmlDeviceGetHandleByUUID")(r);
    }
    GpuSample sample;
    sample.gpu = gpu;
    NvmlMemory memory{};
    if (const auto r = api_->memory(device, &memory); r != kSuccess) {
      return error("nvmlDeviceGetMemoryInfo")(r);
    }
    sample.memory_used_bytes = memory.used;
    sample.memory_total_bytes = memory.total;

    std::map<unsigned, GpuProcess> by_pid;
    auto add = [&by_pid](const std::vector<NvmlProcessInfo>& infos, bool mps) {
      for (const auto& info : infos) {
        GpuProcess& process = by_pid[info.pid];
        process.pid = info.pid;
        process.mps_client = process.mps_client || mps;
        if (info.used_gpu_memory != kValueNotAvailable && !process.memory_bytes) {
          process.memory_bytes = info.used_gpu_memory;
        }
      }
    };
    std::vector<NvmlProcessInfo> infos;
    if (const auto r = listProcesses(api_->compute, device, infos); r != kSuccess) {
      return error("nvmlDeviceGetComputeRunningProcesses_v3")(r);
    }
    add(infos, false);
    if (api_->mps != nullptr) {
      // NOT_SUPPORTED: no MPS on this GPU, so no client to mark.
      if (const auto r = listProcesses(api_->mps, device, infos);
          r != kSuccess && r != kNotSupported) {
        return error("nvmlDeviceGetMPSComputeRunningProcesses_v3")(r);
      }
      add(infos, true);
    }

    // Per-process SM utilization: samples newer than the last one seen.
    Ull& last_seen = last_seen_[gpu.uuid];
    unsigned count = 0;
    NvmlReturn r = api_->utilization(device, nullptr, &count, last_seen);
    std::vector<NvmlUtilizationSample> utilization;
    if (r == kInsufficientSize || r == kSuccess) {
      utilization.resize(count + 8);
      count = static_cast<unsigned>(utilization.size());
      r = api_->utilization(device, utilization.data(), &count, last_seen);
      utilization.resize(r == kSuccess ? count : 0);
    }
    const bool reported = r == kSuccess || r == kNotFound;  // NOT_FOUND: no new sample, idle
    if (reported) {
      std::map<unsigned, std::pair<Ull, unsigned>> newest;  // pid -> (time, sm %)
      for (const auto& u : utilization) {
        auto& slot = newest[u.pid];
        if (u.time_stamp >= slot.first) slot = {u.time_stamp, u.sm_util};
        last_seen = std::max(last_seen, u.time_stamp);
      }
      // Under MPS the driver may attribute the clients' kernels to
      // nvidia-cuda-mps-server and report nothing for the clients (measured on
      // an H200, driver 580). A client is then "not reported", not idle, until
      // a sample has named a client of this GPU.
      bool& clients_attributed = clients_attributed_[gpu.uuid];
      for (const auto& [pid, process] : by_pid) {
        if (process.mps_client && newest.count(pid) != 0) clients_attributed = true;
      }
      for (auto& [pid, process] : by_pid) {
        const auto it = newest.find(pid);
        if (it != newest.end()) {
          process.sm_percent = static_cast<double>(it->second.second);
        } else if (!process.mps_client || clients_attributed) {
          process.sm_percent = 0.0;  // no new sample: idle since the last one
        }
      }
    } else if (r != kNotSupported) {
      return error("nvmlDeviceGetProcessUtilization")(r);
    }
    for (auto& [pid, process] : by_pid) sample.processes.push_back(process);
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace mpshare::node
