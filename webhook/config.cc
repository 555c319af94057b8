#include "webhook/config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "core/annotations.h"
#include "core/quantity.h"

namespace mpshare::webhook {
namespace {

using core::invalidArgument;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string scalarText(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : std::string("a non-scalar value");
}

// Rejects keys of `node` outside `known`, naming the key and the keys allowed.
core::Status onlyKnownKeys(const YAML::Node& node, const std::string& path,
                           const std::set<std::string>& known) {
  if (!node.IsMap()) return invalidArgument(path, "must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (known.count(key) == 0) {
      std::string allowed;
      for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
      return invalidArgument(path + "." + key, "unknown key (allowed: " + allowed + ")");
    }
  }
  return {};
}

core::Result<int64_t> quantityBytes(const YAML::Node& node, const std::string& path,
                                    int64_t min_bytes, const std::string& min_text) {
  const std::string allowed = "must be a quantity >= " + min_text;
  if (!node.IsScalar()) return invalidArgument(path, allowed + ", got " + scalarText(node));
  auto q = core::parseQuantity(node.Scalar());
  if (!q || q->isNegative()) {
    return invalidArgument(path, allowed + ", got " + quoted(node.Scalar()));
  }
  auto bytes = q->floorDiv(1);
  if (!bytes || *bytes < min_bytes) {
    return invalidArgument(path, allowed + ", got " + quoted(node.Scalar()));
  }
  return *bytes;
}

core::Result<bool> boolean(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return invalidArgument(path, "must be true or false, got " + quoted(scalarText(node)));
}

// Kubernetes extended-resource names look like "<domain>/<name>".
bool validResourceName(const std::string& name) {
  const auto slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name.size()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '/';
    if (!ok) return false;
  }
  return name.find('/', slash + 1) == std::string::npos;
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
      return invalidArgument(path + ".volumeName",
                             "must be a DNS-1123 label (a-z, 0-9, '-', at most 63), got " +
                                 quoted(scalarText(name)));
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
  if (const auto names = node["gpuResourceNames"]) {
    const std::string p = path + ".gpuResourceNames";
    if (!names.IsSequence() || names.size() == 0) {
      return invalidArgument(p, "must be a non-empty list of resource names like nvidia.com/gpu");
    }
    rules.resources.names.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      const auto n = names[i];
      if (!n.IsScalar() || !validResourceName(n.Scalar())) {
        return invalidArgument(p + "[" + std::to_string(i) + "]",
                               "must be a resource name like nvidia.com/gpu, got " +
                                   quoted(scalarText(n)));
      }
      rules.resources.names.push_back(n.Scalar());
    }
  }
  if (const auto min = node["minMemoryLimit"]) {
    auto bytes = quantityBytes(min, path + ".minMemoryLimit", core::kMiB, "1Mi");
    if (!bytes) return bytes.error();
    rules.min_memory_limit_mib = *bytes / core::kMiB;
  }
  if (const auto pct = node["defaultThreadPercentage"]) {
    auto value = core::parseThreadPercentage(scalarText(pct));
    if (!value) {
      return invalidArgument(path + ".defaultThreadPercentage",
                             "must be an integer 1-100, got " + quoted(scalarText(pct)));
    }
    rules.default_thread_percentage = *value;
  }
  if (const auto mem = node["defaultMemoryLimit"]) {
    const std::string min_text = std::to_string(rules.min_memory_limit_mib) + "Mi";
    auto bytes = quantityBytes(mem, path + ".defaultMemoryLimit",
                               rules.min_memory_limit_mib * core::kMiB,
                               min_text + " (webhook.minMemoryLimit)");
    if (!bytes) return bytes.error();
    rules.default_memory_limit_mib = *bytes / core::kMiB;
  }
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
