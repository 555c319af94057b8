// mpshare-extender: the kube-scheduler extender. main() only dispatches
// subcommands; each lives in its own file and answers its own --help.
#include <iostream>
#include <string>

#include "extender/serve_command.h"
#include "extender/simulate/simulate_command.h"

#ifndef MPSHARE_VERSION
#error "MPSHARE_VERSION (the CMake project version) must be defined for this target"
#endif

namespace {

constexpr const char* kSimulateUsage =
    R"(  mpshare-extender simulate --nodes FILE --pods FILE [--policy NAME] [--seed N] [--inflate] ...
      Replay a pod trace or kubectl lists through the placement policies
      (`mpshare-extender simulate --help`).
)";

constexpr const char* kCommonUsage = R"(  mpshare-extender --help | --version
      Flags take --flag VALUE or --flag=VALUE; SUBCOMMAND --help prints its usage.
)";

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") {
    return mpshare::extender::runServeCommand(argc, argv);
  }
  if (command == "simulate") {
    return mpshare::extender::runSimulateCommand(argc, argv);
  }
  const std::string usage =
      std::string("usage:\n") + mpshare::extender::serveUsage() + kSimulateUsage + kCommonUsage;
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "mpshare-extender " << MPSHARE_VERSION << "\n";
    return 0;
  }
  std::cerr << "mpshare-extender: "
            << (command.empty() ? "a subcommand is required"
                                : "unknown subcommand \"" + command + "\"")
            << "\n"
            << usage;
  return 2;
}
