#include "extender/routes.h"

#include <chrono>
#include <exception>
#include <string>

#include "platform/json_text.h"
#include "platform/logging.h"

namespace mpshare::extender {
namespace {

using platform::HttpRequest;
using platform::HttpResponse;

HttpResponse json(int status, const std::string& body) {
  return HttpResponse{status, "application/json", body};
}

HttpResponse errorResponse(int status, const std::string& message) {
  return json(status, platform::errorJson(message));
}

nlohmann::json usageJson(int threads, int64_t memory, int clients) {
  return {{"threadPercent", threads}, {"memoryMiB", memory}, {"clients", clients}};
}

}  // namespace

std::string_view routeOutcomeLabel(RouteOutcome outcome) {
  switch (outcome) {
    case RouteOutcome::kOk:
      return "ok";
    case RouteOutcome::kInvalidPod:
      return "invalid_pod";
    case RouteOutcome::kRefused:
      return "refused";
    case RouteOutcome::kBadRequest:
      return "bad_request";
    case RouteOutcome::kError:
      return "error";
  }
  return "error";
}

nlohmann::json stateToJson(const core::LedgerSnapshot& snapshot,
                           const std::map<std::string, std::string>& rejected) {
  std::map<std::string, const core::Reservation*> by_uid;
  for (const core::Reservation& reservation : snapshot.reservations) {
    by_uid[reservation.uid] = &reservation;
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const core::NodeState& node : snapshot.nodes) {
    nlohmann::json gpus = nlohmann::json::array();
    for (const core::GpuState& gpu : node.gpus) {
      nlohmann::json pods = nlohmann::json::array();
      for (const std::string& uid : gpu.pods) {
        const auto it = by_uid.find(uid);
        nlohmann::json pod{{"uid", uid}};
        if (it != by_uid.end()) {
          for (size_t i = 0; i < it->second->gpu_indices.size(); ++i) {
            if (it->second->gpu_indices[i] == gpu.capacity.index) {
              const core::GpuDemand& take = it->second->per_gpu[i];
              pod = {{"uid", uid},
                     {"pod", it->second->pod_key},
                     {"reserved", usageJson(take.threads, take.memory_mib, take.clients)},
                     {"overcommitted", it->second->overcommitted}};
            }
          }
        }
        pods.push_back(std::move(pod));
      }
      gpus.push_back(
          {{"index", gpu.capacity.index},
           {"capacity",
            usageJson(gpu.capacity.threads, gpu.capacity.memory_mib, gpu.capacity.clients)},
           {"reserved",
            usageJson(gpu.reserved.threads, gpu.reserved.memory_mib, gpu.reserved.clients)},
           {"free", usageJson(gpu.freeThreads(), gpu.freeMemoryMiB(), gpu.freeClients())},
           {"pods", std::move(pods)}});
    }
    nlohmann::json entry{{"name", node.name()},
                         {"gpuProduct", node.capacity.gpu_product},
                         {"gpus", std::move(gpus)}};
    if (node.capacity.cpu_milli != 0 || node.capacity.memory_mib != 0) {
      entry["host"] = {{"cpuMilli", node.capacity.cpu_milli},
                       {"memoryMiB", node.capacity.memory_mib},
                       {"reservedCpuMilli", node.reserved_cpu_milli},
                       {"reservedMemoryMiB", node.reserved_memory_mib}};
    }
    nodes.push_back(std::move(entry));
  }
  return {{"nodes", std::move(nodes)}, {"rejectedNodes", rejected}};
}

nlohmann::json distributionToJson(std::string_view policy,
                                  const std::optional<core::DistributionView>& view,
                                  const core::DistributionWindow& window) {
  if (!view) {
    return nullptr;
  }
  nlohmann::json shapes = nlohmann::json::array();
  const std::vector<core::PodType> types = view->podTypes();
  for (size_t i = 0; i < view->shapes.size() && i < types.size(); ++i) {
    const core::ShapeCount& s = view->shapes[i];
    shapes.push_back({{"gpus", s.shape.gpus},
                      {"gpuMilli", s.shape.gpu_milli},
                      {"gpuMemoryMiB", s.shape.gpu_memory_mib},
                      {"pods", s.pods},
                      {"weight", types[i].weight}});
    if (!s.shape.products.empty()) {
      shapes.back()["products"] = s.shape.products;  // fgd-plus: the GPU products it is bound to
    }
  }
  return {{"policy", policy},
          {"source", core::distributionSourceName(view->source)},
          {"podsInWindow", view->window_pods},
          {"windowPods", window.max_pods},
          {"windowSeconds", window.max_age.count()},
          {"minPods", window.min_pods},
          {"maxShapes", window.max_shapes},
          {"shapes", std::move(shapes)}};
}

ExtenderRoutes::ExtenderRoutes(ExtenderService& service, const Readiness& readiness)
    : service_(service), readiness_(readiness) {}

platform::HttpHandler ExtenderRoutes::handler() {
  return [this](const HttpRequest& request) { return handle(request); };
}

HttpResponse ExtenderRoutes::handle(const HttpRequest& request) {
  const std::string& prefix = service_.config().url_prefix;
  const std::string& path = request.path;
  const bool post = request.method == "POST";
  const bool get = request.method == "GET" || request.method == "HEAD";
  const auto verb = [&](const char* name) { return path == prefix + "/" + name; };
  const char* allowed = nullptr;
  std::string verb_name;
  if (verb("filter") || verb("prioritize") || verb("bind")) {
    verb_name = path.substr(prefix.size() + 1);
    allowed = "POST";
  } else if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/state") {
    allowed = "GET";
  } else {
    return errorResponse(404, "no route for " + path + " (extender verbs are under " +
                                  (prefix.empty() ? std::string("/") : prefix) + ")");
  }
  if ((std::string(allowed) == "POST" && !post) || (std::string(allowed) == "GET" && !get)) {
    return errorResponse(405, path + " accepts only " + allowed);
  }
  const auto started = std::chrono::steady_clock::now();
  RouteOutcome outcome = RouteOutcome::kOk;
  HttpResponse response;
  try {
    if (verb_name == "filter") {
      response = filter(request, outcome);
    } else if (verb_name == "prioritize") {
      response = prioritize(request, outcome);
    } else if (verb_name == "bind") {
      response = bind(request, outcome);
    } else if (path == "/healthz") {
      response = HttpResponse{200, "text/plain", "ok\n"};
    } else if (path == "/readyz") {
      response = readiness_.ready() ? HttpResponse{200, "text/plain", "ok\n"}
                                    : HttpResponse{503, "text/plain", readiness_.reason() + "\n"};
    } else if (path == "/metrics") {
      response = metrics();
    } else {
      response = state();
    }
  } catch (const std::exception& e) {
    // A bug, not bad input: the scheduler sees it in the Error field and retries.
    const std::string message = std::string("internal error: ") + e.what();
    outcome = RouteOutcome::kError;
    platform::logError("extender request failed", {{"path", path}, {"error", e.what()}});
    if (verb_name == "filter") {
      response = json(200, renderFilterError(message));
    } else if (verb_name == "bind") {
      response = json(200, renderBindingResult(message));
    } else {
      response = errorResponse(500, message);
    }
  }
  if (!verb_name.empty() && service_.metrics() != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    service_.metrics()->request(verb_name, std::string(routeOutcomeLabel(outcome)), seconds);
  }
  return response;
}

