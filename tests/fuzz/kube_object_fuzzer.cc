// Kubernetes Pod and Node objects (platform/kube_json.h).
// Invariants: no exception from podFromJson, podFromSimdjson or nodeFromJson on
// any JSON value; the nlohmann and simdjson pod readers give the same PodView
// or the same error (the webhook uses one, the extender the other).

#include <simdjson.h>

#include <string>

#include "platform/kube_json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/pod_text.h"

using mpshare::testing_support::podText;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto object = nlohmann::json::parse(mpshare::fuzz::asText(data, size), nullptr, false);
  if (object.is_discarded()) return 0;
  mpshare::fuzz::noThrow("kube_json readers", [&] {
    (void)mpshare::platform::nodeFromJson(object);
    const std::string from_nlohmann = podText(mpshare::platform::podFromJson(object));
    const std::string text = object.dump();
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parser.parse(text).get(element) != simdjson::SUCCESS)
      return;  // e.g. deeper than simdjson allows
    const std::string from_simdjson = podText(mpshare::platform::podFromSimdjson(element));
    mpshare::fuzz::check(from_nlohmann == from_simdjson, "pod readers differ on " + text +
                                                             "\nnlohmann: " + from_nlohmann +
                                                             "\nsimdjson: " + from_simdjson);
  });
  return 0;
}
