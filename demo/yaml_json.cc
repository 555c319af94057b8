#include "demo/yaml_json.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "platform/yaml_json.h"

namespace mpshare::demo {

nlohmann::json loadYamlAsJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  auto document = platform::yamlToJson(text.str(), platform::YamlScalars::kTyped);
  if (!document) throw std::runtime_error(path + ": " + document.error().message);
  return std::move(*document);
}

}  // namespace mpshare::demo
