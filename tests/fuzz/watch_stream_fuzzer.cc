// The API server's watch stream (platform/kube_watch_stream.h): the split of
// the de-chunked body into JSON objects (Beast's parser does the chunked
// transfer decoding).
// Invariants: no exception; the same objects and the same verdict whether the
// bytes arrive at once or cut at arbitrary points (the first input byte picks
// the cut length), as TCP reads and TLS records cut them.

#include <string>
#include <vector>

#include "platform/kube_watch_stream.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using mpshare::fuzz::check;

struct Split {
  bool ok = true;
  bool mid_object = false;
  std::vector<std::string> objects;
};

Split split(std::string_view bytes, size_t cut) {
  mpshare::platform::JsonObjectSplitter splitter;
  Split result;
  for (size_t at = 0; at < bytes.size() && result.ok; at += cut) {
    result.ok = splitter.feed(bytes.substr(at, cut), result.objects).ok();
  }
  result.mid_object = splitter.midObject();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cut = 1 + data[0] % 16;
  const auto bytes = mpshare::fuzz::asText(data + 1, size - 1);
  mpshare::fuzz::noThrow("watch stream splitter", [&] {
    const Split one = split(bytes, bytes.size() + 1);
    const Split many = split(bytes, cut);
    check(one.ok == many.ok, "object splitting depends on the cuts (verdict)");
    if (one.ok) {
      check(one.objects == many.objects, "object splitting depends on the cuts (objects)");
      check(one.mid_object == many.mid_object, "object splitting depends on the cuts (midObject)");
      for (const auto& object : one.objects) {
        // Brackets are only counted, not matched: "{]" ends an object too, and
        // the JSON parser after the splitter refuses it.
        check(object.size() >= 2 && object.front() == '{' &&
                  (object.back() == '}' || object.back() == ']'),
              "a split object is not {...}: " + object);
      }
    }
  });
  return 0;
}
