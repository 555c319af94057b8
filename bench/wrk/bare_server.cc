// mpshare-bare-server: the serving stack alone (TLS listener, body reader,
// reply wrapper) with trivial routes, so load tests can separate the cost of
// the stack from the cost of a component's routes.
//
//   mpshare-bare-server [--seconds N] [--port P] [--threads T]
// prints "https://127.0.0.1:<port>" once serving, exits after N seconds
// (default 120) so a forgotten run cannot linger. Routes: GET /healthz -> 200
// "ok"; POST /echo -> the body back. --threads sets the server's threads
// (default kDefaultHttpThreads) to compare thread counts.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "platform/http_server.h"
#include "platform/logging.h"
#include "platform/self_signed_cert.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  using namespace mpshare::platform;
  int seconds = 120;
  uint16_t port = 0;
  size_t threads = mpshare::platform::kDefaultHttpThreads;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") {
      seconds = std::atoi(argv[i + 1]);
    } else if (flag == "--port") {
      port = static_cast<uint16_t>(std::atoi(argv[i + 1]));
    } else if (flag == "--threads") {
      threads = static_cast<size_t>(std::atoi(argv[i + 1]));
    } else {
      std::cerr << "usage: " << argv[0] << " [--seconds N] [--port P] [--threads T]\n";
      return 2;
    }
  }
  setLogLevel(LogLevel::kWarn);
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);

  const auto dir = std::filesystem::temp_directory_path() /
                   ("mpshare-bare-server-" + std::to_string(::getpid()));
  const TlsBundle bundle = writeSelfSignedBundle(dir.string());
  ServerOptions options;
  options.port = port;
  options.threads = threads;
  options.tls = TlsFiles{bundle.cert_file, bundle.key_file, ""};
  auto server = startHttpServer(options, [](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/healthz") return {200, "text/plain", "ok"};
    if (request.path == "/echo") return {200, "application/json", request.body};
    return {404, "application/json", R"({"error": "no route"})"};
  });
  std::cout << "https://127.0.0.1:" << server->port() << std::endl;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (g_stop == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server->stop();
  std::filesystem::remove_all(dir);
  return 0;
}