HttpResponse ExtenderRoutes::filter(const HttpRequest& request, RouteOutcome& outcome) {
  auto args = parseExtenderArgs(request.body);
  if (!args) {
    outcome = RouteOutcome::kBadRequest;
    return errorResponse(400, "malformed ExtenderArgs: " + args.error().describe());
  }
  const FilterOutcome filtered = service_.filterPod(*args);
  switch (filtered.status) {
    case FilterStatus::kEvaluated:
      break;
    case FilterStatus::kInvalidPod:
      outcome = RouteOutcome::kInvalidPod;
      break;
  }
  return json(200, renderFilterResult(filtered.result, *args));
}

HttpResponse ExtenderRoutes::prioritize(const HttpRequest& request, RouteOutcome& outcome) {
  auto args = parseExtenderArgs(request.body);
  if (!args) {
    outcome = RouteOutcome::kBadRequest;
    return errorResponse(400, "malformed ExtenderArgs: " + args.error().describe());
  }
  return json(200, renderHostPriorityList(service_.prioritize(*args)));
}

HttpResponse ExtenderRoutes::bind(const HttpRequest& request, RouteOutcome& outcome) {
  auto args = parseBindingArgs(request.body);
  if (!args) {
    outcome = RouteOutcome::kBadRequest;
    return errorResponse(400, "malformed ExtenderBindingArgs: " + args.error().describe());
  }
  BindOutcome result = service_.bindPod(*args);
  switch (result.status) {
    case BindStatus::kBound:
      break;
    case BindStatus::kInvalid:
      outcome = RouteOutcome::kInvalidPod;
      break;
    case BindStatus::kBinderError:
      outcome = RouteOutcome::kError;
      break;
    case BindStatus::kNoFit:
    case BindStatus::kUnknownPod:
    case BindStatus::kUnknownNode:
      outcome = RouteOutcome::kRefused;
      break;
  }
  return json(200, renderBindingResult(result.error));
}

HttpResponse ExtenderRoutes::state() {
  nlohmann::json body = stateToJson(service_.ledger().snapshot(), service_.rejectedNodes());
  body["podDistribution"] = distributionToJson(service_.config().policy, service_.podDistribution(),
                                               service_.config().pod_window);
  // The planner of the waiting pods (fgd-plus-batch); null for the other policies.
  body["plan"] = nullptr;
  if (const PendingPlanner* planner = service_.planner()) {
    const PlannerStats stats = planner->stats();
    body["plan"] = {{"pendingPods", stats.pending},
                    {"plannedPods", stats.planned},
                    {"batches", stats.batches},
                    {"lastBatchSeconds", stats.last_batch_seconds}};
  }
  return json(200, body.dump(2) + "\n");
}

HttpResponse ExtenderRoutes::metrics() {
  if (service_.metrics() == nullptr) {
    return errorResponse(404, "metrics are not enabled");
  }
  return HttpResponse{
      200, platform::kMetricsContentType,
      service_.metrics()->render(service_.ledger().snapshot(), service_.podDistribution())};
}

}  // namespace mpshare::extender
