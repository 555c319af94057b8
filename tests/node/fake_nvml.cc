// A stand-in for libnvidia-ml.so.1, built as a shared library and loaded by
// path, so readNvmlInventory's dlopen/dlsym path runs for real in tests.
//
// $MPSHARE_FAKE_NVML names a file read at every nvmlInit_v2:
//   init 9                                  nvmlInit_v2 returns 9 (Driver Not Loaded)
//   gpu GPU-aaaa 85520809984 off NVIDIA H100 80GB HBM3
//                                           uuid, total bytes, MIG (on|off|unsupported), name
//   fail uuid 1 15                          nvmlDeviceGetUUID of device 1 returns 15
//   proc 0 4242 1610612736 mps 20           a process on device 0: pid, bytes (or - for
//                                           NVML_VALUE_NOT_AVAILABLE), mps|compute (mps: in
//                                           both process lists), SM % (or - for no sample)
//   fail util 0 3                           nvmlDeviceGetProcessUtilization returns 3;
//                                           also: compute, mpslist (the process lists)
// fake_nvml_sessions() tells a test how many inits lack their shutdown.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
typedef struct nvmlDevice_st* nvmlDevice_t;  // NOLINT(modernize-use-using): C declarations
typedef struct {                             // NOLINT(modernize-use-using)
  unsigned long long total;                  // NOLINT(google-runtime-int)
  unsigned long long free;                   // NOLINT(google-runtime-int)
  unsigned long long used;                   // NOLINT(google-runtime-int)
} nvmlMemory_t;

int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetCount_v2(unsigned int* count);
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device);
int nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length);
int nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length);
int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory);
int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending);
typedef struct {  // NOLINT(modernize-use-using): nvmlProcessInfo_v2_t
  unsigned int pid;
  unsigned long long usedGpuMemory;  // NOLINT(google-runtime-int)
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {  // NOLINT(modernize-use-using): nvmlProcessUtilizationSample_t
  unsigned int pid;
  unsigned long long timeStamp;  // NOLINT(google-runtime-int)
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
} nvmlProcessUtilizationSample_t;
int nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device);
int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                            nvmlProcessInfo_t* infos);
int nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                               nvmlProcessInfo_t* infos);
int nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t* samples,
                                    unsigned int* count,
                                    unsigned long long lastSeen);  // NOLINT(google-runtime-int)
const char* nvmlErrorString(int result);
int fake_nvml_sessions(void);
}

namespace {

struct FakeGpu {
  std::string uuid;
  std::string name;
  unsigned long long bytes = 0;  // NOLINT(google-runtime-int)
  std::string mig;               // on, off, unsupported
};

struct FakeProcess {
  unsigned gpu = 0;
  unsigned pid = 0;
  unsigned long long bytes = 0;  // NOLINT(google-runtime-int)
  bool mps = false;
  int sm = -1;  // -1: no utilization sample
};

struct State {
  int init_result = 0;
  std::vector<FakeGpu> gpus;
  std::vector<FakeProcess> processes;
  std::map<std::pair<std::string, unsigned>, int> failures;  // (call, device) -> result
  int sessions = 0;
};

State& state() {
  static State instance;
  return instance;
}

void load() {
  State& s = state();
  s.init_result = 0;
  s.gpus.clear();
  s.processes.clear();
  s.failures.clear();
  const char* path = std::getenv("MPSHARE_FAKE_NVML");
  std::ifstream in(path != nullptr ? path : "");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "init") {
      words >> s.init_result;
    } else if (kind == "gpu") {
      FakeGpu gpu;
      words >> gpu.uuid >> gpu.bytes >> gpu.mig;
      std::getline(words >> std::ws, gpu.name);
      s.gpus.push_back(gpu);
    } else if (kind == "proc") {
      FakeProcess process;
      std::string bytes;
      std::string list;
      std::string sm;
      words >> process.gpu >> process.pid >> bytes >> list >> sm;
      process.bytes = bytes == "-" ? ~0ULL : std::stoull(bytes);
      process.mps = list == "mps";
      process.sm = sm == "-" ? -1 : std::stoi(sm);
      s.processes.push_back(process);
    } else if (kind == "fail") {
      std::string call;
      unsigned device = 0;
      int result = 0;
      words >> call >> device >> result;
      s.failures[{call, device}] = result;
    }
  }
}

// Handles are 1 + the index, so a null handle is never valid.
int indexOf(nvmlDevice_t device) {
  return static_cast<int>(reinterpret_cast<intptr_t>(device)) - 1;
}

