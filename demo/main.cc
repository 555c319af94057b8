// mpshare-demo: the README's main job. Runs the stages in order on the example
// pods; each stage prints its own table and hands its output to the next:
// webhook -> extender -> node agent.
//   mpshare-demo [PODS_DIR]   (default: manifests/examples/pods of the source tree)

#include <exception>
#include <iostream>
#include <string_view>

#include "demo/extender_stage.h"
#include "demo/node_stage.h"
#include "demo/webhook_stage.h"
#include "platform/logging.h"

#ifndef MPSHARE_VERSION
#error "MPSHARE_VERSION (the CMake project version) must be defined for this target"
#endif

namespace {

constexpr const char* kUsage = R"(usage: mpshare-demo [PODS_DIR]
  Runs the webhook (HTTPS, a fresh self-signed CA) and the extender (standalone)
  on 127.0.0.1, sends them the pods of PODS_DIR (default: manifests/examples/pods
  of the source tree) against manifests/examples/nodes.yaml, and prints what each
  stage did. Needs no cluster and no GPU.
       mpshare-demo --help | --version
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    const std::string_view first = argv[1];
    if (first == "--help" || first == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (first == "--version") {
      std::cout << "mpshare-demo " << MPSHARE_VERSION << "\n";
      return 0;
    }
    if (first.starts_with("-") || argc > 2) {
      const std::string_view extra = first.starts_with("-") ? first : argv[2];
      std::cerr << "mpshare-demo: unexpected argument \"" << extra << "\"\n" << kUsage;
      return 2;
    }
  }
  const std::string dir = argc > 1 ? argv[1] : MPSHARE_SOURCE_DIR "/manifests/examples/pods";
  // Server start-up lines would interleave with the tables; warnings still show.
  mpshare::platform::setLogLevel(mpshare::platform::LogLevel::kWarn);
  try {
    const auto pods = mpshare::demo::loadExamplePods(dir);
    const auto admitted = mpshare::demo::runWebhookStage(pods, std::cout);
    std::cout << "\n" << admitted.size() << " of " << pods.size() << " pods admitted.\n";
    std::cout << "\n";
    const auto placed = mpshare::demo::runExtenderStage(
        admitted, MPSHARE_SOURCE_DIR "/manifests/examples/nodes.yaml", 6, std::cout);
    std::cout << "\n";
    mpshare::demo::runNodeStage(
        placed.bound,
        {"gpu-l4", MPSHARE_SOURCE_DIR "/manifests/examples/node/gpu-l4-inventory.yaml",
         MPSHARE_SOURCE_DIR "/manifests/examples/node/gpu-l4-nvidia-cdi.yaml"},
        std::cout);
  } catch (const std::exception& e) {
    std::cerr << "mpshare-demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
