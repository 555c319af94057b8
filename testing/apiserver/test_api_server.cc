#include "testing/apiserver/test_api_server.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "platform/kube_client_http.h"
#include "platform/self_signed_cert.h"

namespace mpshare::kubetest {
namespace {

// Compiled once before main(): compiling a std::regex fills libstdc++'s shared
// ctype cache, which connection threads compiling at once would race on.
const std::regex kContentLength("\r\n[Cc]ontent-[Ll]ength: *([0-9]+)");
const std::regex kAuthorization("\r\n[Aa]uthorization: *([^\r]*)");
const std::regex kPod("^/api/v1/namespaces/([^/]+)/pods/([^/]+)(/binding)?$");
const std::regex kEvents("^/api/v1/namespaces/([^/]+)/events$");
const std::regex kNode("^/api/v1/nodes/([^/]+)$");
const std::regex kContentType("\r\n[Cc]ontent-[Tt]ype: *([^\r;]*)");

std::string urlDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

struct TestApiServer::Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string authorization;
  std::string content_type;
  std::string body;
};

// One accepted TLS connection.
class TestApiServer::Stream {
 public:
  Stream(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~Stream() {
    SSL_free(ssl_);
    close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool handshake() { return SSL_accept(ssl_) == 1; }

  bool readRequest(Request& request, const std::atomic<bool>& stopping) {
    std::string data;
    char buf[8192];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (true) {
      if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
      if (SSL_pending(ssl_) == 0) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 100) == 0) {
          if (stopping) return false;
          continue;
        }
      }
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return false;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::smatch m;
          const std::string head = data.substr(0, header_end);
          if (std::regex_search(head, m, kContentLength)) {
            content_length = std::stoul(m[1]);
          }
        }
      }
    }
    const std::string head = data.substr(0, header_end);
    request.body = data.substr(header_end + 4, content_length);
    const auto sp1 = head.find(' ');
    const auto sp2 = head.find(' ', sp1 + 1);
    request.method = head.substr(0, sp1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto qmark = target.find('?');
    request.path = target.substr(0, qmark);
    if (qmark != std::string::npos) {
      std::stringstream in(target.substr(qmark + 1));
      for (std::string kv; std::getline(in, kv, '&');) {
        const auto eq = kv.find('=');
        request.query[urlDecode(kv.substr(0, eq))] =
            eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1));
      }
    }
    std::smatch m;
    if (std::regex_search(head, m, kAuthorization)) request.authorization = m[1];
    if (std::regex_search(head, m, kContentType)) request.content_type = m[1];
    return true;
  }

  bool write(std::string_view data) {
    while (!data.empty()) {
      const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool respond(int status, const json& body) {
    const std::string text = body.dump();
    return write("HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
                 "\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text);
  }

  bool startChunked() {
    return write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n");
  }

  bool chunk(std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return write(std::string(size) + std::string(data) + "\r\n");
  }

  bool endChunked() { return write("0\r\n\r\n"); }

 private:
  SSL* ssl_;
  int fd_;
};

TestApiServer::TestApiServer(std::string token) : token_(std::move(token)) {
  const platform::PemPair ca = platform::generateCa("mpshare test apiserver CA");
  const platform::PemPair leaf = platform::issueCertificate(
      ca, {.common_name = "kube-apiserver", .subject_alt_names = {"127.0.0.1", "localhost"}});
  ca_pem_ = ca.cert_pem;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BIO* bio = BIO_new_mem_buf(leaf.cert_pem.data(), static_cast<int>(leaf.cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(leaf.key_pem.data(), static_cast<int>(leaf.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr || key == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    throw std::runtime_error("test apiserver: cannot load its certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  ssl_ctx_ = ctx;

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("test apiserver: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestApiServer::~TestApiServer() {
  stopping_ = true;
  store_.notifyAll();
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& t : connections) t.join();
  close(listen_fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

platform::KubeConfig TestApiServer::clientConfig() const {
  platform::KubeConfig config;
  config.server = {"127.0.0.1", port_};
  config.ca_pem = ca_pem_;
  std::lock_guard lock(mutex_);
  config.token = token_;
  return config;
}

void TestApiServer::setToken(std::string token) {
  std::lock_guard lock(mutex_);
  token_ = std::move(token);
}

void TestApiServer::failNext(int count, int status, std::string path_part) {
  std::lock_guard lock(mutex_);
  fail_count_ = count;
  fail_status_ = status;
  fail_path_ = std::move(path_part);
}

void TestApiServer::dropWatchesMidEvent() {
  ++drop_generation_;
  store_.notifyAll();
}

void TestApiServer::setStalled(bool stalled) {
  stalled_ = stalled;
  store_.notifyAll();
}

void TestApiServer::expireWatches(bool as_http_status) {
  {
    std::lock_guard lock(mutex_);
    expire_as_http_ = as_http_status;
  }
  store_.compact();
  ++expire_generation_;
  store_.notifyAll();
}

void TestApiServer::sendBookmarks() {
  ++bookmark_generation_;
  store_.notifyAll();
}

void TestApiServer::closeWatches() {
  ++close_generation_;
  store_.notifyAll();
}

void TestApiServer::acceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestApiServer::serve(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
  // A client that hangs up mid-stream must cost a failed write, not the process.
  BIO* bio = platform::newNoSigpipeSocketBio(fd);
  SSL_set_bio(ssl, bio, bio);
  Stream stream(ssl, fd);
  Request request;
  if (!stream.handshake() || !stream.readRequest(request, stopping_)) return;
  ++requests_;
  handle(stream, request);
}

bool TestApiServer::authorized(const Request& request) {
  std::lock_guard lock(mutex_);
  return request.authorization == "Bearer " + token_;
}

void TestApiServer::handle(Stream& stream, const Request& request) {
  if (!authorized(request)) {
    ++unauthorized_;
    stream.respond(401, statusObject(401, "Unauthorized", "Unauthorized"));
    return;
  }
  int injected = 0;
  {
    std::lock_guard lock(mutex_);
    if (fail_count_ > 0 && request.path.find(fail_path_) != std::string::npos) {
      --fail_count_;
      injected = fail_status_;
    }
  }
  if (injected != 0) {
    stream.respond(injected,
                   statusObject(injected, injected == 410 ? "Expired" : "InternalError",
                                injected == 410 ? "too old resource version" : "injected failure"));
    return;
  }
  const bool watch = request.query.count("watch") && request.query.at("watch") != "0" &&
                     request.query.at("watch") != "false";
  if (request.method == "GET" &&
      (request.path == "/api/v1/pods" || request.path == "/api/v1/nodes")) {
    const Kind kind = request.path == "/api/v1/pods" ? Kind::kPods : Kind::kNodes;
    watch ? handleWatch(stream, kind, request) : handleList(stream, kind, request);
    return;
  }
  std::smatch m;
  if (request.method == "POST" && std::regex_match(request.path, m, kEvents)) {
    // As the API server: a v1.Event in the URL's namespace about some object.
    json event = json::parse(request.body, nullptr, false);
    if (event.is_discarded() || !event.is_object() || event.value("kind", "") != "Event" ||
        !event.contains("involvedObject") || event.value("reason", "").empty() ||
        !event.contains("metadata") || !event["metadata"].is_object() ||
        event["metadata"].value("namespace", std::string(m[1])) != std::string(m[1])) {
      stream.respond(422, statusObject(422, "Invalid",
                                       "Event is invalid: kind, involvedObject, reason and the "
                                       "URL's namespace are required"));
      return;
    }
    std::lock_guard lock(mutex_);
    event["metadata"]["namespace"] = std::string(m[1]);
    event["metadata"]["name"] = event["metadata"].value("generateName", std::string("event.")) +
                                std::to_string(events_.size());
    events_.push_back(event);
    stream.respond(201, event);
    return;
  }
  if (std::regex_match(request.path, m, kPod)) {
    const std::string ns = m[1];
    const std::string name = m[2];
    if (request.method == "POST" && m[3].matched) {
      json binding;
      try {
        binding = json::parse(request.body);
      } catch (const json::exception&) {
        stream.respond(400, statusObject(400, "BadRequest", "malformed Binding body"));
        return;
      }
      const ApiAnswer answer = store_.bind(ns, name, binding);
      stream.respond(answer.status, answer.body);
      return;
    }
    if (request.method == "PATCH" && !m[3].matched) {
      handlePatch(stream, Kind::kPods, ns + "/" + name, request);
      return;
    }
    if (request.method == "GET" && !m[3].matched) {
      auto pod = store_.get(Kind::kPods, ns + "/" + name);
      pod ? stream.respond(200, *pod)
          : stream.respond(404, statusObject(404, "NotFound", "pods \"" + name + "\" not found"));
      return;
    }
  }
  if (std::regex_match(request.path, m, kNode)) {
    if (request.method == "PATCH") {
      handlePatch(stream, Kind::kNodes, m[1], request);
      return;
    }
    if (request.method == "GET") {
      auto node = store_.get(Kind::kNodes, m[1]);
      node ? stream.respond(200, *node)
           : stream.respond(404, statusObject(404, "NotFound",
                                              "nodes \"" + std::string(m[1]) + "\" not found"));
      return;
    }
  }
  stream.respond(404,
                 statusObject(404, "NotFound", "the server could not find the requested resource"));
}

std::vector<json> TestApiServer::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

void TestApiServer::handlePatch(Stream& stream, Kind kind, const std::string& key,
                                const Request& request) {
  // The API server takes JSON Patch, merge patch and strategic merge patch; for
  // metadata maps the last two behave alike, JSON Patch is not served here.
  if (request.content_type != "application/merge-patch+json" &&
      request.content_type != "application/strategic-merge-patch+json") {
    stream.respond(
        415, statusObject(
                 415, "UnsupportedMediaType",
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/merge-patch+json, application/strategic-merge-patch+json"));
    return;
  }
  json patch;
  try {
    patch = json::parse(request.body);
  } catch (const json::exception&) {
    stream.respond(400, statusObject(400, "BadRequest", "malformed patch body"));
    return;
  }
  const ApiAnswer answer = store_.patch(kind, key, patch);
  stream.respond(answer.status, answer.body);
}

void TestApiServer::handleList(Stream& stream, Kind kind, const Request& request) {
  const auto get = [&](const char* key) {
    return request.query.count(key) ? request.query.at(key) : "";
  };
  const size_t limit = get("limit").empty() ? 0 : std::stoul(get("limit"));
  std::shared_ptr<const std::vector<json>> snapshot;
  int64_t rv = 0;
  size_t offset = 0;
  std::string token = get("continue");
  bool expired = false;
  {
    std::lock_guard lock(mutex_);
    if (!token.empty()) {
      auto it = continues_.find(token.substr(0, token.find(':')));
      if (it == continues_.end()) {
        expired = true;
      } else {
        snapshot = it->second.first;
        rv = it->second.second;
        offset = std::stoul(token.substr(token.find(':') + 1));
      }
    }
  }
  if (expired) {
    stream.respond(410, statusObject(410, "Expired", "The provided continue parameter is too old"));
    return;
  }
  if (token.empty()) {
    auto selector = Selector::parse(get("labelSelector"), get("fieldSelector"));
    if (!selector) {
      stream.respond(400, statusObject(400, "BadRequest", selector.error().describe()));
      return;
    }
    snapshot = std::make_shared<const std::vector<json>>(store_.list(kind, *selector, &rv));
  }
  const std::vector<json>& items = *snapshot;
  const size_t end = limit == 0 ? items.size() : std::min(items.size(), offset + limit);
  json page = {{"kind", kind == Kind::kPods ? "PodList" : "NodeList"},
               {"apiVersion", "v1"},
               {"metadata", {{"resourceVersion", std::to_string(rv)}}},
               {"items", json::array()}};
  for (size_t i = offset; i < end; ++i) {
    json item = items[i];
    item.erase("kind");
    item.erase("apiVersion");
    page["items"].push_back(std::move(item));
  }
  if (end < items.size()) {
    std::lock_guard lock(mutex_);
    // A continue token pins the snapshot, so every page is read at one version.
    const std::string id = token.empty() ? "c" + std::to_string(++continue_counter_)
                                         : token.substr(0, token.find(':'));
    if (token.empty()) continues_[id] = {snapshot, rv};
    page["metadata"]["continue"] = id + ":" + std::to_string(end);
    page["metadata"]["remainingItemCount"] = items.size() - end;
  } else if (!token.empty()) {
    // The last page: the pinned snapshot is no longer needed.
    std::lock_guard lock(mutex_);
    continues_.erase(token.substr(0, token.find(':')));
  }
  stream.respond(200, page);
}

void TestApiServer::handleWatch(Stream& stream, Kind kind, const Request& request) {
  const auto get = [&](const char* key) {
    return request.query.count(key) ? request.query.at(key) : "";
  };
  auto selector = Selector::parse(get("labelSelector"), get("fieldSelector"));
  if (!selector) {
    stream.respond(400, statusObject(400, "BadRequest", selector.error().describe()));
    return;
  }
  const std::string rv_text = get("resourceVersion");
  const bool bookmarks = get("allowWatchBookmarks") == "true";
  const int timeout_s = get("timeoutSeconds").empty() ? 1800 : std::stoi(get("timeoutSeconds"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const int drop_at = drop_generation_, expire_at = expire_generation_,
            close_at = close_generation_;
  int bookmark_at = bookmark_generation_;
  ++watches_started_;
  std::vector<std::string> pending;
  int64_t cursor = 0;
  if (rv_text.empty() || rv_text == "0") {
    // No version: replay the current state as ADDED first.
    for (const auto& object : store_.list(kind, *selector, &cursor)) {
      pending.push_back(json{{"type", "ADDED"}, {"object", object}}.dump() + "\n");
    }
  } else {
    cursor = std::stoll(rv_text);
    std::vector<StoredEvent> probe;
    if (!store_.eventsAfter(kind, cursor, probe)) {
      bool as_http;
      {
        std::lock_guard lock(mutex_);
        as_http = expire_as_http_;
      }
      const json status = statusObject(410, "Expired",
                                       "too old resource version: " + rv_text + " (" +
                                           std::to_string(store_.resourceVersion()) + ")");
      if (as_http) {
        stream.respond(410, status);
      } else if (stream.startChunked()) {
        stream.chunk(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
        stream.endChunked();
      }
      return;
    }
  }
  if (!stream.startChunked()) return;
  ++open_watches_;
  std::mt19937_64 random(chunk_seed_.load() + static_cast<uint64_t>(watches_started_.load()));
  auto send = [&](const std::string& text) {
    if (chunk_seed_.load() == 0) return stream.chunk(text);
    for (size_t i = 0; i < text.size();) {
      const size_t n = std::min<size_t>(text.size() - i, 1 + random() % 64);
      if (!stream.chunk(std::string_view(text).substr(i, n))) return false;
      i += n;
    }
    return true;
  };
  bool ok = true;
  while (ok && !stopping_) {
    if (expire_generation_ != expire_at) {
      const json status =
          statusObject(410, "Expired", "too old resource version: " + std::to_string(cursor));
      send(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
      stream.endChunked();
      break;
    }
    if (close_generation_ != close_at || std::chrono::steady_clock::now() >= deadline) {
      stream.endChunked();
      break;
    }
    if (stalled_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    std::vector<StoredEvent> events;
    int64_t seen = cursor;
    store_.eventsAfter(kind, cursor, events, &seen);
    for (const auto& e : events) {
      cursor = e.resource_version;
      const bool now = selector->matches(e.object);
      const bool before = !e.previous.is_null() && selector->matches(e.previous);
      // Like the watch cache: an object leaving the selection is DELETED for it.
      std::string type = e.type;
      if (e.type == "MODIFIED" && now && !before) type = "ADDED";
      if (e.type == "MODIFIED" && !now && before) type = "DELETED";
      if (e.type == "DELETED" && !before) continue;
      if ((e.type == "ADDED" || e.type == "MODIFIED") && !now && !before) continue;
      pending.push_back(json{{"type", type}, {"object", e.object}}.dump() + "\n");
    }
    // Events of the other kind also move the version; skip past them.
    cursor = std::max(cursor, seen);
    if (bookmarks && bookmark_generation_ != bookmark_at) {
      bookmark_at = bookmark_generation_;
      json object = {{"kind", kind == Kind::kPods ? "Pod" : "Node"},
                     {"apiVersion", "v1"},
                     {"metadata", {{"resourceVersion", std::to_string(cursor)}}}};
      pending.push_back(json{{"type", "BOOKMARK"}, {"object", object}}.dump() + "\n");
    }
    for (const auto& text : pending) {
      if (drop_generation_ != drop_at) {
        // Fault: half an event, then the connection is gone.
        stream.chunk(std::string_view(text).substr(0, text.size() / 2));
        ok = false;
        break;
      }
      if (!(ok = send(text))) break;
    }
    pending.clear();
    if (ok && drop_generation_ != drop_at) {
      stream.chunk("{\"type\":\"MODIFIED\",\"object\":{\"kind\":");
      break;
    }
    if (ok)
      store_.waitPast(cursor, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(50)));
  }
  --open_watches_;
}

}  // namespace mpshare::kubetest
