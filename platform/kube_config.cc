#include "platform/kube_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "platform/base64.h"

namespace mpshare::platform {
namespace {

using core::Error;
using core::invalidArgument;
using core::Result;

Result<std::string> readFile(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument(field, "cannot read file \"" + path + "\"");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// kubeconfig *-data fields are standard base64 of the PEM bytes, which YAML
// may fold over several lines.
Result<std::string> decodeBase64(const std::string& text, const std::string& field) {
  std::string compact;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') compact.push_back(c);
  }
  if (compact.empty()) return invalidArgument(field, "is empty; expected base64 of PEM data");
  auto decoded = base64Decode(compact);
  if (!decoded) return invalidArgument(field, decoded.error().message);
  return decoded;
}

std::string resolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

// `data` (base64) wins over `file`, as in kubectl.
Result<std::string> pemFrom(const YAML::Node& section, const std::string& prefix,
                            const std::string& key, const std::string& base_dir) {
  const std::string data_key = key + "-data";
  if (section[data_key] && !section[data_key].as<std::string>().empty()) {
    return decodeBase64(section[data_key].as<std::string>(), prefix + "." + data_key);
  }
  if (section[key] && !section[key].as<std::string>().empty()) {
    return readFile(resolvePath(section[key].as<std::string>(), base_dir), prefix + "." + key);
  }
  return std::string();
}

// The entry of a named list (clusters, users, contexts) whose name is `name`.
Result<YAML::Node> findNamed(const YAML::Node& root, const std::string& list,
                             const std::string& name, const std::string& inner) {
  const YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const auto& entry : entries) {
      if (entry["name"] && entry["name"].as<std::string>() == name && entry[inner])
        return entry[inner];
    }
  }
  return invalidArgument(list, "no entry named \"" + name + "\" with a \"" + inner + "\" section");
}

}  // namespace

Result<ServerAddress> parseServerUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return invalidArgument("server", "\"" + url + "\" must start with https://");
  }
  std::string rest = url.substr(kScheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  ServerAddress address;
  std::string port_text;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string::npos)
      return invalidArgument("server", "\"" + url + "\" has an unclosed [");
    address.host = rest.substr(1, close - 1);
    const std::string tail = rest.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':')
        return invalidArgument("server", "\"" + url + "\": expected :port after ]");
      port_text = tail.substr(1);
    }
  } else {
    const auto colon = rest.find(':');
    address.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (address.host.empty()) return invalidArgument("server", "\"" + url + "\" has no host");
  if (!port_text.empty()) {
    char* end = nullptr;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
      return invalidArgument("server", "\"" + url + "\": port must be 1..65535");
    }
    address.port = static_cast<int>(port);
  }
  return address;
}

Result<KubeConfig> inClusterConfig(const std::map<std::string, std::string>& env,
                                   const std::string& secrets_dir) {
  const auto host = env.find("KUBERNETES_SERVICE_HOST");
  const auto port = env.find("KUBERNETES_SERVICE_PORT");
  if (host == env.end() || host->second.empty() || port == env.end() || port->second.empty()) {
    return invalidArgument("KUBERNETES_SERVICE_HOST",
                           "not running in a cluster (KUBERNETES_SERVICE_HOST and "
                           "KUBERNETES_SERVICE_PORT must be set); pass --kubeconfig FILE instead");
  }
  const bool ipv6 = host->second.find(':') != std::string::npos;
  auto server = parseServerUrl("https://" + (ipv6 ? "[" + host->second + "]" : host->second) + ":" +
                               port->second);
  if (!server) return invalidArgument("KUBERNETES_SERVICE_PORT", server.error().message);
  KubeConfig config;
  config.server = *server;
  config.token_file = secrets_dir + "/token";
  auto ca = readFile(secrets_dir + "/ca.crt", "ca.crt");
  if (!ca) return ca.error();
  config.ca_pem = std::move(*ca);
  // The token must exist now; it is re-read later as it rotates.
  if (auto token = readFile(config.token_file, "token"); !token) return token.error();
  if (auto ns = readFile(secrets_dir + "/namespace", "namespace"))
    config.namespace_name = trim(*ns);
  return config;
}

