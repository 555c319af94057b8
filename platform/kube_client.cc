#include "platform/kube_client.h"

#include "platform/json_limits.h"
#include "platform/kube_watch_stream.h"

namespace mpshare::platform {
namespace {

using core::Error;
using core::ErrorCode;
using core::Result;
using nlohmann::json;

// The Status message of an error body, or the body itself when it is not a Status.
std::string statusMessage(int status, const std::string& body) {
  std::string message;
  // Every answer goes through parseJson: it refuses one nested past
  // kMaxJsonDepth before building a tree, whose copies would recurse that deep.
  if (const auto parsed = parseJson(body, "status"); parsed && parsed->is_object()) {
    const auto it = parsed->find("message");
    if (it != parsed->end() && it->is_string()) message = it->get<std::string>();
  }
  if (message.empty()) message = body.substr(0, 200);
  return "HTTP " + std::to_string(status) + ": " + message;
}

std::string withQuery(const ResourceQuery& query,
                      std::vector<std::pair<std::string, std::string>> params) {
  if (!query.label_selector.empty()) params.emplace_back("labelSelector", query.label_selector);
  if (!query.field_selector.empty()) params.emplace_back("fieldSelector", query.field_selector);
  std::string target = query.path;
  char sep = '?';
  for (const auto& [key, value] : params) {
    target += sep + key + "=" + urlEncode(value);
    sep = '&';
  }
  return target;
}

}  // namespace

std::string urlEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(const KubeConfig& config) {
  auto connector = HttpsConnector::create(config);
  if (!connector) return connector.error();
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(*connector), config));
}

KubeClient::KubeClient(std::unique_ptr<HttpsConnector> connector, const KubeConfig& config)
    : connector_(std::move(connector)), tokens_(config) {}

Result<int> KubeClient::send(const ApiRequest& request, const BodySink& sink,
                             const ExchangeLimits& limits, std::string* buffered) {
  for (int attempt = 0;; ++attempt) {
    if (buffered != nullptr) buffered->clear();
    // A 401 body is never handed to `sink`: the retry gets the real answer.
    const BodySink guarded = [&](int status, std::string_view body) {
      if (status == 401) return true;
      if (buffered != nullptr) buffered->append(body);
      return sink ? sink(status, body) : true;
    };
    auto status = connector_->exchange(request, tokens_.token(), guarded, limits);
    if (!status || *status != 401) return status;
    // A projected token may have rotated since it was read: read it again once.
    tokens_.invalidate();
    if (attempt == 1) return status;
  }
}

Result<ListResult> KubeClient::list(const ResourceQuery& query, int page_size,
                                    const std::function<void(std::vector<json>&)>& on_page) {
  ListResult result;
  std::string continue_token;
  do {
    std::vector<std::pair<std::string, std::string>> params{{"limit", std::to_string(page_size)}};
    if (!continue_token.empty()) params.emplace_back("continue", continue_token);
    ApiRequest request{"GET", withQuery(query, params), "", ""};
    std::string body;
    auto status = send(request, nullptr, ExchangeLimits{}, &body);
    if (!status) return status.error();
    if (*status == 401 || *status == 403) {
      return core::invalidArgument(query.path, "list refused: " + statusMessage(*status, body));
    }
    if (*status != 200) {
      return Error{ErrorCode::kUnavailable, query.path,
                   "list failed: " + statusMessage(*status, body)};
    }
    std::vector<json> items;
    auto read = parseJson(body, "page");
    if (!read)
      return Error{ErrorCode::kUnavailable, query.path,
                   "malformed list page: " + read.error().message};
    try {
      json page = std::move(*read);
      body = {};  // the text is no longer needed once parsed
      for (auto& item : page.at("items")) items.push_back(std::move(item));
      const json& meta = page.at("metadata");
      result.resource_version = meta.value("resourceVersion", "");
      continue_token = meta.value("continue", "");
    } catch (const json::exception& e) {
      return Error{ErrorCode::kUnavailable, query.path,
                   std::string("malformed list page: ") + e.what()};
    }
    ++result.pages;
    if (on_page) {
      on_page(items);
    } else {
      for (auto& item : items) result.items.push_back(std::move(item));
    }
  } while (!continue_token.empty());
  return result;
}

