#include "node/serve_options.h"

#include <charconv>
#include <functional>
#include <map>

namespace mpshare::node {
namespace {

using core::invalidArgument;

// Each flag's name and how its value is stored.
using Setter = std::function<core::Status(const std::string& value)>;

core::Status parseFlags(const std::vector<std::string>& args,
                        const std::map<std::string, Setter>& flags, const std::string& command) {
  std::string known;
  for (const auto& [name, setter] : flags) known += (known.empty() ? "" : ", ") + name;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool inline_value = false;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    auto it = flags.find(flag);
    if (it == flags.end()) {
      return invalidArgument(flag, "unknown flag (" + command + " takes " + known + ")");
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return invalidArgument(flag, "needs a value");
      value = args[++i];
    }
    if (auto set = it->second(value); !set) return set;
  }
  return {};
}

Setter text(const std::string& flag, std::string& out) {
  return [flag, &out](const std::string& value) -> core::Status {
    if (value.empty()) return invalidArgument(flag, "must not be empty");
    out = value;
    return {};
  };
}

Setter integer(const std::string& flag, int& out, int min, int max) {
  return [flag, &out, min, max](const std::string& value) -> core::Status {
    int parsed = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (ec != std::errc() || end != value.data() + value.size() || parsed < min || parsed > max) {
      return invalidArgument(flag, "must be a whole number " + std::to_string(min) + "-" +
                                       std::to_string(max) + ", got \"" + value + "\"");
    }
    out = parsed;
    return {};
  };
}

}  // namespace

core::Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& flag,
                                                                  const std::string& text) {
  const auto colon = text.rfind(':');
  const std::string allowed = "expected ADDR:PORT such as 0.0.0.0:9400, got \"" + text + "\"";
  if (colon == std::string::npos) return invalidArgument(flag, allowed);
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const std::string port_text = text.substr(colon + 1);
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return invalidArgument(flag, allowed);
  }
  return std::pair<std::string, uint16_t>{host.empty() ? "0.0.0.0" : host,
                                          static_cast<uint16_t>(port)};
}

core::Result<ServeOptions> parseServeOptions(const std::vector<std::string>& args) {
  ServeOptions o;
  const std::map<std::string, Setter> flags{
      {"--node-name", text("--node-name", o.node_name)},
      {"--kubeconfig", text("--kubeconfig", o.kubeconfig)},
      {"--device-plugin-dir", text("--device-plugin-dir", o.device_plugin_dir)},
      {"--pod-resources-socket", text("--pod-resources-socket", o.pod_resources_socket)},
      {"--cdi-dir", text("--cdi-dir", o.cdi_dir)},
      {"--nvidia-cdi-spec", text("--nvidia-cdi-spec", o.nvidia_cdi_spec)},
      {"--mps-root", text("--mps-root", o.mps_root)},
      {"--inventory", text("--inventory", o.inventory_file)},
      {"--resource-name", text("--resource-name", o.resource_name)},
      {"--clients-per-gpu", integer("--clients-per-gpu", o.clients_per_gpu, 1, 48)},
      {"--metrics-listen", text("--metrics-listen", o.metrics_listen)},
      {"--mps-control", text("--mps-control", o.mps_control)},
      {"--reconcile-seconds", integer("--reconcile-seconds", o.reconcile_seconds, 1, 3600)},
      {"--usage-seconds", integer("--usage-seconds", o.usage_seconds, 0, 3600)},
      {"--processes-file", text("--processes-file", o.processes_file)},
      {"--proc-root", text("--proc-root", o.proc_root)},
  };
  if (auto parsed = parseFlags(args, flags, "serve"); !parsed) return parsed.error();
  if (o.node_name.empty()) {
    return invalidArgument("--node-name",
                           "is required (the Node this agent runs on; in the DaemonSet, "
                           "spec.nodeName through the downward API)");
  }
  if (auto listen = parseListenAddress("--metrics-listen", o.metrics_listen); !listen)
    return listen.error();
  // A resource name the kubelet accepts: an extended resource, "domain/name".
  if (o.resource_name.find('/') == std::string::npos ||
      o.resource_name.rfind("kubernetes.io/", 0) == 0) {
    return invalidArgument(
        "--resource-name",
        "must be an extended resource name such as nvidia.com/gpu.shared, got \"" +
            o.resource_name + "\"");
  }
  return o;
}

core::Result<InventoryOptions> parseInventoryOptions(const std::vector<std::string>& args) {
  InventoryOptions o;
  const std::map<std::string, Setter> flags{
      {"--inventory", text("--inventory", o.inventory_file)},
      {"--format", text("--format", o.format)},
  };
  if (auto parsed = parseFlags(args, flags, "inventory"); !parsed) return parsed.error();
  if (o.format != "text" && o.format != "json") {
    return invalidArgument("--format", "must be text or json, got \"" + o.format + "\"");
  }
  return o;
}

core::Result<UsageOptions> parseUsageOptions(const std::vector<std::string>& args) {
  UsageOptions o;
  const std::map<std::string, Setter> flags{
      {"--inventory", text("--inventory", o.inventory_file)},
      {"--processes-file", text("--processes-file", o.processes_file)},
      {"--proc-root", text("--proc-root", o.proc_root)},
      {"--pods-file", text("--pods-file", o.pods_file)},
      {"--node-name", text("--node-name", o.node_name)},
      {"--kubeconfig", text("--kubeconfig", o.kubeconfig)},
      {"--format", text("--format", o.format)},
  };
  if (auto parsed = parseFlags(args, flags, "usage"); !parsed) return parsed.error();
  if (o.format != "text" && o.format != "json") {
    return invalidArgument("--format", "must be text or json, got \"" + o.format + "\"");
  }
  if (o.pods_file.empty() == o.node_name.empty()) {
    return invalidArgument("--pods-file",
                           "give either --pods-file FILE (kubectl get pods -o json) or "
                           "--node-name NAME (the pods from the API server), not both or neither");
  }
  return o;
}

}  // namespace mpshare::node