Result<KubeConfig> parseKubeconfig(const std::string& yaml_text, const std::string& base_dir,
                                   const std::string& context) {
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) return invalidArgument("kubeconfig", "expected a YAML mapping");
    std::string context_name = context;
    if (context_name.empty()) {
      if (!root["current-context"] || root["current-context"].as<std::string>().empty()) {
        return invalidArgument("current-context", "is empty; set it or pass a context name");
      }
      context_name = root["current-context"].as<std::string>();
    }
    auto ctx = findNamed(root, "contexts", context_name, "context");
    if (!ctx) return ctx.error();
    if (!(*ctx)["cluster"])
      return invalidArgument("contexts[" + context_name + "].cluster", "is missing");
    const std::string cluster_name = (*ctx)["cluster"].as<std::string>();
    auto cluster = findNamed(root, "clusters", cluster_name, "cluster");
    if (!cluster) return cluster.error();
    const std::string cprefix = "clusters[" + cluster_name + "].cluster";
    if (!(*cluster)["server"]) return invalidArgument(cprefix + ".server", "is missing");
    auto server = parseServerUrl((*cluster)["server"].as<std::string>());
    if (!server) return invalidArgument(cprefix + ".server", server.error().message);

    KubeConfig config;
    config.server = *server;
    config.insecure_skip_tls_verify =
        (*cluster)["insecure-skip-tls-verify"] && (*cluster)["insecure-skip-tls-verify"].as<bool>();
    auto ca = pemFrom(*cluster, cprefix, "certificate-authority", base_dir);
    if (!ca) return ca.error();
    config.ca_pem = std::move(*ca);
    if ((*ctx)["namespace"]) config.namespace_name = (*ctx)["namespace"].as<std::string>();

    if ((*ctx)["user"]) {
      const std::string user_name = (*ctx)["user"].as<std::string>();
      auto user = findNamed(root, "users", user_name, "user");
      if (!user) return user.error();
      const std::string uprefix = "users[" + user_name + "].user";
      if ((*user)["token"]) config.token = (*user)["token"].as<std::string>();
      if ((*user)["tokenFile"]) {
        config.token_file = resolvePath((*user)["tokenFile"].as<std::string>(), base_dir);
      }
      auto cert = pemFrom(*user, uprefix, "client-certificate", base_dir);
      if (!cert) return cert.error();
      auto key = pemFrom(*user, uprefix, "client-key", base_dir);
      if (!key) return key.error();
      if (cert->empty() != key->empty()) {
        return invalidArgument(uprefix, "client-certificate and client-key must be given together");
      }
      config.client_cert_pem = std::move(*cert);
      config.client_key_pem = std::move(*key);
      if ((*user)["exec"] || (*user)["auth-provider"]) {
        return invalidArgument(uprefix + ".exec",
                               "exec and auth-provider plugins are not supported; "
                               "use token, tokenFile or a client certificate");
      }
    }
    return config;
  } catch (const YAML::Exception& e) {
    return invalidArgument("kubeconfig", std::string("invalid YAML: ") + e.what());
  }
}

Result<KubeConfig> loadKubeconfig(const std::string& path) {
  auto text = readFile(path, "kubeconfig");
  if (!text) return text.error();
  auto config = parseKubeconfig(*text, std::filesystem::path(path).parent_path().string());
  if (!config) {
    Error error = config.error();
    error.message += " (in " + path + ")";
    return error;
  }
  return config;
}

Result<KubeConfig> resolveKubeConfig(const std::string& kubeconfig_flag) {
  if (!kubeconfig_flag.empty()) return loadKubeconfig(kubeconfig_flag);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first = env;
    // KUBECONFIG may list several files; the first one that exists is used.
    std::stringstream list(first);
    for (std::string item; std::getline(list, item, ':');) {
      if (std::filesystem::exists(item)) return loadKubeconfig(item);
    }
    return invalidArgument("KUBECONFIG", "none of the files in \"" + first + "\" exists");
  }
  std::map<std::string, std::string> env;
  for (const char* name : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  return inClusterConfig(env, kServiceAccountDir);
}

TokenSource::TokenSource(const KubeConfig& config)
    : token_(config.token), file_(config.token_file) {}

std::string TokenSource::token() {
  std::lock_guard lock(mutex_);
  if (file_.empty()) return token_;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(file_, ec);
  if (stale_ || (!ec && mtime != mtime_)) {
    if (auto text = readFile(file_, "tokenFile")) {
      token_ = trim(*text);
      mtime_ = ec ? mtime_ : mtime;
      stale_ = false;
    }
  }
  return token_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  stale_ = true;
}

}  // namespace mpshare::platform
