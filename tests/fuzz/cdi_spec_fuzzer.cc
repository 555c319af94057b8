// NVIDIA's CDI spec as the node agent reads it (node/cdi_spec.h
// parseNvidiaCdiSpec), then the per-slot spec built from it.
// Invariants: no exception escapes; an accepted spec has unique device names;
// a slot spec built from it for any of its devices is JSON.

#include <set>
#include <string>

#include "node/cdi_spec.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseNvidiaCdiSpec", [&] {
    const auto spec = mpshare::node::parseNvidiaCdiSpec(text, "nvidia.yaml");
    if (!spec.ok()) {
      check(spec.error().describe().find("nvidia.yaml") != std::string::npos,
            "a CDI error does not name its source: " + spec.error().describe());
      return;
    }
    std::set<std::string> names;
    for (const auto& device : spec->devices) {
      check(names.insert(device.name).second, "device name twice: " + device.name);
    }
    // A slot for GPU 0 named by index and by a UUID: unknown devices are
    // errors, anything built is JSON.
    mpshare::node::SlotSpecInputs inputs;
    inputs.slot = 3;
    inputs.gpu.index = 0;
    inputs.gpu.uuid = "GPU-00000000-0000-0000-0000-000000000000";
    inputs.host_pipe_dir = "/run/mpshare/mps/gpu-0/pipe";
    for (const auto& device : spec->devices) {
      if (device.name.rfind("GPU-", 0) == 0) inputs.gpu.uuid = device.name;
    }
    const auto slot = mpshare::node::slotSpecJson(*spec, inputs);
    if (slot.ok()) check(mpshare::fuzz::isJson(*slot), "the slot spec is not JSON: " + *slot);
  });
  return 0;
}
