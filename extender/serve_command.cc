#include "extender/serve_command.h"

#include <charconv>
#include <fstream>
#include <iostream>

#include "extender/cluster/cluster_serve.h"
#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "platform/logging.h"
#include "platform/stop_signals.h"

namespace mpshare::extender {
namespace {

using core::invalidArgument;

core::Status parseListen(const std::string& text, platform::ServerOptions& server) {
  const auto colon = text.rfind(':');
  const std::string allowed = "expected ADDR:PORT such as 127.0.0.1:8888 or 0.0.0.0:8888, got \"" + text + "\"";
  if (colon == std::string::npos) {
    return invalidArgument("--listen", allowed);
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return invalidArgument("--listen", allowed);
  }
  server.host = host.empty() ? "0.0.0.0" : host;
  server.port = static_cast<uint16_t>(port);
  return {};
}

}  // namespace

core::Result<ServeOptions> parseServeOptions(const std::vector<std::string>& args) {
  ServeOptions options;
  bool listen = false;
  std::string cert;
  std::string key;
  std::string client_ca;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--standalone") {
      options.standalone = true;
      continue;
    }
    if (flag != "--listen" && flag != "--tls-cert" && flag != "--tls-key" && flag != "--client-ca" &&
        flag != "--config" && flag != "--nodes" && flag != "--kubeconfig") {
      return invalidArgument(flag, "unknown flag (serve takes --listen, --tls-cert, --tls-key, "
                                   "--client-ca, --config, --standalone, --nodes, --kubeconfig)");
    }
    if (i + 1 >= args.size()) {
      return invalidArgument(flag, "needs a value");
    }
    const std::string& value = args[++i];
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
  auto options = parseServeOptions(args);
  if (!options) {
    std::cerr << "mpshare-extender serve: " << options.error().describe() << "\n";
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
      std::cerr << "mpshare-extender serve: " << options->config_file << ": "
                << parsed.error().describe() << "\n";
      return 2;
    }
    config = std::move(*parsed);
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
  server->stop();
  return 0;
}

}  // namespace mpshare::extender
