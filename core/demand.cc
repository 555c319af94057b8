#include "core/demand.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "core/quantity.h"

namespace mpshare::core {
namespace {

// A container's request for `resource`, or its limit when no request is set
// (Kubernetes defaults the request to the limit).
const std::string* requestOrLimit(const ContainerView& container, const std::string& resource) {
  if (const auto it = container.requests.find(resource); it != container.requests.end()) {
    return &it->second;
  }
  if (const auto it = container.limits.find(resource); it != container.limits.end()) {
    return &it->second;
  }
  return nullptr;
}

// Host CPU/memory the pod holds at once: max(largest init container, sum of the
// regular containers and sidecars), the way the scheduler counts it.
Status addHostDemand(const PodView& pod, Demand& demand) {
  int64_t sum_cpu = 0;
  int64_t sum_mem = 0;
  int64_t init_cpu = 0;
  int64_t init_mem = 0;
  for (const ContainerView& container : pod.containers) {
    int64_t cpu = 0;
    int64_t mem = 0;
    const std::string field =
        std::string(container.kind == ContainerKind::kRegular ? "spec.containers["
                                                              : "spec.initContainers[") +
        std::to_string(container.index) + "]";
    if (const std::string* text = requestOrLimit(container, "cpu")) {
      auto parsed = parseCpuMilli(*text);
      if (!parsed) {
        return invalidArgument(field + ".resources.cpu", parsed.error().message);
      }
      cpu = *parsed;
    }
    if (const std::string* text = requestOrLimit(container, "memory")) {
      auto parsed = parseQuantity(*text);
      std::optional<int64_t> mib;
      if (parsed) {
        mib = parsed->floorDiv(kMiB);
      }
      if (!mib) {
        return invalidArgument(field + ".resources.memory",
                               "\"" + *text + "\" is not a non-negative Kubernetes quantity");
      }
      mem = *mib;
    }
    if (container.kind == ContainerKind::kInit) {
      init_cpu = std::max(init_cpu, cpu);
      init_mem = std::max(init_mem, mem);
    } else {
      sum_cpu += cpu;
      sum_mem += mem;
    }
  }
  demand.cpu_milli = std::max(sum_cpu, init_cpu);
  demand.host_memory_mib = std::max(sum_mem, init_mem);
  return {};
}

}  // namespace

std::string Demand::describe() const {
  if (gpus > 1) {
    return std::to_string(gpus) + " whole GPUs";
  }
  if (wholeGpu()) {
    return "a whole GPU";
  }
  const std::string threads =
      thread_percentage ? std::to_string(*thread_percentage) + "% threads" : "100% threads";
  const std::string memory = memory_mib ? std::to_string(*memory_mib) + " MiB" : "all GPU memory";
  return threads + " / " + memory;
}

double gpuAsk(const Demand& demand) {
  if (demand.gpus <= 0) {
    return 0.0;
  }
  const double share = demand.thread_percentage
                           ? static_cast<double>(*demand.thread_percentage) / kThreadPercentPerGpu
                           : 1.0;
  return demand.gpus * share;
}

GpuDemand resolveOn(const Demand& demand, const GpuCapacity& gpu) {
  return GpuDemand{demand.thread_percentage.value_or(kThreadPercentPerGpu),
                   demand.memory_mib.value_or(gpu.memory_mib), 1};
}

Result<int64_t> parseCpuMilli(std::string_view text) {
  auto quantity = parseQuantity(text);
  std::optional<int64_t> milli;
  if (quantity && !quantity->isNegative()) {
    // value x 1000 = floor(value / 0.001); Quantity divides only by integers, so
    // read "500m" directly and scale the rest.
    if (!text.empty() && text.back() == 'm') {
      int64_t value = 0;
      const auto body = text.substr(0, text.size() - 1);
      const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
      if (ec == std::errc() && end == body.data() + body.size()) {
        milli = value;
      }
    } else if (auto whole = quantity->exactInteger()) {
      milli = *whole * 1000;
    } else if (auto parsed = parseQuantity(std::string(text) + "e3")) {
      // A plain decimal such as "1.5": 1.5e3 millicores.
      milli = parsed->floorDiv(1);
    }
  }
  if (!milli || *milli < 0) {
    return invalidArgument(
        "", "\"" + std::string(text) + R"(" is not a CPU quantity (e.g. "500m", "2", "1.5"))");
  }
  return *milli;
}

Result<std::optional<Demand>> demandOf(const PodView& pod, const DemandRules& rules) {
  auto request = gpuRequestOf(pod, rules.resources);
  if (!request) {
    return request.error();
  }
  if (!request->isMpsPod()) {
    return std::optional<Demand>{};
  }
  auto limits = parseMpsLimits(pod.annotations, rules.annotations);
  if (!limits) {
    return limits.error();
  }
  Demand demand;
  const bool annotated = limits->thread_percentage || limits->memory_limit_mib;
  if (annotated) {
    if (Status one = checkExactlyOneGpu(*request); !one) {
      return one.error();
    }
  }
  if (!annotated && request->podGpus() > 1) {
    demand.gpus = static_cast<int>(std::min<int64_t>(request->podGpus(), 64));
  } else {
    const MpsLimits effective =
        withDefaults(*limits, rules.defaults.thread_percentage, rules.defaults.memory_mib);
    demand.thread_percentage = effective.thread_percentage;
    demand.memory_mib = effective.memory_limit_mib;
  }
  if (rules.track_host_resources) {
    if (Status host = addHostDemand(pod, demand); !host) {
      return host.error();
    }
  }
  return std::optional<Demand>{demand};
}

}  // namespace mpshare::core
