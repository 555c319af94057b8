#include "extender/simulate/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace mpshare::extender {
namespace {

nlohmann::json pointJson(const SamplePoint& p) {
  return {{"arrived_share", p.arrived_share},
          {"arrived_pods", p.arrived_pods},
          {"arrived_gpus", p.arrived_gpus},
          {"allocated_gpus", p.allocated_gpus},
          {"allocated_share", p.allocated_share},
          {"unallocated_gpus", p.unallocated_gpus},
          {"failed_pods", p.failed_pods},
          {"failed_gpus", p.failed_gpus},
          {"failed_by_ask",
           {{"sharing", p.failed_sharing_pods},
            {"whole_gpu", p.failed_whole_gpu_pods},
            {"multi_gpu", p.failed_multi_gpu_pods},
            {"host_only", p.failed_host_only_pods}}},
          {"fragmented_gpus", p.fragmented_gpus}};
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string pointText(const char* label, const SamplePoint& p, int gpus) {
  return std::string(label) + ": arrivals " + fixed(100 * p.arrived_share, 1) + " % of GPUs (" +
         std::to_string(p.arrived_pods) + " pods), allocated " + fixed(p.allocated_gpus, 1) +
         " of " + std::to_string(gpus) + " GPUs (" + fixed(100 * p.allocated_share, 2) +
         " %), unallocated " + fixed(p.unallocated_gpus, 1) + ", failed pods " +
         std::to_string(p.failed_pods) + " (" + fixed(p.failed_gpus, 1) +
         " GPUs: " + std::to_string(p.failed_sharing_pods) + " sharing, " +
         std::to_string(p.failed_whole_gpu_pods) + " whole-GPU, " +
         std::to_string(p.failed_multi_gpu_pods) + " multi-GPU, " +
         std::to_string(p.failed_host_only_pods) + " host-only), fragmentation " +
         fixed(p.fragmented_gpus, 1) + " GPUs\n";
}

}  // namespace

core::Result<ReportFormat> parseReportFormat(std::string_view name) {
  if (name == "text") return ReportFormat::kText;
  if (name == "json") return ReportFormat::kJson;
  if (name == "csv") return ReportFormat::kCsv;
  return core::invalidArgument(
      "--format", "\"" + std::string(name) + "\" is not a format; known: text, json, csv");
}

std::string formatReport(const SimulationResult& r, ReportFormat format) {
  switch (format) {
    case ReportFormat::kJson: {
      nlohmann::json series = nlohmann::json::array();
      for (const SamplePoint& p : r.series) {
        series.push_back(pointJson(p));
      }
      nlohmann::json out = {{"policy", r.policy},
                            {"seed", r.seed},
                            {"nodes", r.nodes},
                            {"gpus", r.gpus},
                            {"seconds", r.seconds},
                            {"at_capacity", pointJson(r.at_capacity)},
                            {"final", pointJson(r.final_point)},
                            {"series", series}};
      return out.dump(2) + "\n";
    }
    case ReportFormat::kCsv: {
      std::string out =
          "policy,seed,arrived_share,arrived_pods,allocated_gpus,allocated_share,"
          "unallocated_gpus,failed_pods,failed_gpus,fragmented_gpus\n";
      for (const SamplePoint& p : r.series) {
        out += r.policy + "," + std::to_string(r.seed) + "," + fixed(p.arrived_share, 4) + "," +
               std::to_string(p.arrived_pods) + "," + fixed(p.allocated_gpus, 2) + "," +
               fixed(p.allocated_share, 4) + "," + fixed(p.unallocated_gpus, 2) + "," +
               std::to_string(p.failed_pods) + "," + fixed(p.failed_gpus, 2) + "," +
               fixed(p.fragmented_gpus, 2) + "\n";
      }
      return out;
    }
    case ReportFormat::kText:
      break;
  }
  return "policy " + r.policy + ", seed " + std::to_string(r.seed) + ", " +
         std::to_string(r.nodes) + " nodes, " + std::to_string(r.gpus) + " GPUs, " +
         fixed(r.seconds, 2) + " s\n" + pointText("at 100 % arrivals", r.at_capacity, r.gpus) +
         pointText("at the end", r.final_point, r.gpus);
}

}  // namespace mpshare::extender
