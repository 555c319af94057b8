// mpshare-webhook: wires config, routes and the HTTPS server together.
//   mpshare-webhook serve --listen ADDR:PORT --tls-cert F --tls-key F [--config F]
//                         [--metrics-listen ADDR:PORT] [--threads N]
//   mpshare-webhook review [--config F]   (AdmissionReview on stdin -> response on stdout)

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "platform/http_server.h"
#include "platform/logging.h"
#include "platform/metrics.h"
#include "platform/stop_signals.h"
#include "webhook/config.h"
#include "webhook/review.h"
#include "webhook/routes.h"

namespace {

using mpshare::webhook::Config;

constexpr const char* kUsage = R"(usage:
  mpshare-webhook serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE
                        [--config FILE] [--metrics-listen ADDR:PORT] [--threads N]
      Serve POST /mutate, GET /healthz, GET /readyz over HTTPS (TLS 1.2+); the
      certificate and key are re-read when their files change. Prometheus metrics
      are served over plain HTTP on --metrics-listen at GET /metrics. --threads
      (1-256, default 4) serve connections and reviews: match the CPUs the
      webhook may use; more only adds latency.
  mpshare-webhook review [--config FILE]
      Read one AdmissionReview JSON on stdin and write the response on stdout.
      Exit 0 when answered (also for a denial), 2 for malformed input.
  mpshare-webhook --help
)";

struct UsageError {
  std::string message;
};

// --flag VALUE pairs after the subcommand; `allowed` lists the flags it takes.
std::map<std::string, std::string> parseFlags(int argc, char** argv, int first,
                                              const std::map<std::string, bool>& allowed) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (allowed.count(arg) == 0) throw UsageError{"unknown flag " + arg};
    if (!has_value) {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      value = argv[++i];
    }
    flags[arg] = value;
  }
  for (const auto& [flag, required] : allowed) {
    if (required && flags.count(flag) == 0) throw UsageError{flag + " is required"};
  }
  return flags;
}

Config loadConfig(const std::map<std::string, std::string>& flags) {
  auto it = flags.find("--config");
  if (it == flags.end()) return Config{};
  std::ifstream in(it->second);
  if (!in) throw UsageError{"--config: cannot read " + it->second};
  auto config = mpshare::webhook::parseConfig(in);
  if (!config) throw UsageError{"--config " + it->second + ": " + config.error().describe()};
  return *config;
}

// "127.0.0.1:8443" / "[::1]:8443" / ":8443" -> host, port.
std::pair<std::string, uint16_t> parseAddress(const std::string& flag, const std::string& text) {
  const auto colon = text.rfind(':');
  const std::string bad = flag + ": expected ADDR:PORT like 0.0.0.0:8443, got \"" + text + "\"";
  if (colon == std::string::npos) throw UsageError{bad};
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError{bad};
  }
  const int port = std::stoi(port_text);
  // Port 0 picks a free port (the "serving" log line names it); tests use that.
  if (port > 65535) throw UsageError{flag + ": port must be 0-65535, got " + port_text};
  return {host, static_cast<uint16_t>(port)};
}

// --threads: a whole number 1-256.
size_t parseThreads(const std::map<std::string, std::string>& flags) {
  auto it = flags.find("--threads");
  if (it == flags.end()) return mpshare::platform::kDefaultHttpThreads;
  const std::string& text = it->second;
  const bool digits = !text.empty() && text.size() <= 3 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  const int threads = digits ? std::stoi(text) : 0;
  if (threads < 1 || threads > 256) {
    throw UsageError{"--threads: expected a whole number 1-256, got \"" + text + "\""};
  }
  return static_cast<size_t>(threads);
}

int review(int argc, char** argv) {
  const auto flags = parseFlags(argc, argv, 2, {{"--config", false}});
  const Config config = loadConfig(flags);
  const std::string body{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  const auto result = mpshare::webhook::reviewAdmission(body, config);
  if (result.outcome == mpshare::webhook::ReviewOutcome::kBadRequest) {
    std::cerr << "mpshare-webhook review: " << result.error << "\n";
    return 2;
  }
  std::cout << result.body << "\n";
  return 0;
}

int serve(int argc, char** argv) {
  const auto flags = parseFlags(argc, argv, 2,
                                {{"--listen", true},
                                 {"--tls-cert", true},
                                 {"--tls-key", true},
                                 {"--config", false},
                                 {"--metrics-listen", false},
                                 {"--threads", false}});
  const Config config = loadConfig(flags);
  const size_t threads = parseThreads(flags);
  const auto [host, port] = parseAddress("--listen", flags.at("--listen"));
  std::optional<std::pair<std::string, uint16_t>> metrics_address;
  if (flags.count("--metrics-listen")) {
    metrics_address = parseAddress("--metrics-listen", flags.at("--metrics-listen"));
  }

  const mpshare::platform::StopSignals stop_signals;  // before any thread starts

  mpshare::platform::MetricsRegistry registry;
  mpshare::webhook::WebhookRoutes routes(config, registry);
  routes.setReady(false);
  mpshare::platform::ServerOptions options;
  options.host = host;
  options.port = port;
  options.tls = mpshare::platform::TlsFiles{flags.at("--tls-cert"), flags.at("--tls-key"), ""};
  options.threads = threads;
  // The server refuses a larger body before reading it all, with HTTP 400
  // "request body exceeds N bytes" naming exactly this limit. Such requests
  // never reach the route, so they are not in mpshare_webhook_requests_total.
  options.max_body_bytes = config.max_request_bytes;
  std::unique_ptr<mpshare::platform::HttpServer> metrics_server;
  std::unique_ptr<mpshare::platform::HttpServer> server;
  try {
    server = mpshare::platform::startHttpServer(
        options, [&routes](const mpshare::platform::HttpRequest& r) { return routes.handle(r); });
    if (metrics_address) {
      mpshare::platform::ServerOptions metrics_options;
      metrics_options.host = metrics_address->first;
      metrics_options.port = metrics_address->second;
      metrics_options.threads = 1;  // one scrape every few seconds
      metrics_server = mpshare::platform::startHttpServer(
          metrics_options,
          [&routes](const mpshare::platform::HttpRequest& r) { return routes.handleMetrics(r); });
    }
  } catch (const std::exception& e) {
    std::cerr << "mpshare-webhook serve: " << e.what() << "\n";
    return 1;
  }
  routes.setReady(true);
  mpshare::platform::logInfo("serving", {{"listen", host + ":" + std::to_string(server->port())},
                                         {"certificate", server->servingCertificate()}});
  const int signal_number = stop_signals.wait();
  mpshare::platform::logInfo("stopping", {{"signal", std::to_string(signal_number)}});
  routes.setReady(false);
  server->stop();
  if (metrics_server) metrics_server->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "serve") return serve(argc, argv);
    if (command == "review") return review(argc, argv);
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage;
      return 0;
    }
    throw UsageError{command.empty() ? "a subcommand is required"
                                     : "unknown subcommand \"" + command + "\""};
  } catch (const UsageError& e) {
    std::cerr << "mpshare-webhook: " << e.message << "\n" << kUsage;
    return 2;
  }
}
