// mpshare-webhook: wires config, routes and the HTTPS server together.
//   mpshare-webhook serve --listen ADDR:PORT --tls-cert F --tls-key F [--config F]
//                         [--metrics-listen ADDR:PORT] [--threads N]
//                         [--max-connections N] [--shutdown-delay SECONDS]
//                         [--shutdown-timeout SECONDS]
//   mpshare-webhook review [--config F] [--pod FILE]   (AdmissionReview on stdin, or a
//                                                       Pod manifest -> response on stdout)
//   mpshare-webhook --help | --version; SUBCOMMAND --help

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "platform/http_server.h"
#include "platform/logging.h"
#include "platform/metrics.h"
#include "platform/stop_signals.h"
#include "webhook/config.h"
#include "webhook/review.h"
#include "webhook/routes.h"

#ifndef MPSHARE_VERSION
#error "MPSHARE_VERSION (the CMake project version) must be defined for this target"
#endif

namespace {

using mpshare::webhook::Config;

constexpr const char* kServeUsage =
    R"(  mpshare-webhook serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE
                        [--config FILE] [--metrics-listen ADDR:PORT] [--threads N]
                        [--max-connections N] [--shutdown-delay SECONDS]
                        [--shutdown-timeout SECONDS]
      Serve POST /mutate, GET /healthz, GET /readyz over HTTPS (TLS 1.2+); the
      certificate and key are re-read when their files change. Prometheus metrics
      are served over plain HTTP on --metrics-listen at GET /metrics. --threads
      (1-256, default 4) serve connections and reviews: match the CPUs the
      webhook may use; more only adds latency. --max-connections (default
      1024): connections past it are closed unanswered. On SIGTERM /readyz
      fails at once; the webhook goes on serving for --shutdown-delay seconds
      (default 0; the chart sets 5), while the endpoint removal reaches every
      node, then the listener closes and requests in flight are answered within
      --shutdown-timeout (default 20; delay + timeout below the pod's
      termination grace period), then exit 0. ADDR:PORT: 127.0.0.1:8443, [::1]:8443 or :8443
      (every address).
)";

constexpr const char* kReviewUsage = R"(  mpshare-webhook review [--config FILE] [--pod FILE]
      Read one AdmissionReview JSON on stdin and write the response on stdout.
      --pod FILE: review a Pod manifest instead (YAML or JSON, as for kubectl
      apply; - reads it from stdin), wrapped in the CREATE review the API server
      would send; a summary (verdict, changes, warnings) goes to stderr.
      Exit 0 when answered (also for a denial), 2 for malformed input.
)";

constexpr const char* kCommonUsage = R"(  mpshare-webhook --help | --version
      Flags take --flag VALUE or --flag=VALUE; SUBCOMMAND --help prints its usage.
)";

std::string usage() { return std::string("usage:\n") + kServeUsage + kReviewUsage + kCommonUsage; }

// A bad command line: the message, then a pointer to the usage of `command`.
struct UsageError {
  std::string message;
  std::string command;  // "serve", "review", or empty for the top level
};

// A problem that is not the command line's (an unreadable or invalid --config, a
// bad manifest): one line, no usage.
struct InputError {
  std::string message;
};

bool asksForHelp(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

// --flag VALUE or --flag=VALUE pairs after the subcommand; `allowed` lists the
// flags it takes. Required flags are checked by the caller, after the values it
// can check, so `serve --listen 8443` names the address, not a missing flag.
std::map<std::string, std::string> parseFlags(int argc, char** argv, int first,
                                              const std::vector<std::string>& allowed,
                                              const std::string& command) {
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
    if (std::find(allowed.begin(), allowed.end(), arg) == allowed.end()) {
      std::string known;
      for (const auto& flag : allowed) known.append(known.empty() ? "" : ", ").append(flag);
      throw UsageError{"unknown flag " + arg + " (" + command + " takes " + known + ")", command};
    }
    if (!has_value) {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value", command};
      value = argv[++i];
    }
    flags[arg] = value;
  }
  return flags;
}

void require(const std::map<std::string, std::string>& flags, const std::string& flag,
             const std::string& command) {
  if (flags.count(flag) == 0) throw UsageError{flag + " is required", command};
}

std::string readAll(std::istream& in) {
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Config loadConfig(const std::map<std::string, std::string>& flags) {
  auto it = flags.find("--config");
  if (it == flags.end()) return Config{};
  std::ifstream in(it->second);
  if (!in) throw InputError{"--config: cannot read " + it->second};
  auto config = mpshare::webhook::parseConfig(in);
  if (!config) throw InputError{"--config " + it->second + ": " + config.error().describe()};
  return *config;
}

// "127.0.0.1:8443" / "[::1]:8443" / ":8443" -> host, port.
std::pair<std::string, uint16_t> parseAddress(const std::string& flag, const std::string& text,
                                              const std::string& command) {
  const auto colon = text.rfind(':');
  const std::string bad = flag + ": expected ADDR:PORT like 0.0.0.0:8443, got \"" + text + "\"";
  if (colon == std::string::npos) throw UsageError{bad, command};
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError{bad, command};
  }
  const int port = std::stoi(port_text);
  // Port 0 picks a free port (the "serving" log line names it); tests use that.
  if (port > 65535) throw UsageError{flag + ": port must be 0-65535, got " + port_text, command};
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
    throw UsageError{"--threads: expected a whole number 1-256, got \"" + text + "\"", "serve"};
  }
  return static_cast<size_t>(threads);
}

