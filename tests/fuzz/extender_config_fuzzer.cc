// mpshare-extender's YAML configuration (extender/config.h parseConfig).
// Invariants: no exception escapes; a parse is deterministic; a refused
// configuration names what is wrong.

#include <sstream>
#include <string>

#include "extender/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(mpshare::fuzz::asText(data, size));
  mpshare::fuzz::noThrow("extender parseConfig", [&] {
    std::istringstream first_in(text);
    std::istringstream again_in(text);
    const auto first = mpshare::extender::parseConfig(first_in);
    const auto again = mpshare::extender::parseConfig(again_in);
    mpshare::fuzz::check(first.ok() == again.ok(), "parseConfig is not deterministic");
    if (!first.ok()) {
      mpshare::fuzz::check(!first.error().describe().empty(), "a refused config without a message");
    }
  });
  return 0;
}
