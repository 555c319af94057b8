#pragma once

// Typed calls to the Kubernetes API server: paginated list, watch as a stream
// of events, get a pod, and the Binding subresource. Authentication comes from
// KubeConfig; a 401 re-reads the token file once and retries.

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "platform/kube_client_http.h"
#include "platform/kube_config.h"
#include "platform/kube_event.h"

namespace mpshare::platform {

// A collection and its selectors, e.g. {"/api/v1/nodes", "mpshare.io/mps=enabled", ""}.
struct ResourceQuery {
  std::string path;
  std::string label_selector;
  std::string field_selector;
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // where a watch continues from
  int pages = 0;
};

enum class WatchEnd {
  kClosed,        // the server ended the stream (timeoutSeconds) or was told to stop
  kExpired,       // 410 (HTTP status or ERROR event): relist
  kUnauthorized,  // 401 even after re-reading the token
  kFailed,        // network error, stall, malformed stream, 5xx: rewatch after a backoff
};

struct WatchOutcome {
  WatchEnd end = WatchEnd::kClosed;
  std::string resource_version;  // last seen (event or bookmark); "" if none
  std::string message;
  int events = 0;
};

// Receives each watch event: type is ADDED, MODIFIED, DELETED or BOOKMARK.
using WatchHandler = std::function<void(const std::string& type, const nlohmann::json& object)>;

struct BindRequest {
  std::string namespace_name;
  std::string name;
  std::string uid;  // sent as a precondition
  std::string node;
  std::map<std::string, std::string> annotations;  // merged into the pod by the server
};

// Percent-encodes a query value ("a=b,c!=d" -> "a%3Db%2Cc%21%3Dd").
std::string urlEncode(const std::string& value);

class KubeClient {
 public:
  static core::Result<std::unique_ptr<KubeClient>> create(const KubeConfig& config);

  // Lists every page (limit/continue). With `on_page`, each page's items go
  // there as they arrive (it may move them out) and ListResult.items stays
  // empty. Errors: kUnavailable (network, 5xx, 410 on an expired continue
  // token), kInvalidArgument (401/403, with the server's message).
  core::Result<ListResult> list(
      const ResourceQuery& query, int page_size = 500,
      const std::function<void(std::vector<nlohmann::json>&)>& on_page = nullptr);

  // Watches from `resource_version` with bookmarks until the stream ends; never
  // throws. `limits.idle_timeout` detects a stalled stream.
  WatchOutcome watch(const ResourceQuery& query, const std::string& resource_version,
                     int timeout_seconds, const WatchHandler& handler,
                     const ExchangeLimits& limits);

  // GET /api/v1/namespaces/{ns}/pods/{name}. kNotFound when it is gone.
  core::Result<nlohmann::json> getPod(const std::string& namespace_name, const std::string& name);

  // POST .../pods/{name}/binding with the uid precondition. OK on 2xx; kConflict
  // on 409 (already bound, being deleted, uid changed); kNotFound on 404;
  // kUnavailable otherwise. Messages carry the server's Status message.
  core::Status bind(const BindRequest& request);

  // Sets (a value) or removes (nullopt) metadata keys through a JSON merge
  // patch. With `uid`, the patch carries it as a precondition, so a pod deleted
  // and re-created under the same name is never patched by mistake. Errors as
  // bind(): kConflict on 409, kNotFound on 404, kInvalidArgument on 4xx, else
  // kUnavailable.
  // Example: patchPodAnnotations("ml", "infer-0", {{"mpshare.io/gpu-index", "1"}}, uid).
  using MetadataPatch = std::map<std::string, std::optional<std::string>>;
  core::Status patchPodAnnotations(const std::string& namespace_name, const std::string& name,
                                   const MetadataPatch& annotations, const std::string& uid = "");
  // The same for a node's labels.
  core::Status patchNodeLabels(const std::string& name, const MetadataPatch& labels);

  // POST /api/v1/namespaces/{ns}/events: a v1.Event about a pod (podEventJson).
  // Errors as bind().
  core::Status createEvent(const PodEvent& event);

 private:
  explicit KubeClient(std::unique_ptr<HttpsConnector> connector, const KubeConfig& config);
  // One exchange with a single retry after re-reading the token on 401.
  core::Result<int> send(const ApiRequest& request, const BodySink& sink,
                         const ExchangeLimits& limits, std::string* buffered);
  // One write (bind, patch): the answer mapped onto an error code for `field`.
  core::Status sendWrite(const ApiRequest& request, const std::string& field);

  std::unique_ptr<HttpsConnector> connector_;
  TokenSource tokens_;
};

}  // namespace mpshare::platform
