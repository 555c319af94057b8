#include "platform/kube_event.h"

#include <ctime>

namespace mpshare::platform {
namespace {

constexpr size_t kMaxMessageBytes = 1024;

std::string rfc3339(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32] = {};
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// At most `limit` bytes, never ending inside a UTF-8 sequence.
std::string cut(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

nlohmann::json podEventJson(const PodEvent& event, std::chrono::system_clock::time_point now) {
  const std::string at = rfc3339(now);
  return {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", event.pod_name + "."}, {"namespace", event.namespace_name}}},
      {"involvedObject",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"namespace", event.namespace_name},
        {"name", event.pod_name},
        {"uid", event.pod_uid}}},
      {"type", event.type},
      {"reason", event.reason},
      {"message", cut(event.message, kMaxMessageBytes)},
      {"source", {{"component", event.component}, {"host", event.host}}},
      {"reportingComponent", event.component},
      {"reportingInstance", event.host},
      {"firstTimestamp", at},
      {"lastTimestamp", at},
      {"count", 1}};
}

}  // namespace mpshare::platform
