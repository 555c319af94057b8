#include "core/gpu_request.h"

#include <algorithm>

#include "core/quantity.h"

namespace mpshare::core {
namespace {

std::string describeContainer(const ContainerView& c) {
  switch (c.kind) {
    case ContainerKind::kRegular:
      return "container \"" + c.name + "\"";
    case ContainerKind::kInit:
      return "init container \"" + c.name + "\"";
    case ContainerKind::kSidecar:
      return "sidecar container \"" + c.name + "\"";
  }
  return c.name;
}

std::string fieldOf(const ContainerView& c) {
  return std::string(c.kind == ContainerKind::kRegular ? "spec.containers["
                                                       : "spec.initContainers[") +
         std::to_string(c.index) + "]";
}

// The amount of `resource` a container asks for: its limit, else its request.
Result<int64_t> amountOf(const ContainerView& c, const std::string& resource) {
  const std::string* text = nullptr;
  if (auto it = c.limits.find(resource); it != c.limits.end()) {
    text = &it->second;
  } else if (auto req = c.requests.find(resource); req != c.requests.end()) {
    text = &req->second;
  }
  if (text == nullptr) return int64_t{0};
  auto quantity = parseQuantity(*text);
  if (!quantity) return invalidArgument(fieldOf(c), resource + ": " + quantity.error().message);
  const auto whole = quantity->exactInteger();
  if (!whole || *whole < 0) {
    return invalidArgument(fieldOf(c), describeContainer(c) + " asks for " + resource + ": \"" +
                                           *text + "\"; it must be a whole, non-negative number");
  }
  return *whole;
}

}  // namespace

int64_t GpuRequest::podGpus() const {
  int64_t running_together = 0;
  int64_t largest_init = 0;
  for (const auto& ask : asks) {
    if (ask.container->kind == ContainerKind::kInit) {
      largest_init = std::max(largest_init, ask.gpus);
    } else {
      running_together += ask.gpus;
    }
  }
  return std::max(running_together, largest_init);
}

Result<GpuRequest> gpuRequestOf(const PodView& pod, const GpuResourceNames& names) {
  GpuRequest request;
  for (const auto& container : pod.containers) {
    int64_t total = 0;
    for (const auto& resource : names.names) {
      auto amount = amountOf(container, resource);
      if (!amount) return amount.error();
      total += *amount;
    }
    if (total > 0) request.asks.push_back({&container, total});
  }
  return request;
}

Status checkExactlyOneGpu(const GpuRequest& request) {
  int regular_asking = 0;
  bool any_above_one = false;
  for (const auto& ask : request.asks) {
    if (ask.container->kind != ContainerKind::kInit) ++regular_asking;
    if (ask.gpus != 1) any_above_one = true;
  }
  if (regular_asking <= 1 && !any_above_one) return {};

  std::string who;
  for (const auto& ask : request.asks) {
    if (!who.empty()) who += ", ";
    who += describeContainer(*ask.container) + " asks for " + std::to_string(ask.gpus);
  }
  return invalidArgument("spec",
                         "an MPS pod must use exactly one GPU: each GPU container asks "
                         "for 1 and at most one regular or sidecar container asks; " +
                             who);
}

}  // namespace mpshare::core
