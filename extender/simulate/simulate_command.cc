#include "extender/simulate/simulate_command.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "extender/simulate/report.h"
#include "extender/simulate/simulator.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {
namespace {

constexpr const char* kUsage =
    "usage: mpshare-extender simulate --nodes FILE --pods FILE [--policy NAME] [--seed N]\n"
    "           [--inflate] [--target RATIO] [--format text|json|csv] [--output FILE] "
    "[--progress]\n"
    "  FILE: the trace's CSV, or a kubectl YAML/JSON list of Nodes / Pods\n"
    "  NAME: fgd (default), fgd-plus, fgd-plus-batch, binpack, spread, equal-slices N\n"
    "  --inflate: keep sampling pods until arrivals reach RATIO x GPU capacity (default 1.3)\n"
    "  Flags take --flag VALUE or --flag=VALUE.\n";

struct Args {
  std::string nodes;
  std::string pods;
  std::string format = "text";
  std::string output;
  bool progress = false;
  SimulationOptions options;
};

template <typename T>
bool parseNumber(std::string_view text, T* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Sets options.policy/slices from "equal-slices N" / "equal-slices=N" / a name.
bool setPolicy(std::string_view name, Args* args) {
  for (std::string_view prefix : {"equal-slices ", "equal-slices=", "equal-slices:"}) {
    if (name.starts_with(prefix)) {
      args->options.policy = "equal-slices";
      return parseNumber(name.substr(prefix.size()), &args->options.slices);
    }
  }
  args->options.policy = std::string(name);
  return true;
}

std::optional<std::string> parseArgs(int argc, char** argv, Args* args) {
  std::vector<std::string_view> list(argv + 2, argv + argc);
  for (const std::string_view arg : list) {
    if (arg == "--help" || arg == "-h") return std::string();  // whatever else is there
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string_view flag = list[i];
    // --flag=VALUE is --flag VALUE.
    std::optional<std::string_view> inline_value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      inline_value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    auto value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return std::exchange(inline_value, std::nullopt);
      if (i + 1 >= list.size()) return std::nullopt;
      return list[++i];
    };
    if (inline_value && (flag == "--inflate" || flag == "--progress")) {
      return std::string(flag) + ": takes no value, got \"" + std::string(*inline_value) + "\"";
    }
    if (flag == "--inflate") {
      args->options.inflate = true;
    } else if (flag == "--progress") {
      args->progress = true;
    } else if (flag == "--nodes" || flag == "--pods" || flag == "--policy" || flag == "--seed" ||
               flag == "--format" || flag == "--output" || flag == "--target") {
      const auto v = value();
      if (!v) return std::string(flag) + ": needs a value";
      if (flag == "--nodes") args->nodes = std::string(*v);
      if (flag == "--pods") args->pods = std::string(*v);
      if (flag == "--format") args->format = std::string(*v);
      if (flag == "--output") args->output = std::string(*v);
      if (flag == "--seed" && !parseNumber(*v, &args->options.seed)) {
        return "--seed: \"" + std::string(*v) + "\" is not a whole number >= 0";
      }
      if (flag == "--target" && (!parseNumber(*v, &args->options.target) ||
                                 !(args->options.target > 0.0 && args->options.target <= 10.0))) {
        return "--target: \"" + std::string(*v) + "\" is not a ratio in (0, 10]";
      }
      if (flag == "--policy") {
        bool ok = setPolicy(*v, args);
        // "--policy equal-slices 4": N as the next argument.
        if (*v == "equal-slices") {
          const auto n = value();
          ok = n && parseNumber(*n, &args->options.slices);
        }
        if (!ok) {
          return "--policy: equal-slices needs a slice count N in 1..48, e.g. \"equal-slices 4\"";
        }
      }
    } else {
      return "unknown argument \"" + std::string(flag) + "\"";
    }
  }
  if (args->nodes.empty() || args->pods.empty()) {
    return std::string("--nodes and --pods are required");
  }
  return std::nullopt;
}

void drawBar(double fraction) {
  constexpr int kWidth = 40;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r[%s] %3d%%", bar.c_str(), static_cast<int>(fraction * 100));
  std::fflush(stderr);
}

}  // namespace

int runSimulateCommand(int argc, char** argv) {
  Args args;
  if (const auto problem = parseArgs(argc, argv, &args)) {
    if (problem->empty()) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "mpshare-extender simulate: " << *problem << "\n" << kUsage;
    return 2;
  }
  const auto format = parseReportFormat(args.format);
  if (!format) {
    std::cerr << "mpshare-extender simulate: " << format.error().describe() << "\n";
    return 2;
  }
  const auto nodes = loadNodes(args.nodes);
  if (!nodes) {
    std::cerr << "mpshare-extender simulate: " << nodes.error().describe() << "\n";
    return 2;
  }
  const auto pods = loadPods(args.pods);
  if (!pods) {
    std::cerr << "mpshare-extender simulate: " << pods.error().describe() << "\n";
    return 2;
  }
  const bool bar = args.progress || isatty(STDERR_FILENO) == 1;
  if (bar) {
    args.options.progress = drawBar;
  }
  const auto result = simulate(*nodes, *pods, args.options);
  if (bar) {
    std::fprintf(stderr, "\n");
  }
  if (!result) {
    std::cerr << "mpshare-extender simulate: " << result.error().describe() << "\n";
    return result.error().code == core::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  const std::string report = formatReport(*result, *format);
  if (args.output.empty()) {
    std::cout << report;
    return 0;
  }
  std::ofstream out(args.output);
  out << report;
  if (!out) {
    std::cerr << "simulate: --output: cannot write " << args.output << "\n";
    return 1;
  }
  return 0;
}

}  // namespace mpshare::extender
