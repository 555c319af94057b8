#include "extender/config.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <set>
#include <string>

#include "core/annotations.h"
#include "core/policy_registry.h"
#include "core/quantity.h"
#include "platform/config_keys.h"

namespace mpshare::extender {
namespace {

using core::invalidArgument;
using platform::onlyKnownKeys;

// The most maxLearnedNodes may be: ten times the largest Kubernetes cluster.
constexpr int64_t kMaxLearnedNodes = 50'000;
// podDistribution bounds: the window's memory (about 100 bytes a pod), a day
// count that fits any sensible age, and shapes fgd weighs on every node.
constexpr int64_t kMaxWindowPods = 100'000;
constexpr int64_t kMaxWindowSeconds = 30LL * 24 * 3600;
constexpr int64_t kMaxShapes = 256;
// plan bounds: planning a batch costs batchSize x orders placements, so both
// stay small; a settle wait past a second outlasts kube-scheduler's initial
// retry backoff (1 s); a plan kept over an hour holds room long after its pod
// has gone elsewhere.
constexpr int64_t kMaxPlanBatch = 64;
constexpr int64_t kMaxPlanOrders = 16;
constexpr int64_t kMaxPlanSettleMs = 1000;
constexpr int64_t kMaxPlanTtlSeconds = 3600;

std::string scalarText(const YAML::Node& node) {
  return node.IsScalar() ? "\"" + node.Scalar() + "\"" : std::string("a non-scalar value");
}

core::Result<int64_t> integer(const YAML::Node& node, const std::string& path, int64_t min,
                              int64_t max) {
  const std::string allowed =
      "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar()) {
    return invalidArgument(path, allowed + ", got " + scalarText(node));
  }
  try {
    size_t used = 0;
    const long long value = std::stoll(node.Scalar(), &used);
    if (used == node.Scalar().size() && value >= min && value <= max) {
      return static_cast<int64_t>(value);
    }
  } catch (const std::exception&) {
    // Falls through to the error below, which names the value.
  }
  return invalidArgument(path, allowed + ", got " + scalarText(node));
}

// A DNS-1123 subdomain: what Kubernetes accepts as a pod's spec.schedulerName.
bool validSchedulerName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  char previous = '.';
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') return false;
    // Each dot-separated label starts and ends with a letter or digit.
    if (c == '.' && (previous == '.' || previous == '-')) return false;
    if (c == '-' && previous == '.') return false;
    previous = c;
  }
  return previous != '.' && previous != '-';
}

core::Result<int64_t> memoryMiB(const YAML::Node& node, const std::string& path) {
  const std::string allowed = "must be a memory quantity of at least 1Mi (e.g. \"4Gi\")";
  if (node.IsScalar()) {
    auto quantity = core::parseQuantity(node.Scalar());
    if (quantity && !quantity->isNegative()) {
      if (auto mib = quantity->floorDiv(core::kMiB); mib && *mib >= 1) {
        return *mib;
      }
    }
  }
  return invalidArgument(path, allowed + ", got " + scalarText(node));
}

