#include "webhook/json_patch.h"

namespace mpshare::webhook {
namespace {

using nlohmann::json;

// Appends `items` under `array_path`: one `add` of the whole array when it does
// not exist yet, else one `add .../-` per item, so existing entries are kept.
void appendAll(json* patch, const std::string& array_path, bool exists, const json& items) {
  if (items.empty()) return;
  if (!exists) {
    patch->push_back({{"op", "add"}, {"path", array_path}, {"value", items}});
    return;
  }
  for (const auto& item : items) {
    patch->push_back({{"op", "add"}, {"path", array_path + "/-"}, {"value", item}});
  }
}

}  // namespace

std::string escapePointerSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

json buildPatch(const core::PodEdits& edits) {
  json patch = json::array();
  for (const auto& c : edits.containers) {
    const std::string base = std::string(c.init ? "/spec/initContainers/" : "/spec/containers/") +
                             std::to_string(c.index);
    json env = json::array();
    for (const auto& e : c.env) env.push_back({{"name", e.name}, {"value", e.value}});
    appendAll(&patch, base + "/env", c.has_env, env);
    if (c.mount) {
      json mounts = json::array(
          {{{"name", c.mount->name}, {"mountPath", c.mount->mount_path}}});
      appendAll(&patch, base + "/volumeMounts", c.has_volume_mounts, mounts);
    }
  }
  if (edits.volume) {
    json volumes = json::array({{{"name", edits.volume->name},
                                 {"hostPath", {{"path", edits.volume->path}, {"type", "Directory"}}}}});
    appendAll(&patch, "/spec/volumes", edits.has_volumes, volumes);
  }
  // `add` on an existing member replaces it, so this is right whether hostIPC is
  // absent or false.
  if (edits.set_host_ipc) patch.push_back({{"op", "add"}, {"path", "/spec/hostIPC"}, {"value", true}});
  return patch;
}

}  // namespace mpshare::webhook
