#include "node/cdi_spec.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/slots.h"
#include "platform/yaml_json.h"

namespace mpshare::node {
namespace {

using nlohmann::json;

// The oldest CDI version mpshare writes. NVIDIA's tools write it (or newer)
// and the CDI-aware runtimes mpshare needs (containerd 1.7+, CRI-O) read it;
// an older NVIDIA spec's edits are valid under it unchanged.
constexpr std::array<int, 3> kMinCdiVersion = {0, 5, 0};

// The env variables mpshare sets on every slot; copies from NVIDIA's edits are dropped.
constexpr std::array<std::string_view, 3> kOwnEnv = {
    "CUDA_MPS_PIPE_DIRECTORY", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"};

std::string typeName(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

// Errors while walking one document: "<source>: <json path>: <what>".
class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  [[nodiscard]] core::Error error(const std::string& path, const std::string& what) const {
    return core::invalidArgument(source_, path.empty() ? what : path + ": " + what);
  }
  [[nodiscard]] core::Error wrongType(const std::string& path, std::string_view expected,
                                      const json& got) const {
    return error(path, "expected " + std::string(expected) + ", got " + typeName(got));
  }

  // A required string field of `object`.
  core::Result<std::string> requiredString(const json& object, const std::string& path,
                                           const char* key) const {
    const auto it = object.find(key);
    const std::string field = path.empty() ? key : path + "." + key;
    if (it == object.end()) {
      return error(field, "is required");
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return it->is_string() ? error(field, "must not be empty")
                             : wrongType(field, "a string", *it);
    }
    return it->get<std::string>();
  }

  // containerEdits: an object whose fields mpshare copies have the shapes CDI
  // defines; fields it does not know pass through as read.
  [[nodiscard]] core::Status edits(const json& edits, const std::string& path) const {
    if (!edits.is_object()) {
      return wrongType(path, "an object", edits);
    }
    struct ListField {
      const char* key;
      std::vector<const char*> required;  // empty: entries are strings
    };
    const ListField fields[] = {{"env", {}},
                                {"deviceNodes", {"path"}},
                                {"mounts", {"hostPath", "containerPath"}},
                                {"hooks", {"hookName", "path"}}};
    for (const ListField& field : fields) {
      const auto it = edits.find(field.key);
      if (it == edits.end()) {
        continue;
      }
      const std::string list_path = path + "." + field.key;
      if (!it->is_array()) {
        return wrongType(list_path, "a list", *it);
      }
      for (size_t i = 0; i < it->size(); ++i) {
        const json& entry = (*it)[i];
        const std::string entry_path = list_path + "[" + std::to_string(i) + "]";
        if (field.required.empty()) {
          if (!entry.is_string()) {
            return wrongType(entry_path, "a string (\"NAME=value\")", entry);
          }
          continue;
        }
        if (!entry.is_object()) {
          return wrongType(entry_path, "an object", entry);
        }
        for (const char* key : field.required) {
          if (auto value = requiredString(entry, entry_path, key); !value) {
            return value.error();
          }
        }
      }
    }
    return {};
  }

 private:
  std::string source_;
};

// "0.5.0" -> {0, 5, 0}; false for anything else.
bool parseVersion(const std::string& text, std::array<int, 3>& parts) {
  std::istringstream in(text);
  char dot1 = 0;
  char dot2 = 0;
  in >> parts[0] >> dot1 >> parts[1] >> dot2 >> parts[2];
  return in && in.peek() == std::char_traits<char>::eof() && dot1 == '.' && dot2 == '.' &&
         text.find_first_not_of("0123456789.") == std::string::npos;
}

// YAML is a superset of JSON, but a document that is JSON is read as JSON so
// that strings stay strings exactly as written.
core::Result<json> parseDocument(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      return core::invalidArgument("", std::string("is not valid JSON: ") + e.what());
    }
  }
  return platform::yamlToJson(text, platform::YamlScalars::kTyped);
}

// The variable name of an env entry: "NAME=value" -> "NAME".
std::string_view envName(const json& entry) {
  const auto& text = entry.get_ref<const std::string&>();
  return std::string_view(text).substr(0, text.find('='));
}

// `device` applied over `common`: lists concatenate, other fields take the device's value.
json mergeEdits(const json& common, const json& device) {
  json merged = common;
  for (const auto& [key, value] : device.items()) {
    if (merged.contains(key) && merged[key].is_array() && value.is_array()) {
      merged[key].insert(merged[key].end(), value.begin(), value.end());
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

bool isAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

}  // namespace

core::Result<NvidiaCdiSpec> parseNvidiaCdiSpec(std::string_view text, std::string_view source) {
  const Checker check(source);
  auto document = parseDocument(text);
  if (!document) {
    return check.error("", document.error().message);
  }
  const json& root = *document;
  if (!root.is_object()) {
    return check.wrongType("", "a CDI spec (an object with cdiVersion, kind and devices)", root);
  }
  NvidiaCdiSpec spec;
  spec.source = std::string(source);

  auto version = check.requiredString(root, "", "cdiVersion");
  if (!version) {
    return version.error();
  }
  std::array<int, 3> parts{};
  if (!parseVersion(*version, parts)) {
    return check.error("cdiVersion", "\"" + *version + "\" is not a version like \"0.5.0\"");
  }
  spec.cdi_version = *version;

  auto kind = check.requiredString(root, "", "kind");
  if (!kind) {
    return kind.error();
  }
  if (*kind != kNvidiaCdiKind) {
    return check.error("kind", "\"" + *kind + "\" is not NVIDIA's GPU spec; allowed: \"" +
                                   std::string(kNvidiaCdiKind) + "\"");
  }

  if (const auto it = root.find("containerEdits"); it != root.end() && !it->is_null()) {
    if (auto status = check.edits(*it, "containerEdits"); !status) {
      return status.error();
    }
    spec.container_edits = *it;
  }

  const auto devices = root.find("devices");
  if (devices == root.end()) {
    return check.error("devices", "is required");
  }
  if (!devices->is_array()) {
    return check.wrongType("devices", "a list", *devices);
  }
  std::set<std::string> names;
  for (size_t i = 0; i < devices->size(); ++i) {
    const json& entry = (*devices)[i];
    const std::string path = "devices[" + std::to_string(i) + "]";
    if (!entry.is_object()) {
      return check.wrongType(path, "an object", entry);
    }
    CdiDevice device;
    // A YAML author may leave an index name unquoted (name: 0); CDI's Go
    // reader takes it as the string "0", and so does this one.
    if (const auto name = entry.find("name");
        name != entry.end() && name->is_number_integer() && *name >= 0) {
      device.name = std::to_string(name->get<int64_t>());
    } else {
      auto text_name = check.requiredString(entry, path, "name");
      if (!text_name) {
        return text_name.error();
      }
      device.name = *text_name;
    }
    if (!names.insert(device.name).second) {
      return check.error(path + ".name", "\"" + device.name + "\" names two devices");
    }
    const auto edits = entry.find("containerEdits");
    if (edits == entry.end()) {
      return check.error(path + ".containerEdits", "is required");
    }
    if (auto status = check.edits(*edits, path + ".containerEdits"); !status) {
      return status.error();
    }
    device.container_edits = *edits;
    spec.devices.push_back(std::move(device));
  }
  if (spec.devices.empty()) {
    return check.error("devices", "lists no device; a CDI spec needs at least one");
  }
  return spec;
}

core::Result<NvidiaCdiSpec> loadNvidiaCdiSpec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return core::Error{core::ErrorCode::kNotFound, path,
                       std::string("cannot read NVIDIA's CDI spec: ") + std::strerror(error) +
                           "; it is written by `nvidia-ctk cdi generate --output=" + path +
                           "` or by the GPU operator with CDI enabled"};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseNvidiaCdiSpec(text.str(), path);
}

core::Result<json> deviceEditsFor(const NvidiaCdiSpec& spec, const core::GpuDevice& gpu) {
  const std::string index = std::to_string(gpu.index);
  const CdiDevice* by_index = nullptr;
  for (const CdiDevice& device : spec.devices) {
    if (!gpu.uuid.empty() && device.name == gpu.uuid) {
      return device.container_edits;
    }
    if (device.name == index) {
      by_index = &device;
    }
  }
  if (by_index != nullptr) {
    return by_index->container_edits;
  }
  std::string available;
  for (const CdiDevice& device : spec.devices) {
    available += (available.empty() ? "" : ", ") + device.name;
  }
  return core::Error{core::ErrorCode::kNotFound, spec.source,
                     "no device for GPU " + index + " (" + gpu.uuid + "): looked for \"" +
                         gpu.uuid + "\" and \"" + index + "\"; the spec has " + available +
                         " (regenerate it when GPUs changed)"};
}

core::Result<std::string> slotSpecJson(const NvidiaCdiSpec& spec, const SlotSpecInputs& inputs) {
  if (inputs.slot < 0) {
    return core::invalidArgument("slot",
                                 std::to_string(inputs.slot) + " is negative; slots count from 0");
  }
  if (!inputs.gpu.uuid.starts_with("GPU-")) {
    return core::invalidArgument("gpu.uuid",
                                 "\"" + inputs.gpu.uuid + "\" is not a GPU UUID (\"GPU-...\")");
  }
  if (!isAbsolute(inputs.host_pipe_dir)) {
    return core::invalidArgument("hostPipeDir",
                                 "\"" + inputs.host_pipe_dir + "\" is not an absolute path");
  }
  if (!isAbsolute(inputs.container_pipe_dir)) {
    return core::invalidArgument("containerPipeDir",
                                 "\"" + inputs.container_pipe_dir + "\" is not an absolute path");
  }
  auto device_edits = deviceEditsFor(spec, inputs.gpu);
  if (!device_edits) {
    return device_edits.error();
  }
  json edits = mergeEdits(spec.container_edits, *device_edits);

  json env = json::array();
  for (const json& entry : edits.value("env", json::array())) {
    if (std::find(kOwnEnv.begin(), kOwnEnv.end(), envName(entry)) == kOwnEnv.end()) {
      env.push_back(entry);
    }
  }
  env.push_back("CUDA_MPS_PIPE_DIRECTORY=" + inputs.container_pipe_dir);
  env.push_back("CUDA_VISIBLE_DEVICES=" + inputs.gpu.uuid);
  env.push_back("NVIDIA_VISIBLE_DEVICES=void");
  edits["env"] = std::move(env);

  if (!edits.contains("mounts")) {
    edits["mounts"] = json::array();
  }
  json pipe_mount = json::object();
  pipe_mount["hostPath"] = inputs.host_pipe_dir;
  pipe_mount["containerPath"] = inputs.container_pipe_dir;
  pipe_mount["options"] = json::array({"rbind", "rw"});
  edits["mounts"].push_back(std::move(pipe_mount));

  std::array<int, 3> version{};
  const bool parsed = parseVersion(spec.cdi_version, version);
  const std::string cdi_version = parsed && version >= kMinCdiVersion ? spec.cdi_version : "0.5.0";

  json device = json::object();
  device["name"] = core::slotId(inputs.slot);
  device["containerEdits"] = std::move(edits);
  json out = json::object();
  out["cdiVersion"] = cdi_version;
  out["kind"] = std::string(core::kCdiKind);
  out["devices"] = json::array();
  out["devices"].push_back(std::move(device));
  // Invalid UTF-8 in a copied string would make dump() throw; CDI files are
  // UTF-8, so a replacement character is the honest rendering.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace mpshare::node