WatchOutcome KubeClient::watch(const ResourceQuery& query, const std::string& resource_version,
                               int timeout_seconds, const WatchHandler& handler,
                               const ExchangeLimits& limits) {
  WatchOutcome outcome;
  outcome.resource_version = resource_version;
  ApiRequest request{"GET",
                     withQuery(query, {{"watch", "1"},
                                       {"resourceVersion", resource_version},
                                       {"allowWatchBookmarks", "true"},
                                       {"timeoutSeconds", std::to_string(timeout_seconds)}}),
                     "", ""};
  JsonObjectSplitter splitter;
  std::vector<std::string> objects;
  std::string error_body;
  int http_status = 0;
  bool stop = false;
  const BodySink sink = [&](int status, std::string_view body) {
    http_status = status;
    if (status != 200) {
      error_body.append(body);
      return true;
    }
    objects.clear();
    if (auto s = splitter.feed(body, objects); !s) {
      outcome.end = WatchEnd::kFailed;
      outcome.message = s.error().describe();
      stop = true;
      return false;
    }
    for (const auto& text : objects) {
      auto read = parseJson(text, "event");
      if (!read) {
        outcome.end = WatchEnd::kFailed;
        outcome.message = "malformed watch event: " + read.error().message;
        stop = true;
        return false;
      }
      try {
        const json event = std::move(*read);
        const std::string type = event.at("type").get<std::string>();
        const json& object = event.at("object");
        if (type == "ERROR") {
          const int code = object.value("code", 0);
          outcome.end = code == 410 ? WatchEnd::kExpired : WatchEnd::kFailed;
          outcome.message = "ERROR event: " + statusMessage(code, object.dump());
          stop = true;
          return false;
        }
        const std::string rv = object.at("metadata").value("resourceVersion", "");
        handler(type, object);
        ++outcome.events;
        if (!rv.empty()) outcome.resource_version = rv;
      } catch (const json::exception& e) {
        outcome.end = WatchEnd::kFailed;
        outcome.message = std::string("malformed watch event: ") + e.what();
        stop = true;
        return false;
      }
    }
    return true;
  };
  auto status = send(request, sink, limits, nullptr);
  if (stop) return outcome;
  if (!status) {
    outcome.end = WatchEnd::kFailed;
    outcome.message = status.error().message;
    return outcome;
  }
  http_status = *status;
  if (http_status == 410) {
    outcome.end = WatchEnd::kExpired;
    outcome.message = statusMessage(410, error_body);
  } else if (http_status == 401 || http_status == 403) {
    outcome.end = WatchEnd::kUnauthorized;
    outcome.message = statusMessage(http_status, error_body);
  } else if (http_status != 200) {
    outcome.end = WatchEnd::kFailed;
    outcome.message = statusMessage(http_status, error_body);
  } else if (splitter.midObject()) {
    outcome.end = WatchEnd::kFailed;
    outcome.message = "stream ended in the middle of an event";
  }
  return outcome;
}

Result<json> KubeClient::getPod(const std::string& namespace_name, const std::string& name) {
  ApiRequest request{"GET",
                     "/api/v1/namespaces/" + urlEncode(namespace_name) + "/pods/" + urlEncode(name),
                     "", ""};
  std::string body;
  auto status = send(request, nullptr, ExchangeLimits{}, &body);
  if (!status) return status.error();
  if (*status == 404)
    return Error{ErrorCode::kNotFound, namespace_name + "/" + name, "pod not found"};
  if (*status != 200)
    return Error{ErrorCode::kUnavailable, namespace_name + "/" + name,
                 statusMessage(*status, body)};
  auto pod = parseJson(body, "pod");
  if (!pod)
    return Error{ErrorCode::kUnavailable, namespace_name + "/" + name,
                 "malformed pod: " + pod.error().message};
  return pod;
}

core::Status KubeClient::bind(const BindRequest& request) {
  json metadata = {{"name", request.name}, {"namespace", request.namespace_name}};
  if (!request.uid.empty()) metadata["uid"] = request.uid;
  if (!request.annotations.empty()) metadata["annotations"] = request.annotations;
  const json binding = {
      {"apiVersion", "v1"},
      {"kind", "Binding"},
      {"metadata", metadata},
      {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", request.node}}}};
  ApiRequest http{"POST",
                  "/api/v1/namespaces/" + urlEncode(request.namespace_name) + "/pods/" +
                      urlEncode(request.name) + "/binding",
                  binding.dump(), "application/json"};
  return sendWrite(http, request.namespace_name + "/" + request.name);
}

namespace {

json metadataPatch(const char* map_name, const KubeClient::MetadataPatch& entries,
                   const std::string& uid) {
  json values = json::object();
  for (const auto& [key, value] : entries) {
    values[key] = value ? json(*value) : json(nullptr);  // null deletes the key in a merge patch
  }
  json metadata = {{map_name, std::move(values)}};
  if (!uid.empty()) metadata["uid"] = uid;
  return {{"metadata", std::move(metadata)}};
}

}  // namespace

core::Status KubeClient::patchPodAnnotations(const std::string& namespace_name,
                                             const std::string& name,
                                             const MetadataPatch& annotations,
                                             const std::string& uid) {
  ApiRequest http{
      "PATCH", "/api/v1/namespaces/" + urlEncode(namespace_name) + "/pods/" + urlEncode(name),
      metadataPatch("annotations", annotations, uid).dump(), "application/merge-patch+json"};
  return sendWrite(http, namespace_name + "/" + name);
}

core::Status KubeClient::patchNodeLabels(const std::string& name, const MetadataPatch& labels) {
  ApiRequest http{"PATCH", "/api/v1/nodes/" + urlEncode(name),
                  metadataPatch("labels", labels, "").dump(), "application/merge-patch+json"};
  return sendWrite(http, name);
}

core::Status KubeClient::createEvent(const PodEvent& event) {
  ApiRequest http{"POST", "/api/v1/namespaces/" + urlEncode(event.namespace_name) + "/events",
                  podEventJson(event, std::chrono::system_clock::now()).dump(), "application/json"};
  return sendWrite(http, event.namespace_name + "/" + event.pod_name);
}

core::Status KubeClient::sendWrite(const ApiRequest& request, const std::string& field) {
  std::string body;
  auto status = send(request, nullptr, ExchangeLimits{}, &body);
  if (!status) return Error{ErrorCode::kUnavailable, field, status.error().message};
  if (*status >= 200 && *status < 300) return {};
  if (*status == 409) return Error{ErrorCode::kConflict, field, statusMessage(*status, body)};
  if (*status == 404) return Error{ErrorCode::kNotFound, field, statusMessage(*status, body)};
  if (*status == 400 || *status == 401 || *status == 403 || *status == 415 || *status == 422) {
    return core::invalidArgument(field, statusMessage(*status, body));
  }
  return Error{ErrorCode::kUnavailable, field, statusMessage(*status, body)};
}

}  // namespace mpshare::platform
