#include "node/usage_format.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

namespace mpshare::node {
namespace {

using nlohmann::json;
constexpr uint64_t kMiB = 1024ULL * 1024ULL;

std::string mib(uint64_t bytes) { return std::to_string((bytes + kMiB / 2) / kMiB); }

std::string percent(double ratio) {
  return std::to_string(static_cast<int>(std::lround(ratio * 100))) + "%";
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string text(const UsageReport& report) {
  std::set<std::tuple<std::string, std::string, int>> doubled;
  for (const auto& cap : report.double_capped)
    doubled.insert({cap.namespace_name, cap.pod, cap.gpu});
  std::vector<std::vector<std::string>> rows{
      {"POD", "CONTAINER", "GPU", "THREADS", "MEMORY USED / LIMIT", "SM", "CLIENTS"}};
  for (const auto& c : report.containers) {
    const bool over = c.memory_limit_bytes && c.memory_used_bytes > *c.memory_limit_bytes;
    const bool twice = doubled.contains({c.namespace_name, c.pod, c.gpu});
    rows.push_back({c.namespace_name + "/" + c.pod, c.container.empty() ? "-" : c.container,
                    std::to_string(c.gpu),
                    c.thread_percentage ? std::to_string(*c.thread_percentage) + "%" : "none",
                    mib(c.memory_used_bytes) + " / " +
                        (c.memory_limit_bytes ? mib(*c.memory_limit_bytes) + " MiB" : "none") +
                        (over ? "  !" : ""),
                    c.sm_ratio ? percent(*c.sm_ratio) : "-",
                    std::to_string(c.mps_clients) + (twice ? " !" : "")});
  }
  std::string out = report.containers.empty() ? "no pod uses a GPU\n" : table(rows);
  out += "\n";
  for (const auto& g : report.gpus) {
    out += "GPU " + std::to_string(g.gpu) + " " + g.uuid + ": " + mib(g.memory_used_bytes) + " / " +
           mib(g.memory_total_bytes) + " MiB used, " + std::to_string(g.mps_clients) +
           " MPS clients, " + std::to_string(g.slices_reserved) + " slices reserved (" +
           percent(g.threads_reserved_ratio) + " of the threads), " +
           std::to_string(g.unattributed_processes) + " processes outside pods";
    if (g.unattributed_processes > 0) out += " (" + mib(g.unattributed_memory_bytes) + " MiB)";
    out += "\n";
  }
  for (const auto& cap : report.double_capped) out += "\n! " + cap.describe() + "\n";
  return out;
}

template <typename T>
json orNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string jsonText(const UsageReport& report) {
  json gpus = json::array();
  for (const auto& g : report.gpus) {
    gpus.push_back({{"gpu", g.gpu},
                    {"uuid", g.uuid},
                    {"memoryUsedBytes", g.memory_used_bytes},
                    {"memoryTotalBytes", g.memory_total_bytes},
                    {"mpsClients", g.mps_clients},
                    {"slicesReserved", g.slices_reserved},
                    {"threadsReservedRatio", g.threads_reserved_ratio},
                    {"unattributedProcesses", g.unattributed_processes},
                    {"unattributedMemoryBytes", g.unattributed_memory_bytes}});
  }
  json containers = json::array();
  for (const auto& c : report.containers) {
    containers.push_back({{"namespace", c.namespace_name},
                          {"pod", c.pod},
                          {"podUid", c.pod_uid},
                          {"container", c.container},
                          {"gpu", c.gpu},
                          {"uuid", c.uuid},
                          {"memoryUsedBytes", c.memory_used_bytes},
                          {"memoryLimitBytes", orNull(c.memory_limit_bytes)},
                          {"threadPercentage", orNull(c.thread_percentage)},
                          {"smRatio", orNull(c.sm_ratio)},
                          {"mpsClients", c.mps_clients},
                          {"processes", c.processes},
                          {"pids", c.pids}});
  }
  json doubled = json::array();
  for (const auto& d : report.double_capped) {
    doubled.push_back({{"namespace", d.namespace_name},
                       {"pod", d.pod},
                       {"gpu", d.gpu},
                       {"clients", d.clients},
                       {"memoryCapMiB", orNull(d.memory_cap_mib)},
                       {"threadPercentage", orNull(d.thread_percentage)},
                       {"pids", d.pids},
                       {"message", d.describe()}});
  }
  return json{{"gpus", gpus}, {"containers", containers}, {"doubleCapped", doubled}}.dump() + "\n";
}

}  // namespace

core::Result<std::string> formatUsage(const UsageReport& report, std::string_view format) {
  if (format == "text") return text(report);
  if (format == "json") return jsonText(report);
  return core::invalidArgument("--format",
                               "must be text or json, got \"" + std::string(format) + "\"");
}

}  // namespace mpshare::node
