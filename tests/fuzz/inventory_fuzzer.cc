// The node agent's GPU inventory file (node/inventory_file.h parseInventory).
// Invariants: no exception escapes; an accepted inventory is non-empty, sorted
// by index, with unique indexes and UUIDs, every index >= 0, every memory > 0
// and every UUID starting "GPU-", as the header promises.

#include <set>
#include <string>

#include "node/inventory_file.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseInventory", [&] {
    const auto gpus = mpshare::node::parseInventory(text, "gpus.yaml");
    if (!gpus.ok()) {
      check(gpus.error().describe().find("gpus.yaml") != std::string::npos,
            "an inventory error does not name its source: " + gpus.error().describe());
      return;
    }
    check(!gpus->empty(), "an empty inventory was accepted");
    std::set<std::string> uuids;
    int previous = -1;
    for (const auto& gpu : *gpus) {
      check(gpu.index > previous, "indexes not sorted and unique at " + std::to_string(gpu.index));
      previous = gpu.index;
      check(gpu.memory_mib > 0, "memoryMiB <= 0 was accepted");
      check(gpu.uuid.rfind("GPU-", 0) == 0, "a UUID without GPU- was accepted: " + gpu.uuid);
      check(uuids.insert(gpu.uuid).second, "a UUID twice was accepted: " + gpu.uuid);
    }
  });
  return 0;
}
