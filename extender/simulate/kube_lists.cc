#include "extender/simulate/kube_lists.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/demand.h"
#include "core/gpu_device.h"
#include "core/inventory.h"
#include "core/quantity.h"
#include "platform/kube_json.h"
#include "platform/yaml_json.h"

namespace mpshare::extender {
namespace {

using core::Result;
using nlohmann::json;

Result<json> readItems(std::istream& in, std::string_view source) {
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = platform::yamlToJson(buffer.str(), platform::YamlScalars::kStrings);
  if (!parsed) {
    return core::invalidArgument(std::string(source), parsed.error().message);
  }
  json document = std::move(*parsed);
  if (!document.is_object() || !document.contains("items") || !document["items"].is_array()) {
    return core::invalidArgument(std::string(source),
                                 "expected a list object with `items` (kubectl get -o yaml)");
  }
  return document["items"];
}

std::string itemName(const json& item, size_t index) {
  std::string name;
  if (item.contains("metadata") && item["metadata"].is_object() &&
      item["metadata"].contains("name") && item["metadata"]["name"].is_string()) {
    name = " (" + item["metadata"]["name"].get<std::string>() + ")";
  }
  return "items[" + std::to_string(index) + "]" + name;
}

// A string field at `path` (keys), or "" when absent.
std::string stringAt(const json& item, std::initializer_list<const char*> path) {
  const json* at = &item;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) {
      return "";
    }
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : "";
}

Result<int64_t> memoryMiB(const std::string& text) {
  auto quantity = core::parseQuantity(text);
  if (!quantity) {
    return quantity.error();
  }
  auto mib = quantity->floorDiv(core::kMiB);
  if (!mib) {
    return core::invalidArgument("", "\"" + text + "\" is not a memory size >= 0");
  }
  return *mib;
}

}  // namespace

Result<std::vector<SimNode>> parseNodeList(std::istream& in, std::string_view source) {
  auto items = readItems(in, source);
  if (!items) {
    return items.error();
  }
  std::vector<SimNode> nodes;
  const core::InventoryConfig config;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    const std::string where = std::string(source) + ": " + itemName(item, i);
    auto view = platform::nodeFromJson(item);
    if (!view) {
      return core::invalidArgument(where, view.error().describe());
    }
    SimNode node;
    node.name = view->name;
    // GPU nodes carry mpshare-node's count label or GPU Feature Discovery's.
    if (view->labels.contains(std::string(core::kAgentGpuCountLabel)) ||
        view->labels.contains(std::string(core::kGpuCountLabel))) {
      auto capacity = core::nodeCapacityFromLabels(*view, config);
      if (!capacity) {
        return core::invalidArgument(where, capacity.error().describe());
      }
      node.gpus = static_cast<int>(capacity->gpus.size());
      node.model = capacity->gpu_product;
      if (!capacity->gpus.empty()) {
        node.gpu_memory_mib = capacity->gpus.front().memory_mib;
        node.clients_per_gpu = capacity->gpus.front().clients;
      }
    }
    const std::string cpu = stringAt(item, {"status", "allocatable", "cpu"});
    if (!cpu.empty()) {
      auto milli = core::parseCpuMilli(cpu);
      if (!milli) {
        return core::invalidArgument(where, "status.allocatable.cpu: " + milli.error().describe());
      }
      node.cpu_milli = *milli;
    }
    const std::string memory = stringAt(item, {"status", "allocatable", "memory"});
    if (!memory.empty()) {
      auto mib = memoryMiB(memory);
      if (!mib) {
        return core::invalidArgument(where, "status.allocatable.memory: " + mib.error().describe());
      }
      node.memory_mib = *mib;
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<std::vector<SimPod>> parsePodList(std::istream& in, std::string_view source) {
  auto items = readItems(in, source);
  if (!items) {
    return items.error();
  }
  core::DemandRules rules;
  rules.track_host_resources = true;
  std::vector<SimPod> pods;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    const std::string where = std::string(source) + ": " + itemName(item, i);
    auto view = platform::podFromJson(item);
    if (!view) {
      return core::invalidArgument(where, view.error().describe());
    }
    SimPod pod;
    pod.name = view->key();
    // Host requests of the regular containers (what the scheduler reserves).
    for (const core::ContainerView& container : view->containers) {
      if (container.kind == core::ContainerKind::kInit) {
        continue;
      }
      if (const auto cpu = container.requests.find("cpu"); cpu != container.requests.end()) {
        auto milli = core::parseCpuMilli(cpu->second);
        if (!milli) {
          return core::invalidArgument(
              where, container.name + " requests.cpu: " + milli.error().describe());
        }
        pod.cpu_milli += *milli;
      }
      if (const auto mem = container.requests.find("memory"); mem != container.requests.end()) {
        auto mib = memoryMiB(mem->second);
        if (!mib) {
          return core::invalidArgument(
              where, container.name + " requests.memory: " + mib.error().describe());
        }
        pod.memory_mib += *mib;
      }
    }
    auto demand = core::demandOf(*view, rules);
    if (!demand) {
      return core::invalidArgument(where, demand.error().describe());
    }
    if (demand->has_value()) {
      const core::Demand& d = **demand;
      pod.gpus = d.gpus;
      pod.gpu_milli = d.thread_percentage.value_or(core::kThreadPercentPerGpu) * 10;
      pod.gpu_memory_mib = d.memory_mib;
    } else {
      pod.gpus = 0;
      pod.gpu_milli = 0;
    }
    pods.push_back(std::move(pod));
  }
  return pods;
}

}  // namespace mpshare::extender
