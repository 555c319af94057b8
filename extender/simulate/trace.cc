#include "extender/simulate/trace.h"

#include <charconv>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "extender/simulate/kube_lists.h"

namespace mpshare::extender {
namespace {

using core::Result;

std::vector<std::string> splitRow(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (char c : line) {
    if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(std::move(cell));
  return cells;
}

// A CSV with a header row; rows are read through column names so column order
// does not matter and errors can name file:line and column.
class CsvReader {
 public:
  CsvReader(std::istream& in, std::string_view source) : in_(in), source_(source) {}

  core::Status readHeader(const std::vector<std::string>& required) {
    std::string line;
    if (!std::getline(in_, line)) {
      return core::invalidArgument(std::string(source_), "is empty; expected a header row");
    }
    line_ = 1;
    const auto names = splitRow(line);
    for (size_t i = 0; i < names.size(); ++i) {
      columns_[names[i]] = i;
    }
    for (const std::string& name : required) {
      if (!columns_.contains(name)) {
        return core::invalidArgument(where(),
                                     "header has no column \"" + name + "\" (has: " + line + ")");
      }
    }
    return {};
  }

  // Next non-empty row; false at the end.
  bool next() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      if (line.empty() || line == "\r") {
        continue;
      }
      row_ = splitRow(line);
      return true;
    }
    return false;
  }

  [[nodiscard]] bool has(const std::string& column) const { return columns_.contains(column); }

  [[nodiscard]] std::string where() const {
    return std::string(source_) + ":" + std::to_string(line_);
  }

  Result<std::string> text(const std::string& column) const {
    const size_t index = columns_.at(column);
    if (index >= row_.size()) {
      return core::invalidArgument(where(), "column " + column + ": missing (row has " +
                                                std::to_string(row_.size()) + " cells, header " +
                                                std::to_string(columns_.size()) + ")");
    }
    return row_[index];
  }

  // A whole number in [low, high].
  Result<int64_t> integer(const std::string& column, int64_t low, int64_t high) const {
    auto cell = text(column);
    if (!cell) {
      return cell.error();
    }
    int64_t value = 0;
    const std::string& s = *cell;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value < low ||
        value > high) {
      return core::invalidArgument(where(), "column " + column + ": \"" + s +
                                                "\" is not a whole number in " +
                                                std::to_string(low) + ".." + std::to_string(high));
    }
    return value;
  }

 private:
  std::istream& in_;
  std::string_view source_;
  std::map<std::string, size_t> columns_;
  std::vector<std::string> row_;
  int line_ = 0;
};

constexpr int64_t kMaxCpuMilli = int64_t{1} << 40;
constexpr int64_t kMaxMemoryMiB = int64_t{1} << 40;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<int64_t> gpuMemoryOfModel(std::string_view model) {
  static const std::map<std::string, int64_t, std::less<>> kMemory{
      {"P100", 16384}, {"T4", 16384}, {"V100M16", 16384}, {"V100M32", 32768},
      {"A10", 24576},  {"G1", 32768}, {"G2", 32768},      {"G3", 32768},
  };
  const auto it = kMemory.find(model);
  if (it == kMemory.end()) {
    return core::invalidArgument("model", "\"" + std::string(model) +
                                              "\" has no known memory size (known: A10, G1, G2, "
                                              "G3, P100, T4, V100M16, V100M32)");
  }
  return it->second;
}

