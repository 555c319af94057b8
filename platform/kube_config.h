#pragma once

// Where the Kubernetes API server is and how to authenticate to it, found the
// way every Kubernetes tool finds it: in-cluster (service-account files) or a
// kubeconfig file. Errors name the field or file that was wrong.

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/result.h"

namespace mpshare::platform {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// The API server's address, split for the socket and for TLS name checks.
struct ServerAddress {
  std::string host;  // without IPv6 brackets, e.g. "10.96.0.1", "::1", "api.example"
  int port = 443;

  bool operator==(const ServerAddress&) const = default;
};

struct KubeConfig {
  ServerAddress server;
  std::string ca_pem;  // PEM bundle to trust; empty = the system store
  bool insecure_skip_tls_verify = false;
  std::string token;            // static bearer token
  std::string token_file;       // re-read when it changes (projected tokens rotate)
  std::string client_cert_pem;  // mutual TLS instead of (or beside) a token
  std::string client_key_pem;
  std::string namespace_name;  // in-cluster: the pod's namespace
};

// "https://host[:port]" -> {host, port}; IPv6 hosts in brackets, port default 443.
// Example: parseServerUrl("https://[fd00::1]:6443") -> {"fd00::1", 6443}.
core::Result<ServerAddress> parseServerUrl(const std::string& url);

// In-cluster config: KUBERNETES_SERVICE_HOST/PORT from `env` plus token, ca.crt
// and namespace under `secrets_dir`. Example:
//   inClusterConfig({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
//                    {"KUBERNETES_SERVICE_PORT", "443"}}, kServiceAccountDir)
core::Result<KubeConfig> inClusterConfig(const std::map<std::string, std::string>& env,
                                         const std::string& secrets_dir);

// Parses kubeconfig YAML. Relative file paths resolve against `base_dir` (the
// kubeconfig's directory, as kubectl does). Uses current-context unless
// `context` is given.
core::Result<KubeConfig> parseKubeconfig(const std::string& yaml_text, const std::string& base_dir,
                                         const std::string& context = "");

// Reads and parses the kubeconfig at `path`.
core::Result<KubeConfig> loadKubeconfig(const std::string& path);

// --kubeconfig FILE if given, else $KUBECONFIG, else in-cluster from the real
// environment and kServiceAccountDir.
core::Result<KubeConfig> resolveKubeConfig(const std::string& kubeconfig_flag);

// The bearer token to send. A token file is re-read when its modification time
// changes and after invalidate() (called on a 401), so a rotated projected token
// is picked up without a restart. Thread-safe.
class TokenSource {
 public:
  explicit TokenSource(const KubeConfig& config);
  // "" when neither a token nor a token file is configured.
  std::string token();
  // Forces the next token() to read the file again.
  void invalidate();

 private:
  std::mutex mutex_;
  std::string token_;
  std::string file_;
  std::chrono::file_clock::time_point mtime_{};
  bool stale_ = true;
};

}  // namespace mpshare::platform
