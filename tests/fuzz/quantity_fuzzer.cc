// Kubernetes quantities (core/quantity.h), as read from annotations, resource
// limits and node labels.
// Invariants: a parse is deterministic; an accepted quantity that is a whole
// number re-parses from its decimal form to the same value, and agrees with
// floorDiv(1) when not negative; a refused one says why.

#include <string>

#include "core/quantity.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = mpshare::fuzz::asText(data, size);
  const std::string shown(text);
  const auto first = mpshare::core::parseQuantity(text);
  const auto again = mpshare::core::parseQuantity(text);
  check(first.ok() == again.ok(), "parseQuantity is not deterministic on \"" + shown + "\"");
  if (!first.ok()) {
    check(!first.error().describe().empty(), "a refused quantity without a message");
    return 0;
  }
  const auto exact = first->exactInteger();
  check(exact == again->exactInteger(), "exactInteger differs between parses of \"" + shown + "\"");
  for (const int64_t unit : {int64_t{1}, int64_t{1000}, mpshare::core::kMiB}) {
    check(first->floorDiv(unit) == again->floorDiv(unit), "floorDiv differs between parses");
  }
  if (!exact) return 0;
  const std::string decimal = std::to_string(*exact);
  const auto reparsed = mpshare::core::parseQuantity(decimal);
  check(reparsed.ok(), "\"" + shown + "\" is " + decimal + ", which does not parse");
  check(reparsed->exactInteger() == exact,
        "\"" + shown + "\" is " + decimal + ", which re-parses to another value");
  if (*exact >= 0) {
    check(first->floorDiv(1) == exact, "floorDiv(1) of \"" + shown + "\" is not " + decimal);
  }
  check(first->isNegative() == (*exact < 0),
        "isNegative of \"" + shown + "\" disagrees with its value");
  check(first->isZero() == (*exact == 0), "isZero of \"" + shown + "\" disagrees with its value");
  return 0;
}
