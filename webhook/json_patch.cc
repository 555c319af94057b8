#include "webhook/json_patch.h"

#include "platform/json_text.h"

namespace mpshare::webhook {
namespace {

using platform::appendJsonString;

// Starts the next operation of the patch array.
void beginOperation(std::string& patch, std::string_view path) {
  patch += patch.empty() ? "[" : ",";
  patch += R"({"op":"add","path":)";
  appendJsonString(patch, path);
  patch += R"(,"value":)";
}

// Appends `count` items under `array_path`: one `add` of the whole array when
// it does not exist yet, else one `add .../-` per item, so existing entries
// are kept. `item(out, i)` writes item i.
template <typename AppendItem>
void appendAll(std::string& patch, const std::string& array_path, bool exists, size_t count,
               const AppendItem& item) {
  if (count == 0) return;
  if (!exists) {
    beginOperation(patch, array_path);
    patch += '[';
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) patch += ',';
      item(patch, i);
    }
    patch += "]}";
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    beginOperation(patch, array_path + "/-");
    item(patch, i);
    patch += '}';
  }
}

void appendEnv(std::string& out, const core::EnvEdit& env) {
  out += R"({"name":)";
  appendJsonString(out, env.name);
  out += R"(,"value":)";
  appendJsonString(out, env.value);
  out += '}';
}

void appendMount(std::string& out, const core::VolumeMountView& mount) {
  out += R"({"mountPath":)";
  appendJsonString(out, mount.mount_path);
  out += R"(,"name":)";
  appendJsonString(out, mount.name);
  out += '}';
}

void appendHostPathVolume(std::string& out, const core::HostPathVolume& volume) {
  out += R"({"hostPath":{"path":)";
  appendJsonString(out, volume.path);
  out += R"(,"type":"Directory"},"name":)";
  appendJsonString(out, volume.name);
  out += '}';
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

std::string buildPatch(const core::PodEdits& edits) {
  std::string patch;
  if (!edits.empty()) patch.reserve(1024);  // a typical patch is 400-700 bytes
  for (const auto& c : edits.containers) {
    const std::string base = std::string(c.init ? "/spec/initContainers/" : "/spec/containers/") +
                             std::to_string(c.index);
    appendAll(patch, base + "/env", c.has_env, c.env.size(),
              [&c](std::string& out, size_t i) { appendEnv(out, c.env[i]); });
    if (c.mount) {
      appendAll(patch, base + "/volumeMounts", c.has_volume_mounts, 1,
                [&c](std::string& out, size_t) { appendMount(out, *c.mount); });
    }
  }
  if (edits.volume) {
    appendAll(patch, "/spec/volumes", edits.has_volumes, 1,
              [&edits](std::string& out, size_t) { appendHostPathVolume(out, *edits.volume); });
  }
  // `add` on an existing member replaces it, so this is right whether hostIPC is
  // absent or false.
  if (edits.set_host_ipc) {
    beginOperation(patch, "/spec/hostIPC");
    patch += "true}";
  }
  if (!patch.empty()) patch += ']';
  return patch;
}

}  // namespace mpshare::webhook
