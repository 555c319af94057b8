#include "extender/serve_command.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "extender/cluster/cluster_serve.h"
#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "platform/logging.h"
#include "platform/stop_signals.h"

namespace mpshare::extender {

const char* serveUsage() {
  return R"(  mpshare-extender serve --listen ADDR:PORT [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
                         [--config FILE] [--kubeconfig FILE | --standalone [--nodes FILE]]
                         [--max-connections N] [--shutdown-delay SECONDS]
                         [--shutdown-timeout SECONDS]
      Serve POST {urlPrefix}/filter, /prioritize, /bind and GET /healthz, /readyz,
      /metrics, /state. By default (cluster mode) nodes and pods are watched and
      pods bound through the API server found in --kubeconfig FILE, else
      $KUBECONFIG, else the in-cluster service account.
      --standalone: no API server; nodes come from the requests (Nodes form) or
      from --nodes (a NodeList in YAML or JSON); binds are kept in memory.
      ADDR:PORT: 127.0.0.1:8888, [::1]:8888 or :8888 (every address). HTTPS with
      --tls-cert and --tls-key; --client-ca also asks clients for certificates.
      --max-connections (default 1024): connections past it are closed
      unanswered. On SIGTERM /readyz fails at once; the extender goes on serving
      for --shutdown-delay seconds (0-300, default 0; the chart sets 5) while
      the endpoint removal reaches every node, then the listener closes and
      requests in flight (a bind included) are answered within
      --shutdown-timeout (default 20; delay + timeout below the pod's
      termination grace period), then exit 0.
)";
}

namespace {

using core::invalidArgument;

constexpr const char* kSeeUsage = "Run \"mpshare-extender serve --help\" for its usage.\n";

// Cluster mode with nothing to find the API server by: say so before trying,
// and offer the mode that needs no cluster.
bool hasClusterCredentials(const ServeOptions& options) {
  const char* kubeconfig = std::getenv("KUBECONFIG");
  const char* service_host = std::getenv("KUBERNETES_SERVICE_HOST");
  return !options.kubeconfig.empty() || (kubeconfig != nullptr && *kubeconfig != '\0') ||
         (service_host != nullptr && *service_host != '\0');
}

core::Status parseListen(const std::string& text, platform::ServerOptions& server) {
  const auto colon = text.rfind(':');
  const std::string allowed =
      "expected ADDR:PORT such as 127.0.0.1:8888 or 0.0.0.0:8888, got \"" + text + "\"";
  if (colon == std::string::npos) {
    return invalidArgument("--listen", allowed);
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return invalidArgument("--listen", allowed);
  }
  server.host = host.empty() ? "0.0.0.0" : host;
  server.port = static_cast<uint16_t>(port);
  return {};
}

// A whole number in [low, high] for `flag`.
core::Result<size_t> parseCount(const std::string& flag, const std::string& text, size_t low,
                                size_t high) {
  size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return invalidArgument(flag, "expected a whole number " + std::to_string(low) + "-" +
                                     std::to_string(high) + ", got \"" + text + "\"");
  }
  return value;
}

}  // namespace