int failure(const char* call, nvmlDevice_t device) {
  const auto it = state().failures.find({call, static_cast<unsigned>(indexOf(device))});
  return it == state().failures.end() ? 0 : it->second;
}

int copy(const std::string& text, char* out, unsigned length) {
  if (text.size() + 1 > length) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::memcpy(out, text.c_str(), text.size() + 1);
  return 0;
}

}  // namespace

extern "C" {

int nvmlInit_v2(void) {
  load();
  if (state().init_result != 0) return state().init_result;
  ++state().sessions;
  return 0;
}

int nvmlShutdown(void) {
  --state().sessions;
  return 0;
}

int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = static_cast<unsigned>(state().gpus.size());
  return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (index >= state().gpus.size()) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = reinterpret_cast<nvmlDevice_t>(static_cast<intptr_t>(index) + 1);
  return 0;
}

int nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  if (const int r = failure("uuid", device)) return r;
  return copy(state().gpus[static_cast<size_t>(indexOf(device))].uuid, uuid, length);
}

int nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  if (const int r = failure("name", device)) return r;
  return copy(state().gpus[static_cast<size_t>(indexOf(device))].name, name, length);
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (const int r = failure("memory", device)) return r;
  memory->total = state().gpus[static_cast<size_t>(indexOf(device))].bytes;
  memory->used = 0;
  for (const auto& process : state().processes) {
    if (process.gpu == static_cast<unsigned>(indexOf(device)) && process.bytes != ~0ULL) {
      memory->used += process.bytes;
    }
  }
  memory->free = memory->total - memory->used;
  return 0;
}

int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  if (const int r = failure("mig", device)) return r;
  const std::string& mig = state().gpus[static_cast<size_t>(indexOf(device))].mig;
  if (mig == "unsupported") return 3;  // NVML_ERROR_NOT_SUPPORTED
  *current = *pending = mig == "on" ? 1 : 0;
  return 0;
}

int nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  for (size_t i = 0; i < state().gpus.size(); ++i) {
    if (state().gpus[i].uuid == uuid) {
      *device = reinterpret_cast<nvmlDevice_t>(static_cast<intptr_t>(i) + 1);
      return 0;
    }
  }
  return 6;  // NVML_ERROR_NOT_FOUND
}

}  // extern "C"

namespace {

// Both process lists: the MPS one holds only clients.
int listProcesses(nvmlDevice_t device, unsigned int* count, nvmlProcessInfo_t* infos,
                  bool mps_only) {
  std::vector<nvmlProcessInfo_t> found;
  for (const auto& p : state().processes) {
    if (p.gpu == static_cast<unsigned>(indexOf(device)) && (p.mps || !mps_only)) {
      found.push_back({p.pid, p.bytes, 0xFFFFFFFF, 0xFFFFFFFF});
    }
  }
  const bool fits = found.size() <= *count;
  *count = static_cast<unsigned>(found.size());
  if (!fits) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::copy(found.begin(), found.end(), infos);
  return 0;
}

}  // namespace

extern "C" {

int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                            nvmlProcessInfo_t* infos) {
  if (const int r = failure("compute", device)) return r;
  return listProcesses(device, count, infos, false);
}

int nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                               nvmlProcessInfo_t* infos) {
  if (const int r = failure("mpslist", device)) return r;
  return listProcesses(device, count, infos, true);
}

int nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t* samples,
                                    unsigned int* count,
                                    unsigned long long lastSeen) {  // NOLINT(google-runtime-int)
  if (const int r = failure("util", device)) return r;
  std::vector<nvmlProcessUtilizationSample_t> found;
  for (const auto& p : state().processes) {
    // One sample per process at time 1000 + pid µs; none newer than lastSeen afterwards.
    const unsigned long long at = 1000 + p.pid;  // NOLINT(google-runtime-int)
    if (p.gpu == static_cast<unsigned>(indexOf(device)) && p.sm >= 0 && at > lastSeen) {
      found.push_back({p.pid, at, static_cast<unsigned>(p.sm), 0, 0, 0});
    }
  }
  if (found.empty()) return 6;  // NVML_ERROR_NOT_FOUND: no sample since lastSeen
  const bool fits = samples != nullptr && found.size() <= *count;
  *count = static_cast<unsigned>(found.size());
  if (!fits) return 7;
  std::copy(found.begin(), found.end(), samples);
  return 0;
}

const char* nvmlErrorString(int result) {
  switch (result) {
    case 0:
      return "Success";
    case 3:
      return "Not Supported";
    case 9:
      return "Driver Not Loaded";
    case 15:
      return "GPU is lost";
    default:
      return "Unknown Error";
  }
}

int fake_nvml_sessions(void) { return state().sessions; }

}  // extern "C"
