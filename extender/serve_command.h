#pragma once

// `mpshare-extender serve`: flags, then the HTTP(S) server until SIGINT/SIGTERM.

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "platform/http_server.h"

namespace mpshare::extender {

// Binds wait on the API server while holding a serving thread, and the
// scheduler binds several pods at once: more threads than the webhook's.
inline constexpr size_t kExtenderHttpThreads = 8;

struct ServeOptions {
  platform::ServerOptions server = [] {
    platform::ServerOptions options;
    options.threads = kExtenderHttpThreads;
    return options;
  }();                      // host, port, TLS
  std::string config_file;  // empty = defaults
  bool standalone = false;
  std::string nodes_file;  // --nodes; standalone only
  std::string kubeconfig;  // --kubeconfig; cluster mode only (else $KUBECONFIG, in-cluster)
};

// The usage of `mpshare-extender serve`, printed by `serve --help` and in
// `mpshare-extender --help`.
const char* serveUsage();

// Parses the flags after `serve`, each as `--flag VALUE` or `--flag=VALUE`:
//   --listen ADDR:PORT [--tls-cert F --tls-key F [--client-ca F]] [--config F]
//   [--standalone] [--nodes FILE] [--kubeconfig FILE]
//   [--max-connections N] [--shutdown-delay SECONDS] [--shutdown-timeout SECONDS]
// Example: {"--listen", "127.0.0.1:8888", "--standalone"} -> host 127.0.0.1, port 8888;
// so does {"--listen=127.0.0.1:8888", "--standalone"}.
// Errors name the flag and what it accepts.
core::Result<ServeOptions> parseServeOptions(const std::vector<std::string>& args);

// Runs the serve subcommand (argv[1] is "serve"); returns the process exit code
// (0 after SIGTERM or for --help, 2 = usage or config error).
int runServeCommand(int argc, char** argv);

}  // namespace mpshare::extender
