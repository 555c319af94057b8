#include "node/proc_reader.h"

#include <fstream>
#include <set>
#include <sstream>

namespace mpshare::node {
namespace {

constexpr const char* kMpsServerComm = "nvidia-cuda-mps-server";

bool readSmall(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

}  // namespace

std::map<uint32_t, ProcessOwner> readProcessOwners(const std::string& proc_root,
                                                   const std::vector<uint32_t>& pids) {
  std::map<uint32_t, ProcessOwner> owners;
  for (const auto pid : pids) {
    const std::string dir = proc_root + "/" + std::to_string(pid);
    ProcessOwner owner;
    std::string text;
    if (readSmall(dir + "/comm", text)) {
      while (!text.empty() && text.back() == '\n') text.pop_back();
      // comm is cut at 15 characters: "nvidia-cuda-mps".
      owner.mps_server = std::string(kMpsServerComm).starts_with(text) && text.size() >= 15;
    }
    if (readSmall(dir + "/cgroup", text)) owner.container = containerOfCgroupFile(text);
    owners[pid] = owner;
  }
  return owners;
}

std::vector<uint32_t> processIds(const std::vector<GpuSample>& samples) {
  std::set<uint32_t> pids;
  for (const auto& sample : samples) {
    for (const auto& process : sample.processes) pids.insert(process.pid);
  }
  return {pids.begin(), pids.end()};
}

}  // namespace mpshare::node
