#include "node/gpu_processes_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "platform/yaml_json.h"

namespace mpshare::node {
namespace {

using nlohmann::json;
constexpr uint64_t kMiB = 1024ULL * 1024ULL;

std::string shown(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[nodiscard]] core::Error at(const std::string& path, const std::string& what) const {
    return core::invalidArgument(source_, path.empty() ? what : path + ": " + what);
  }

  // Fails on a key outside `allowed` ("a, b, c").
  [[nodiscard]] core::Status keys(const json& object, const std::string& path,
                                  const std::set<std::string>& allowed) const {
    if (!object.is_object()) return at(path, "expected an object, got " + shown(object));
    for (const auto& item : object.items()) {
      if (!allowed.contains(item.key())) {
        std::string list;
        for (const auto& key : allowed) list += (list.empty() ? "" : ", ") + key;
        return at(path + "." + item.key(), "unknown key; allowed: " + list);
      }
    }
    return {};
  }

  // A whole number >= min at object[key]; nullopt when absent and optional.
  [[nodiscard]] core::Result<std::optional<int64_t>> number(const json& object,
                                                            const std::string& path,
                                                            const std::string& key, int64_t min,
                                                            bool required) const {
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) return at(path + "." + key, "is required");
      return std::optional<int64_t>();
    }
    if (!it->is_number_integer() || it->get<int64_t>() < min) {
      return at(path + "." + key,
                "must be a whole number >= " + std::to_string(min) + ", got " + shown(*it));
    }
    return std::optional<int64_t>(it->get<int64_t>());
  }

 private:
  std::string source_;
};

core::Result<GpuProcess> parseProcess(const json& entry, const std::string& path,
                                      const Reader& reader) {
  if (auto ok = reader.keys(entry, path, {"pid", "memoryMiB", "smPercent", "mpsClient"}); !ok)
    return ok.error();
  GpuProcess process;
  auto pid = reader.number(entry, path, "pid", 1, true);
  if (!pid) return pid.error();
  if (**pid > 4194304) return reader.at(path + ".pid", "must be at most 4194304 (Linux's pid_max)");
  process.pid = static_cast<uint32_t>(**pid);
  auto memory = reader.number(entry, path, "memoryMiB", 0, false);
  if (!memory) return memory.error();
  if (*memory) process.memory_bytes = static_cast<uint64_t>(**memory) * kMiB;
  // Whole percent, as NVML reports smUtil.
  auto sm = reader.number(entry, path, "smPercent", 0, false);
  if (!sm) return sm.error();
  if (*sm && **sm > 100) {
    return reader.at(path + ".smPercent",
                     "must be a whole number 0-100, got " + std::to_string(**sm));
  }
  if (*sm) process.sm_percent = static_cast<double>(**sm);
  process.mps_client = true;
  if (const auto mps = entry.find("mpsClient"); mps != entry.end()) {
    if (!mps->is_boolean()) {
      return reader.at(path + ".mpsClient", "must be true or false, got " + shown(*mps));
    }
    process.mps_client = mps->get<bool>();
  }
  return process;
}

}  // namespace

core::Result<std::vector<GpuSample>> parseGpuProcesses(std::string_view text,
                                                       std::string_view source,
                                                       const std::vector<core::GpuDevice>& gpus) {
  const Reader reader(source);
  auto document = platform::yamlToJson(text, platform::YamlScalars::kTyped);
  if (!document) return reader.at("", document.error().message);
  if (auto ok = reader.keys(*document, "", {"gpus"}); !ok) return ok.error();
  std::vector<GpuSample> samples;
  std::string known;
  for (const auto& gpu : gpus) {
    GpuSample sample;
    sample.gpu = gpu;
    sample.memory_total_bytes = static_cast<uint64_t>(gpu.memory_mib) * kMiB;
    samples.push_back(sample);
    known += (known.empty() ? "" : ", ") + std::to_string(gpu.index);
  }
  const json list = document->value("gpus", json::array());
  if (!list.is_array()) return reader.at("gpus", "must be a list, got " + shown(list));
  std::set<int64_t> listed;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "gpus[" + std::to_string(i) + "]";
    const json& entry = list[i];
    if (auto ok = reader.keys(entry, path, {"index", "memoryUsedMiB", "processes"}); !ok)
      return ok.error();
    auto index = reader.number(entry, path, "index", 0, true);
    if (!index) return index.error();
    const auto sample = std::find_if(samples.begin(), samples.end(),
                                     [&](const GpuSample& s) { return s.gpu.index == **index; });
    if (sample == samples.end()) {
      return reader.at(path + ".index",
                       std::to_string(**index) + " is not a GPU of this node (" + known + ")");
    }
    if (!listed.insert(**index).second) {
      return reader.at(path + ".index", std::to_string(**index) + " is listed twice");
    }
    const json processes = entry.value("processes", json::array());
    if (!processes.is_array()) {
      return reader.at(path + ".processes", "must be a list, got " + shown(processes));
    }
    uint64_t sum = 0;
    std::set<uint32_t> pids;
    for (size_t p = 0; p < processes.size(); ++p) {
      const std::string at = path + ".processes[" + std::to_string(p) + "]";
      auto process = parseProcess(processes[p], at, reader);
      if (!process) return process.error();
      if (!pids.insert(process->pid).second) {
        return reader.at(at + ".pid", std::to_string(process->pid) + " is listed twice");
      }
      sum += process->memory_bytes.value_or(0);
      sample->processes.push_back(*process);
    }
    std::sort(sample->processes.begin(), sample->processes.end(),
              [](const GpuProcess& a, const GpuProcess& b) { return a.pid < b.pid; });
    auto used = reader.number(entry, path, "memoryUsedMiB", 0, false);
    if (!used) return used.error();
    sample->memory_used_bytes = *used ? static_cast<uint64_t>(**used) * kMiB : sum;
  }
  return samples;
}

core::Result<std::vector<GpuSample>> GpuProcessFile::sample(
    const std::vector<core::GpuDevice>& gpus) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    return core::Error{core::ErrorCode::kUnavailable, path_,
                       std::string("cannot read the GPU processes file: ") + std::strerror(errno)};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseGpuProcesses(text.str(), path_, gpus);
}

}  // namespace mpshare::node