core::Result<ServeOptions> parseServeOptions(const std::vector<std::string>& args) {
  ServeOptions options;
  bool listen = false;
  std::string cert;
  std::string key;
  std::string client_ca;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag == "--standalone") {
      if (inline_value) {
        return invalidArgument(flag, "takes no value, got \"" + *inline_value + "\"");
      }
      options.standalone = true;
      continue;
    }
    if (flag != "--listen" && flag != "--tls-cert" && flag != "--tls-key" &&
        flag != "--client-ca" && flag != "--config" && flag != "--nodes" &&
        flag != "--kubeconfig" && flag != "--max-connections" && flag != "--shutdown-delay" &&
        flag != "--shutdown-timeout") {
      return invalidArgument(flag,
                             "unknown flag (serve takes --listen, --tls-cert, --tls-key, "
                             "--client-ca, --config, --standalone, --nodes, --kubeconfig, "
                             "--max-connections, --shutdown-delay, --shutdown-timeout)");
    }
    if (!inline_value && i + 1 >= args.size()) {
      return invalidArgument(flag, "needs a value");
    }
    const std::string value = inline_value ? *inline_value : args[++i];
    if (flag == "--listen") {
      if (auto parsed = parseListen(value, options.server); !parsed) {
        return parsed.error();
      }
      listen = true;
    } else if (flag == "--tls-cert") {
      cert = value;
    } else if (flag == "--tls-key") {
      key = value;
    } else if (flag == "--client-ca") {
      client_ca = value;
    } else if (flag == "--config") {
      options.config_file = value;
    } else if (flag == "--kubeconfig") {
      options.kubeconfig = value;
    } else if (flag == "--max-connections") {
      auto count = parseCount(flag, value, 1, 1000000);
      if (!count) return count.error();
      options.server.max_connections = *count;
    } else if (flag == "--shutdown-delay") {
      auto seconds = parseCount(flag, value, 0, 300);
      if (!seconds) return seconds.error();
      options.server.shutdown_delay = std::chrono::seconds(*seconds);
    } else if (flag == "--shutdown-timeout") {
      auto seconds = parseCount(flag, value, 0, 3600);
      if (!seconds) return seconds.error();
      options.server.shutdown_timeout = std::chrono::seconds(*seconds);
    } else {
      options.nodes_file = value;
    }
  }
  if (!listen) {
    return invalidArgument("--listen", "is required (e.g. --listen 127.0.0.1:8888)");
  }
  if (cert.empty() != key.empty()) {
    return invalidArgument(cert.empty() ? "--tls-cert" : "--tls-key",
                           "--tls-cert and --tls-key go together");
  }
  if (!client_ca.empty() && cert.empty()) {
    return invalidArgument("--client-ca", "needs --tls-cert and --tls-key");
  }
  if (!cert.empty()) {
    options.server.tls = platform::TlsFiles{cert, key, client_ca};
  }
  if (!options.kubeconfig.empty() && options.standalone) {
    return invalidArgument("--kubeconfig", "is for cluster mode; drop --standalone to use it");
  }
  if (!options.nodes_file.empty() && !options.standalone) {
    return invalidArgument("--nodes", "is for --standalone mode (cluster mode watches nodes)");
  }
  return options;
}

int runServeCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage:\n" << serveUsage();
      return 0;
    }
  }
  auto options = parseServeOptions(args);
  if (!options) {
    std::cerr << "mpshare-extender serve: " << options.error().describe() << "\n" << kSeeUsage;
    return 2;
  }
  ExtenderConfig config;
  if (!options->config_file.empty()) {
    std::ifstream in(options->config_file);
    if (!in) {
      std::cerr << "mpshare-extender serve: --config: cannot read " << options->config_file << "\n";
      return 2;
    }
    auto parsed = parseConfig(in);
    if (!parsed) {
      std::cerr << "mpshare-extender serve: --config " << options->config_file << ": "
                << parsed.error().describe() << "\n";
      return 2;
    }
    config = std::move(*parsed);
  }
  if (!options->standalone && !hasClusterCredentials(*options)) {
    std::cerr << "mpshare-extender serve: no API server to watch: cluster mode (the default) needs "
                 "--kubeconfig FILE, $KUBECONFIG, or the in-cluster service account "
                 "($KUBERNETES_SERVICE_HOST); to try it without a cluster, add --standalone "
                 "[--nodes FILE] (e.g. --nodes manifests/examples/nodes.yaml)\n";
    return 2;
  }
  const platform::StopSignals stop_signals;  // before any thread starts
  if (!options->standalone) return runClusterServe(*options, config, stop_signals);

  std::unique_ptr<NodeSource> nodes;
  if (!options->nodes_file.empty()) {
    nodes = std::make_unique<FileNodeSource>(options->nodes_file);
  }
  auto extender = StandaloneExtender::create(config, nodes.get());
  if (!extender) {
    std::cerr << "mpshare-extender serve: " << extender.error().describe() << "\n";
    return 2;
  }
  std::unique_ptr<platform::HttpServer> server;
  try {
    server = platform::startHttpServer(options->server, (*extender)->routes().handler());
  } catch (const std::exception& e) {
    std::cerr << "mpshare-extender serve: " << e.what() << "\n";
    return 1;
  }
  platform::logInfo("mpshare-extender serving",
                    {{"listen", options->server.host + ":" + std::to_string(server->port())},
                     {"tls", options->server.tls ? "on" : "off"},
                     {"urlPrefix", config.url_prefix},
                     {"policy", config.policy},
                     {"mode", "standalone"}});
  const int signal_number = stop_signals.wait();
  platform::logInfo("mpshare-extender stopping", {{"signal", std::to_string(signal_number)}});
  // The server fails /readyz, serves on for --shutdown-delay, closes its
  // listener and answers what is in flight, within --shutdown-timeout.
  const bool drained = server->stop();
  platform::logInfo("mpshare-extender stopped", {{"drained", drained ? "true" : "false"}});
  return 0;
}

}  // namespace mpshare::extender
