// A stand-in for libnvidia-ml.so.1, built as a shared library and loaded by
// path, so readNvmlInventory's dlopen/dlsym path runs for real in tests.
//
// $MPSHARE_FAKE_NVML names a file read at every nvmlInit_v2:
//   init 9                                  nvmlInit_v2 returns 9 (Driver Not Loaded)
//   gpu GPU-aaaa 85520809984 off NVIDIA H100 80GB HBM3
//                                           uuid, total bytes, MIG (on|off|unsupported), name
//   fail uuid 1 15                          nvmlDeviceGetUUID of device 1 returns 15
// fake_nvml_sessions() tells a test how many inits lack their shutdown.

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

struct State {
  int init_result = 0;
  std::vector<FakeGpu> gpus;
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
  memory->free = memory->total;
  memory->used = 0;
  return 0;
}

int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  if (const int r = failure("mig", device)) return r;
  const std::string& mig = state().gpus[static_cast<size_t>(indexOf(device))].mig;
  if (mig == "unsupported") return 3;  // NVML_ERROR_NOT_SUPPORTED
  *current = *pending = mig == "on" ? 1 : 0;
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