// One entry of podDistribution.seed.
core::Result<core::ShapeCount> parseSeedShape(const YAML::Node& node, const std::string& path) {
  if (auto known = onlyKnownKeys(node, path, {"gpus", "gpuMilli", "gpuMemory", "pods"}); !known) {
    return known.error();
  }
  core::ShapeCount entry;
  if (const auto gpus = node["gpus"]) {
    auto value = integer(gpus, path + ".gpus", 1, 64);
    if (!value) return value.error();
    entry.shape.gpus = static_cast<int>(*value);
  }
  if (const auto milli = node["gpuMilli"]) {
    auto value = integer(milli, path + ".gpuMilli", 1, 1000);
    if (!value) return value.error();
    if (*value < 1000 && entry.shape.gpus > 1) {
      return invalidArgument(path + ".gpuMilli", "must be 1000 (whole GPUs) for a pod of " +
                                                     std::to_string(entry.shape.gpus) +
                                                     " GPUs, got " + scalarText(milli));
    }
    entry.shape.gpu_milli = static_cast<int>(*value);
  }
  if (const auto memory = node["gpuMemory"]) {
    auto value = memoryMiB(memory, path + ".gpuMemory");
    if (!value) return value.error();
    if (entry.shape.gpu_milli >= 1000) {
      return invalidArgument(path + ".gpuMemory",
                             "applies only to a share of one GPU (gpuMilli below 1000)");
    }
    entry.shape.gpu_memory_mib = *value;
  }
  const auto pods = node["pods"];
  if (!pods) {
    return invalidArgument(path + ".pods",
                           "is required: how many pods of this shape, relative to the others");
  }
  auto count = integer(pods, path + ".pods", 1, 1'000'000'000);
  if (!count) return count.error();
  entry.pods = *count;
  return entry;
}

core::Status parsePodDistribution(const YAML::Node& node, const std::string& path,
                                  ExtenderConfig& config) {
  if (auto known = onlyKnownKeys(node, path,
                                 {"windowPods", "windowSeconds", "minPods", "maxShapes", "seed"});
      !known) {
    return known;
  }
  core::DistributionWindow& window = config.pod_window;
  if (const auto pods = node["windowPods"]) {
    auto value = integer(pods, path + ".windowPods", 1, kMaxWindowPods);
    if (!value) return value.error();
    window.max_pods = static_cast<size_t>(*value);
  }
  if (const auto seconds = node["windowSeconds"]) {
    auto value = integer(seconds, path + ".windowSeconds", 0, kMaxWindowSeconds);
    if (!value) return value.error();
    window.max_age = std::chrono::seconds(*value);
  }
  if (const auto shapes = node["maxShapes"]) {
    auto value = integer(shapes, path + ".maxShapes", 1, kMaxShapes);
    if (!value) return value.error();
    window.max_shapes = static_cast<size_t>(*value);
  }
  if (const auto minimum = node["minPods"]) {
    auto value = integer(minimum, path + ".minPods", 1, kMaxWindowPods);
    if (!value) return value.error();
    window.min_pods = static_cast<size_t>(*value);
  }
  if (window.min_pods > window.max_pods) {
    return invalidArgument(path + ".minPods", "must be at most windowPods (" +
                                                  std::to_string(window.max_pods) + "), got " +
                                                  std::to_string(window.min_pods));
  }
  if (const auto seed = node["seed"]) {
    if (!seed.IsSequence() || seed.size() == 0) {
      return invalidArgument(path + ".seed",
                             "must be a non-empty list of {gpus, gpuMilli, gpuMemory, pods}");
    }
    config.pod_seed.clear();
    for (size_t i = 0; i < seed.size(); ++i) {
      auto entry = parseSeedShape(seed[i], path + ".seed[" + std::to_string(i) + "]");
      if (!entry) return entry.error();
      config.pod_seed.push_back(*entry);
    }
  }
  return {};
}

core::Status parsePlan(const YAML::Node& node, const std::string& path, PlanConfig& plan) {
  if (auto known = onlyKnownKeys(
          node, path, {"schedulerName", "batchSize", "orders", "settleMilliseconds", "ttlSeconds"});
      !known) {
    return known;
  }
  if (const auto name = node["schedulerName"]) {
    if (!name.IsScalar() || !validSchedulerName(name.Scalar())) {
      return invalidArgument(path + ".schedulerName",
                             "must be a scheduler name (a DNS-1123 subdomain: a-z, 0-9, '-', '.', "
                             "at most 253, e.g. mpshare-scheduler), got " +
                                 scalarText(name));
    }
    plan.scheduler_name = name.Scalar();
  }
  if (const auto batch = node["batchSize"]) {
    auto value = integer(batch, path + ".batchSize", 1, kMaxPlanBatch);
    if (!value) return value.error();
    plan.batch_size = static_cast<size_t>(*value);
  }
  if (const auto orders = node["orders"]) {
    auto value = integer(orders, path + ".orders", 1, kMaxPlanOrders);
    if (!value) return value.error();
    plan.orders = static_cast<int>(*value);
  }
  if (const auto settle = node["settleMilliseconds"]) {
    auto value = integer(settle, path + ".settleMilliseconds", 0, kMaxPlanSettleMs);
    if (!value) return value.error();
    plan.settle = std::chrono::milliseconds(*value);
  }
  if (const auto ttl = node["ttlSeconds"]) {
    auto value = integer(ttl, path + ".ttlSeconds", 1, kMaxPlanTtlSeconds);
    if (!value) return value.error();
    plan.ttl = std::chrono::seconds(*value);
  }
  return {};
}

core::Status parseExtender(const YAML::Node& node, ExtenderConfig& config) {
  const std::string path = "extender";
  if (auto known = onlyKnownKeys(
          node, path,
          {"urlPrefix", "nodeSelector", "gpuResourceNames", "policy", "plan", "podDistribution",
           "threadOversubscription", "maxClientsPerGpu", "defaultThreadPercentage",
           "defaultMemoryLimit", "minMemoryLimit", "maxLearnedNodes"});
      !known) {
    return known;
  }
  if (const auto prefix = node["urlPrefix"]) {
    if (!prefix.IsScalar() || prefix.Scalar().empty() || prefix.Scalar().front() != '/' ||
        prefix.Scalar().find_first_of("?# ") != std::string::npos) {
      return invalidArgument(
          path + ".urlPrefix",
          "must be a URL path starting with '/' (e.g. /scheduler), got " + scalarText(prefix));
    }
    config.url_prefix = prefix.Scalar();
    while (config.url_prefix.size() > 1 && config.url_prefix.back() == '/') {
      config.url_prefix.pop_back();  // the scheduler trims it too
    }
    if (config.url_prefix == "/") {
      config.url_prefix.clear();
    }
  }
  if (const auto selector = node["nodeSelector"]) {
    if (!selector.IsMap()) {
      return invalidArgument(path + ".nodeSelector", "must be a mapping of label: value");
    }
    config.inventory.node_selector.clear();
    for (const auto& entry : selector) {
      if (!entry.second.IsScalar()) {
        return invalidArgument(path + ".nodeSelector." + entry.first.Scalar(),
                               "must be a string label value");
      }
      config.inventory.node_selector[entry.first.Scalar()] = entry.second.Scalar();
    }
  }
  // The keys the webhook reads too, through the same reader (platform/config_keys.h).
  platform::PodLimitKeys keys{
      config.demand.resources, config.demand.annotations.min_memory_limit_mib,
      config.demand.defaults.thread_percentage, config.demand.defaults.memory_mib};
  if (auto read = platform::readPodLimitKeys(node, path, &keys); !read) {
    return read;
  }
  config.demand.resources = std::move(keys.resources);
  config.demand.annotations.min_memory_limit_mib = keys.min_memory_limit_mib;
  config.demand.defaults.thread_percentage = keys.default_thread_percentage;
  config.demand.defaults.memory_mib = keys.default_memory_limit_mib;
  if (const auto policy = node["policy"]) {
    if (!policy.IsScalar() || core::findLivePolicy(policy.Scalar()) == nullptr) {
      return invalidArgument(path + ".policy", "must be one of " + core::livePolicyNames() +
                                                   ", got " + scalarText(policy));
    }
    config.policy = policy.Scalar();
  }
  // Read whatever the policy: the chart writes the block for every policy.
  if (const auto plan = node["plan"]) {
    if (auto parsed = parsePlan(plan, path + ".plan", config.plan); !parsed) {
      return parsed;
    }
  }
  if (const auto distribution = node["podDistribution"]) {
    if (auto parsed = parsePodDistribution(distribution, path + ".podDistribution", config);
        !parsed) {
      return parsed;
    }
  }
  if (const auto factor = node["threadOversubscription"]) {
    double value = 0;
    bool ok = factor.IsScalar();
    if (ok) {
      try {
        size_t used = 0;
        value = std::stod(factor.Scalar(), &used);
        ok =
            used == factor.Scalar().size() && std::isfinite(value) && value >= 1.0 && value <= 48.0;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      return invalidArgument(path + ".threadOversubscription",
                             "must be a number from 1.0 to 48.0, got " + scalarText(factor));
    }
    config.inventory.thread_oversubscription = value;
  }
  if (const auto clients = node["maxClientsPerGpu"]) {
    auto value = integer(clients, path + ".maxClientsPerGpu", 1, core::kMpsMaxClientsPerGpu);
    if (!value) {
      return value.error();
    }
    config.inventory.max_clients_per_gpu = static_cast<int>(*value);
  }
  if (const auto learned = node["maxLearnedNodes"]) {
    auto value = integer(learned, path + ".maxLearnedNodes", 0, kMaxLearnedNodes);
    if (!value) {
      return value.error();
    }
    config.max_learned_nodes = static_cast<size_t>(*value);
  }
  return {};
}

}  // namespace

core::Result<ExtenderConfig> parseConfig(std::istream& in) {
  ExtenderConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    return invalidArgument("config", std::string("is not valid YAML: ") + e.what());
  }
  if (root.IsNull()) {
    return config;
  }
  try {
    if (auto known = onlyKnownKeys(root, "config", {"extender"}); !known) {
      return known.error();
    }
    if (const auto extender = root["extender"]; extender && !extender.IsNull()) {
      if (auto parsed = parseExtender(extender, config); !parsed) {
        return parsed.error();
      }
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument("config", std::string("could not be read: ") + e.what());
  }
  return config;
}

}  // namespace mpshare::extender
