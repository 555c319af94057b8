// mpshare-demo: the README's main job. Runs the stages in order on the example
// pods; each stage prints its own table and hands its output to the next.
//   mpshare-demo [PODS_DIR]   (default: manifests/examples/pods of the source tree)

#include <exception>
#include <iostream>

#include "demo/extender_stage.h"
#include "demo/webhook_stage.h"
#include "platform/logging.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : MPSHARE_SOURCE_DIR "/manifests/examples/pods";
  // Server start-up lines would interleave with the tables; warnings still show.
  mpshare::platform::setLogLevel(mpshare::platform::LogLevel::kWarn);
  try {
    const auto pods = mpshare::demo::loadExamplePods(dir);
    const auto admitted = mpshare::demo::runWebhookStage(pods, std::cout);
    std::cout << "\n" << admitted.size() << " of " << pods.size() << " pods admitted.\n";
    std::cout << "\n";
    mpshare::demo::runExtenderStage(admitted, MPSHARE_SOURCE_DIR "/manifests/examples/nodes.yaml", 6,
                                    std::cout);
  } catch (const std::exception& e) {
    std::cerr << "mpshare-demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