Result<std::vector<SimNode>> parseNodeCsv(std::istream& in, std::string_view source) {
  CsvReader csv(in, source);
  if (auto header = csv.readHeader({"sn", "cpu_milli", "memory_mib", "gpu", "model"}); !header) {
    return header.error();
  }
  std::vector<SimNode> nodes;
  while (csv.next()) {
    SimNode node;
    auto name = csv.text("sn");
    auto cpu = csv.integer("cpu_milli", 0, kMaxCpuMilli);
    auto memory = csv.integer("memory_mib", 0, kMaxMemoryMiB);
    auto gpus = csv.integer("gpu", 0, 64);
    auto model = csv.text("model");
    for (const core::Error* error :
         {name ? nullptr : &name.error(), cpu ? nullptr : &cpu.error(),
          memory ? nullptr : &memory.error(), gpus ? nullptr : &gpus.error(),
          model ? nullptr : &model.error()}) {
      if (error != nullptr) {
        return *error;
      }
    }
    if (name->empty()) {
      return core::invalidArgument(csv.where(), "column sn: empty node name");
    }
    node.name = *name;
    node.cpu_milli = *cpu;
    node.memory_mib = *memory;
    node.gpus = static_cast<int>(*gpus);
    node.model = *model;
    if (node.gpus > 0) {
      auto gpu_memory = gpuMemoryOfModel(node.model);
      if (!gpu_memory) {
        return core::invalidArgument(csv.where(), "column model: " + gpu_memory.error().message);
      }
      node.gpu_memory_mib = *gpu_memory;
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<std::vector<SimPod>> parsePodCsv(std::istream& in, std::string_view source) {
  CsvReader csv(in, source);
  // The trace's lists differ in columns (the multigpuNN lists carry only name,
  // cpu_milli, memory_mib, num_gpu, gpu_milli). Missing optional columns take the
  // defaults of the paper's converter (pod_csv_to_yaml.py): no host memory
  // request, whole GPUs, any GPU model.
  if (auto header = csv.readHeader({"name", "cpu_milli", "num_gpu"}); !header) {
    return header.error();
  }
  const bool has_memory = csv.has("memory_mib");
  const bool has_milli = csv.has("gpu_milli");
  const bool has_spec = csv.has("gpu_spec");
  std::vector<SimPod> pods;
  while (csv.next()) {
    auto name = csv.text("name");
    auto cpu = csv.integer("cpu_milli", 0, kMaxCpuMilli);
    auto memory = has_memory ? csv.integer("memory_mib", 0, kMaxMemoryMiB) : Result<int64_t>(0);
    auto gpus = csv.integer("num_gpu", 0, 64);
    auto milli = has_milli ? csv.integer("gpu_milli", 0, 1000) : Result<int64_t>(1000);
    auto spec = has_spec ? csv.text("gpu_spec") : Result<std::string>(std::string());
    for (const core::Error* error :
         {name ? nullptr : &name.error(), cpu ? nullptr : &cpu.error(),
          memory ? nullptr : &memory.error(), gpus ? nullptr : &gpus.error(),
          milli ? nullptr : &milli.error(), spec ? nullptr : &spec.error()}) {
      if (error != nullptr) {
        return *error;
      }
    }
    SimPod pod;
    pod.name = *name;
    pod.cpu_milli = *cpu;
    pod.memory_mib = *memory;
    pod.gpus = static_cast<int>(*gpus);
    pod.gpu_milli = pod.gpus == 0 ? 0 : static_cast<int>(*milli);
    if (pod.gpus > 0 && pod.gpu_milli == 0) {
      return core::invalidArgument(csv.where(), "column gpu_milli: 0 for a pod with num_gpu " +
                                                    std::to_string(pod.gpus) +
                                                    " (allowed: 1..1000)");
    }
    if (pod.gpus > 1 && pod.gpu_milli != 1000) {
      return core::invalidArgument(
          csv.where(), "column gpu_milli: " + std::to_string(pod.gpu_milli) + " with num_gpu " +
                           std::to_string(pod.gpus) +
                           " (a pod with several GPUs takes them whole: gpu_milli must be 1000)");
    }
    std::string models = *spec;
    size_t start = 0;
    while (!models.empty() && start <= models.size()) {
      const size_t bar = models.find('|', start);
      const std::string model = models.substr(start, bar - start);
      if (!model.empty()) {
        pod.models.push_back(model);
      }
      if (bar == std::string::npos) {
        break;
      }
      start = bar + 1;
    }
    pods.push_back(std::move(pod));
  }
  return pods;
}

Result<std::vector<SimNode>> loadNodes(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return core::invalidArgument("--nodes", path + ": cannot be opened");
  }
  if (endsWith(path, ".csv")) {
    return parseNodeCsv(in, path);
  }
  if (endsWith(path, ".yaml") || endsWith(path, ".yml") || endsWith(path, ".json")) {
    return parseNodeList(in, path);
  }
  return core::invalidArgument("--nodes", path + ": unknown format (use .csv, .yaml, .yml, .json)");
}

Result<std::vector<SimPod>> loadPods(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return core::invalidArgument("--pods", path + ": cannot be opened");
  }
  if (endsWith(path, ".csv")) {
    return parsePodCsv(in, path);
  }
  if (endsWith(path, ".yaml") || endsWith(path, ".yml") || endsWith(path, ".json")) {
    return parsePodList(in, path);
  }
  return core::invalidArgument("--pods", path + ": unknown format (use .csv, .yaml, .yml, .json)");
}

}  // namespace mpshare::extender
