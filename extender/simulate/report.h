#pragma once

// Output of `mpshare-extender simulate`: a human summary, or the whole series as
// JSON or CSV for scripts and plots.

#include <string>
#include <string_view>

#include "core/result.h"
#include "extender/simulate/simulator.h"

namespace mpshare::extender {

enum class ReportFormat { kText, kJson, kCsv };

// "text", "json" or "csv"; anything else is an error listing those.
core::Result<ReportFormat> parseReportFormat(std::string_view name);

// Text: summary lines at 100 % arrivals and at the end. JSON: {"policy", "seed",
// "nodes", "gpus", "seconds", "at_capacity": {...}, "final": {...}, "series": [...]}.
// CSV: header + one row per sample: policy,seed,arrived_share,arrived_pods,
// allocated_gpus,allocated_share,unallocated_gpus,failed_pods,failed_gpus,fragmented_gpus.
std::string formatReport(const SimulationResult& result, ReportFormat format);

}  // namespace mpshare::extender
