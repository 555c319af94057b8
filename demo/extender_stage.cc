#include "demo/extender_stage.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>

#include "core/demand.h"
#include "core/equal_slices.h"
#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "platform/http_server.h"
#include "platform/kube_json.h"

namespace mpshare::demo {
namespace {

using nlohmann::json;

class Client {
 public:
  explicit Client(const std::string& base) : client_(base) {}

  json post(const std::string& path, const json& body) {
    web::http::http_request request(web::http::methods::POST);
    request.set_request_uri(path);
    request.set_body(body.dump(), "application/json");
    return check(path, client_.request(request).get());
  }

  json get(const std::string& path) {
    web::http::http_request request(web::http::methods::GET);
    request.set_request_uri(path);
    return check(path, client_.request(request).get());
  }

 private:
  static json check(const std::string& path, const web::http::http_response& response) {
    const std::string body = response.extract_utf8string(true).get();
    if (response.status_code() != 200) {
      throw std::runtime_error("extender " + path + " answered " +
                               std::to_string(response.status_code()) + ": " + body);
    }
    return json::parse(body);
  }

  web::http::client::http_client client_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The pod as kube-scheduler sends it: a fresh name and UID per copy.
json streamCopy(const json& pod, int round) {
  json copy = pod;
  const std::string name = pod["metadata"].value("name", "pod") + "-" + std::to_string(round);
  copy["metadata"]["name"] = name;
  copy["metadata"]["uid"] = "demo-" + name;
  if (!copy["metadata"].contains("namespace")) {
    copy["metadata"]["namespace"] = "default";
  }
  return copy;
}

struct Slices {
  int free = 0;
  core::EqualSlice slice;
};

// Device-plugin MPS mode (core/equal_slices.h) with `replicas` slices per GPU:
// a pod gets what it asked for only in a slice at least that large; first fit
// over the GPUs, in stream order.
int equalSlicePods(const core::LedgerSnapshot& snapshot, const std::vector<core::Demand>& stream) {
  std::vector<Slices> gpus;
  for (const core::NodeState& node : snapshot.nodes) {
    for (const core::GpuState& gpu : node.gpus) {
      const int replicas = gpu.capacity.clients;
      gpus.push_back({replicas, core::equalSliceOf(gpu.capacity.memory_mib, replicas)});
    }
  }
  int held = 0;
  for (const core::Demand& demand : stream) {
    for (Slices& gpu : gpus) {
      if (gpu.free > 0 && core::fitsEqualSlice(demand, gpu.slice)) {
        --gpu.free;
        ++held;
        break;
      }
    }
  }
  return held;
}

void printGpuTable(const json& state, std::ostream& out) {
  out << std::left << std::setw(10) << "NODE" << std::setw(5) << "GPU" << std::setw(31) << "PRODUCT"
      << std::setw(11) << "THREADS" << std::setw(18) << "MEMORY MiB" << std::setw(9) << "CLIENTS"
      << "PODS\n";
  for (const json& node : state["nodes"]) {
    for (const json& gpu : node["gpus"]) {
      const json& cap = gpu["capacity"];
      const json& used = gpu["reserved"];
      std::string pods;
      for (const json& pod : gpu["pods"]) {
        std::string name = pod.value("pod", pod.value("uid", ""));
        name = name.substr(name.find('/') + 1);
        pods += (pods.empty() ? "" : " ") + name;
      }
      out << std::setw(10) << node["name"].get<std::string>() << std::setw(5)
          << gpu["index"].get<int>() << std::setw(31) << node["gpuProduct"].get<std::string>()
          << std::setw(11)
          << (std::to_string(used["threadPercent"].get<int>()) + "/" +
              std::to_string(cap["threadPercent"].get<int>()) + "%")
          << std::setw(18)
          << (std::to_string(used["memoryMiB"].get<int64_t>()) + "/" +
              std::to_string(cap["memoryMiB"].get<int64_t>()))
          << std::setw(9)
          << (std::to_string(used["clients"].get<int>()) + "/" +
              std::to_string(cap["clients"].get<int>()))
          << pods << "\n";
    }
  }
}

}  // namespace

ExtenderStageResult runExtenderStage(const std::vector<AdmittedPod>& admitted,
                                     const std::string& nodes_file, int rounds, std::ostream& out) {
  auto nodes = extender::parseNodeList(readFile(nodes_file));
  if (!nodes) {
    throw std::runtime_error(nodes_file + ": " + nodes.error().describe());
  }
  std::vector<std::string> names;
  for (const core::NodeView& node : *nodes) {
    names.push_back(node.name);
  }
  extender::StaticNodeSource source(*nodes);
  auto created = extender::StandaloneExtender::create(extender::ExtenderConfig{}, &source);
  if (!created) {
    throw std::runtime_error(created.error().describe());
  }
  extender::StandaloneExtender& ext = **created;
  platform::ServerOptions options;  // 127.0.0.1, port 0, plain HTTP
  auto server = platform::startHttpServer(options, ext.routes().handler());
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  Client client(base);
  const std::string prefix = ext.service().config().url_prefix;

  out << "mpshare-extender on " << base << " (standalone, policy " << ext.service().config().policy
      << ", inventory " << nodes_file << ")\n";
  out << rounds << " copies of each admitted pod, in rounds; each goes through " << prefix
      << "/filter, /prioritize, /bind (NodeNames form)\n\n";
  out << std::left << std::setw(20) << "POD" << std::setw(10) << "NODE"
      << "DETAILS\n";

  ExtenderStageResult result;
  std::vector<core::Demand> stream;
  for (int round = 1; round <= rounds; ++round) {
    for (const AdmittedPod& example : admitted) {
      const json pod = streamCopy(example.pod, round);
      auto view = platform::podFromJson(pod);
      if (!view) {
        continue;
      }
      auto demand = core::demandOf(*view, ext.service().config().demand);
      if (!demand || !demand->has_value()) {
        continue;  // not a GPU pod: the scheduler would not call the extender
      }
      stream.push_back(**demand);
      ++result.pods;
      const std::string name = pod["metadata"]["name"];
      const json args{{"Pod", pod}, {"Nodes", nullptr}, {"NodeNames", names}};
      const json filtered = client.post(prefix + "/filter", args);
      const json& passed = filtered["NodeNames"];
      out << std::setw(20) << name;
      if (!filtered["Error"].get<std::string>().empty() || passed.empty()) {
        std::string reason = filtered["Error"];
        for (const auto* group :
             {&filtered["FailedNodes"], &filtered["FailedAndUnresolvableNodes"]}) {
          for (const auto& [node, why] : group->items()) {
            if (reason.empty() && node.rfind("gpu-", 0) == 0) {
              reason = why.get<std::string>();
            }
          }
        }
        out << std::setw(10) << "-"
            << "unschedulable: " << reason << "\n";
        continue;
      }
      const json scores = client.post(prefix + "/prioritize",
                                      {{"Pod", pod}, {"Nodes", nullptr}, {"NodeNames", passed}});
      std::string best = passed[0];
      int64_t best_score = -1;
      std::string listing;
      for (const json& score : scores) {
        listing += (listing.empty() ? "" : " ") + score["Host"].get<std::string>() + "=" +
                   std::to_string(score["Score"].get<int64_t>());
        if (score["Score"].get<int64_t>() > best_score) {
          best_score = score["Score"].get<int64_t>();
          best = score["Host"];
        }
      }
      const json bound =
          client.post(prefix + "/bind", {{"PodName", name},
                                         {"PodNamespace", pod["metadata"]["namespace"]},
                                         {"PodUID", pod["metadata"]["uid"]},
                                         {"Node", best}});
      if (!bound["Error"].get<std::string>().empty()) {
        out << std::setw(10) << best << "bind failed: " << bound["Error"].get<std::string>()
            << "\n";
        continue;
      }
      ++result.placed;
      if (auto reservation =
              ext.service().ledger().reservation(pod["metadata"]["uid"].get<std::string>())) {
        json placed = pod;
        placed["spec"]["nodeName"] = best;
        placed["metadata"]["annotations"]["mpshare.io/gpu-index"] =
            core::formatGpuIndices(reservation->gpu_indices);
        result.bound.push_back({std::move(placed), best, reservation->gpu_indices});
      }
      out << std::setw(10) << best << "scores " << listing << "\n";
    }
  }
  const json state = client.get("/state");
  out << "\n";
  printGpuTable(state, out);
  result.equal_slices = equalSlicePods(ext.service().ledger().snapshot(), stream);
  out << "\nmpshare placed " << result.placed << " of " << result.pods
      << " pods with the limits they asked for.\n"
      << "The device plugin's equal slices (replicas from the labels: 100/replicas % and "
         "memory/replicas MiB each) would give "
      << result.equal_slices << " of them their "
      << "asked limits; the rest would run with less, or not at all.\n";
  server->stop();
  return result;
}

}  // namespace mpshare::demo