// A whole number `flag` in [low, high], or `fallback` when not given.
size_t parseCount(const std::map<std::string, std::string>& flags, const std::string& flag,
                  size_t low, size_t high, size_t fallback) {
  auto it = flags.find(flag);
  if (it == flags.end()) return fallback;
  const std::string& text = it->second;
  const bool digits = !text.empty() && text.size() <= 9 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  const size_t value = digits ? std::stoul(text) : 0;
  if (!digits || value < low || value > high) {
    throw UsageError{flag + ": expected a whole number " + std::to_string(low) + "-" +
                         std::to_string(high) + ", got \"" + text + "\"",
                     "serve"};
  }
  return value;
}

// The pod manifest of `review --pod FILE` ("-": stdin) as an AdmissionReview, and
// the pod's namespace/name for the summary.
std::pair<std::string, std::string> podReview(const std::string& file) {
  std::string manifest;
  if (file == "-") {
    manifest = readAll(std::cin);
  } else {
    std::ifstream in(file);
    if (!in) throw InputError{"--pod: cannot read " + file};
    manifest = readAll(in);
  }
  auto review = mpshare::webhook::podReviewRequest(manifest);
  if (!review) throw InputError{"--pod " + file + ": " + review.error().describe()};
  // Read back the two names the wrapping settled on.
  const auto request = nlohmann::json::parse(*review)["request"];
  const std::string name = request.value("name", std::string());
  return {*review, request.value("namespace", std::string()) + "/" + (name.empty() ? file : name)};
}

int review(int argc, char** argv) {
  const auto flags = parseFlags(argc, argv, 2, {"--config", "--pod"}, "review");
  const Config config = loadConfig(flags);
  std::string body;
  std::string pod;
  if (const auto it = flags.find("--pod"); it != flags.end()) {
    std::tie(body, pod) = podReview(it->second);
  } else {
    body = readAll(std::cin);
  }
  const auto result = mpshare::webhook::reviewAdmission(body, config);
  if (result.outcome == mpshare::webhook::ReviewOutcome::kBadRequest) {
    std::cerr << "mpshare-webhook review: " << result.error << "\n";
    return 2;
  }
  std::cout << result.body << "\n";
  if (!pod.empty()) std::cerr << mpshare::webhook::summarizeReview(result, pod);
  return 0;
}

int serve(int argc, char** argv) {
  const auto flags =
      parseFlags(argc, argv, 2,
                 {"--listen", "--tls-cert", "--tls-key", "--config", "--metrics-listen",
                  "--threads", "--max-connections", "--shutdown-delay", "--shutdown-timeout"},
                 "serve");
  require(flags, "--listen", "serve");
  const auto [host, port] = parseAddress("--listen", flags.at("--listen"), "serve");
  require(flags, "--tls-cert", "serve");
  require(flags, "--tls-key", "serve");
  std::optional<std::pair<std::string, uint16_t>> metrics_address;
  if (flags.count("--metrics-listen")) {
    metrics_address = parseAddress("--metrics-listen", flags.at("--metrics-listen"), "serve");
  }
  const size_t threads = parseThreads(flags);
  const mpshare::platform::ServerOptions defaults;
  const size_t max_connections =
      parseCount(flags, "--max-connections", 1, 1000000, defaults.max_connections);
  const auto shutdown_timeout = std::chrono::seconds(parseCount(
      flags, "--shutdown-timeout", 0, 3600,
      std::chrono::duration_cast<std::chrono::seconds>(defaults.shutdown_timeout).count()));
  const auto shutdown_delay =
      std::chrono::seconds(parseCount(flags, "--shutdown-delay", 0, 300, 0));
  const Config config = loadConfig(flags);

  const mpshare::platform::StopSignals stop_signals;  // before any thread starts

  mpshare::platform::MetricsRegistry registry;
  mpshare::webhook::WebhookRoutes routes(config, registry);
  routes.setReady(false);
  mpshare::platform::ServerOptions options;
  options.host = host;
  options.port = port;
  options.tls = mpshare::platform::TlsFiles{flags.at("--tls-cert"), flags.at("--tls-key"), ""};
  options.threads = threads;
  options.max_connections = max_connections;
  options.shutdown_timeout = shutdown_timeout;
  // Until every node's proxy has dropped this endpoint, new connections still
  // arrive here; refusing them would refuse pod creations (failurePolicy Fail).
  options.shutdown_delay = shutdown_delay;
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
      metrics_options.max_connections = 64;
      metrics_options.shutdown_timeout = shutdown_timeout;
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
  // Not ready first; the server goes on serving for the delay, then closes
  // its listener and answers what is in flight (its own /readyz answers 503
  // meanwhile), within the timeout.
  routes.setReady(false);
  const bool drained = server->stop();
  if (metrics_server) metrics_server->stop();
  mpshare::platform::logInfo("stopped", {{"drained", drained ? "true" : "false"}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << usage();
      return 0;
    }
    if (command == "--version") {
      std::cout << "mpshare-webhook " << MPSHARE_VERSION << "\n";
      return 0;
    }
    if (command == "serve" || command == "review") {
      if (asksForHelp(argc, argv, 2)) {
        std::cout << "usage:\n" << (command == "serve" ? kServeUsage : kReviewUsage);
        return 0;
      }
      return command == "serve" ? serve(argc, argv) : review(argc, argv);
    }
    throw UsageError{
        command.empty() ? "a subcommand is required" : "unknown subcommand \"" + command + "\"",
        ""};
  } catch (const UsageError& e) {
    std::cerr << "mpshare-webhook: " << e.message << "\n";
    if (e.command.empty()) {
      std::cerr << usage();
    } else {
      std::cerr << "Run \"mpshare-webhook " << e.command << " --help\" for its usage.\n";
    }
    return 2;
  } catch (const InputError& e) {
    std::cerr << "mpshare-webhook: " << e.message << "\n";
    return 2;
  }
}
