#pragma once

// Node inventory from a v1.NodeList document (YAML or JSON), for --nodes FILE in
// standalone mode and the demo's embedded inventory.

#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"
#include "core/result.h"
#include "extender/seams.h"

namespace mpshare::extender {

// The nodes of a NodeList ("kind: NodeList", "items: [...]"), a List, or a single
// Node. Errors name the item, e.g. `items[1].metadata.name: is missing`.
core::Result<std::vector<core::NodeView>> parseNodeList(std::string_view text);

// Reads `path` once and feeds every node into the sink.
class FileNodeSource : public NodeSource {
 public:
  explicit FileNodeSource(std::string path) : path_(std::move(path)) {}
  core::Status start(InventorySink& sink) override;

 private:
  std::string path_;
};

// Feeds nodes already parsed (the demo's embedded inventory).
class StaticNodeSource : public NodeSource {
 public:
  explicit StaticNodeSource(std::vector<core::NodeView> nodes) : nodes_(std::move(nodes)) {}
  core::Status start(InventorySink& sink) override;

 private:
  std::vector<core::NodeView> nodes_;
};

}  // namespace mpshare::extender
