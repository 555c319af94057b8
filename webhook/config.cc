#include "webhook/config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "platform/config_keys.h"

namespace mpshare::webhook {
namespace {

using core::invalidArgument;
using platform::onlyKnownKeys;
using platform::quantityBytes;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string scalarText(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : std::string("a non-scalar value");
}

core::Result<bool> boolean(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return invalidArgument(path, "must be true or false, got " + quoted(scalarText(node)));
}

// A DNS-1123 label: what Kubernetes accepts as a volume name.
bool validVolumeName(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

core::Status parseDaemonAccess(const YAML::Node& node, core::DaemonAccess* out) {
  const std::string path = "webhook.daemonAccess";
  if (auto s = onlyKnownKeys(node, path, {"inject", "pipe", "pipeDirectory", "volumeName"}); !s) {
    return s;
  }
  if (node["inject"]) {
    auto b = boolean(node["inject"], path + ".inject");
    if (!b) return b.error();
    out->inject = *b;
  }
  if (node["pipe"]) {
    auto b = boolean(node["pipe"], path + ".pipe");
    if (!b) return b.error();
    // Asking for the pipe while injecting nothing would silently give no pipe.
    if (*b && !out->inject) {
      return invalidArgument(path + ".pipe",
                             "must be false or absent when " + path +
                                 ".inject is false (nothing is injected), got true");
    }
    out->pipe = *b;
  }
  if (const auto dir = node["pipeDirectory"]) {
    if (!dir.IsScalar() || dir.Scalar().empty() || dir.Scalar().front() != '/') {
      return invalidArgument(path + ".pipeDirectory",
                             "must be an absolute host path, got " + quoted(scalarText(dir)));
    }
    out->pipe_directory = dir.Scalar();
  }
  if (const auto name = node["volumeName"]) {
    if (!name.IsScalar() || !validVolumeName(name.Scalar())) {
      return invalidArgument(
          path + ".volumeName",
          "must be a DNS-1123 label (a-z, 0-9, '-', at most 63), got " + quoted(scalarText(name)));
    }
    out->volume_name = name.Scalar();
  }
  return {};
}

core::Status parseWebhook(const YAML::Node& node, Config* config) {
  const std::string path = "webhook";
  if (auto s = onlyKnownKeys(node, path,
                             {"gpuResourceNames", "minMemoryLimit", "defaultThreadPercentage",
                              "defaultMemoryLimit", "maxRequestBytes", "daemonAccess"});
      !s) {
    return s;
  }
  core::WebhookRules& rules = config->rules;
  // The keys the extender reads too, through the same reader (platform/config_keys.h).
  platform::PodLimitKeys keys{rules.resources, rules.min_memory_limit_mib,
                              rules.default_thread_percentage, rules.default_memory_limit_mib};
  if (auto s = platform::readPodLimitKeys(node, path, &keys); !s) return s;
  rules.resources = std::move(keys.resources);
  rules.min_memory_limit_mib = keys.min_memory_limit_mib;
  rules.default_thread_percentage = keys.default_thread_percentage;
  rules.default_memory_limit_mib = keys.default_memory_limit_mib;
  if (const auto max = node["maxRequestBytes"]) {
    auto bytes = quantityBytes(max, path + ".maxRequestBytes", 4096, "4Ki");
    if (!bytes) return bytes.error();
    if (*bytes > (int64_t{64} << 20)) {
      return invalidArgument(path + ".maxRequestBytes",
                             "must be at most 64Mi, got " + quoted(max.Scalar()));
    }
    config->max_request_bytes = static_cast<size_t>(*bytes);
  }
  if (const auto daemon = node["daemonAccess"]) {
    if (auto s = parseDaemonAccess(daemon, &rules.daemon); !s) return s;
  }
  return {};
}

}  // namespace

core::Result<Config> parseConfig(std::istream& in) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    return invalidArgument("config", std::string("is not valid YAML: ") + e.what());
  }
  if (root.IsNull()) return config;
  try {
    if (auto s = onlyKnownKeys(root, "config", {"webhook"}); !s) return s.error();
    if (const auto webhook = root["webhook"]; webhook && !webhook.IsNull()) {
      if (auto s = parseWebhook(webhook, &config); !s) return s.error();
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument("config", std::string("unexpected structure: ") + e.what());
  }
  return config;
}

}  // namespace mpshare::webhook
