// cpprestsdk's http_listener behind the HttpServer interface.
//
// cpprestsdk calls the listener's handler on its I/O thread before the body
// has arrived, so all real work happens in pplx continuations: the body is
// read chunk by chunk (bounded by max_body_bytes), then the route runs on a
// pool thread, then exactly one reply is sent.

#include "platform/http_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>  // before pplx/threadpool.h, whose Boost.Asio uses std::exchange

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>
#include <nlohmann/json.hpp>

#include "platform/logging.h"
#include "platform/tls_credentials.h"

namespace mpshare::platform {
namespace {

using web::http::http_request;
using web::http::http_response;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr int kPortProbeAttempts = 5;
constexpr auto kDrainTimeout = std::chrono::seconds(30);

// host:port pairs served by this process. cpprestsdk keeps one process-wide
// table keyed by host:port, and a failed second open of a pair already in it
// removes the first server's entry, silently killing it; so refuse up front.
class AddressesInUse {
 public:
  static bool claim(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex());
    return set().insert(address).second;
  }
  static void release(const std::string& address) {
    std::lock_guard<std::mutex> lock(mutex());
    set().erase(address);
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::set<std::string>& set() {
    static std::set<std::string> s;
    return s;
  }
};

HttpResponse jsonError(int status, const std::string& message) {
  nlohmann::json body = {{"error", message}};
  return {status, "application/json",
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// Binds host:0, reads the port the kernel chose and releases it.
uint16_t probeFreePort(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), "0", &hints, &found) != 0 || found == nullptr) {
    throw std::runtime_error("cannot resolve listen address " + host);
  }
  uint16_t port = 0;
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0 && ::bind(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    }
  }
  if (fd >= 0) ::close(fd);
  freeaddrinfo(found);
  if (port == 0) throw std::runtime_error("cannot bind a free port on " + host);
  return port;
}

std::string listenUri(const ServerOptions& options, uint16_t port) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + options.host + "]" : options.host;
  return std::string(options.tls ? "https" : "http") + "://" + host + ":" + std::to_string(port) +
         "/";
}

HttpRequest toRequest(const http_request& request) {
  HttpRequest out;
  out.method = request.method();
  const auto& uri = request.request_uri();
  out.path = uri.path();
  out.query = uri.query();
  for (const auto& [name, value] : request.headers()) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[lower] = value;
  }
  return out;
}

// Reads the body in chunks, keeping at most `limit` bytes. Past the limit it
// keeps draining (the library replies only once the whole body was read) but
// stores nothing, so an oversized body costs no memory. With a Content-Length
// it asks for exactly that many bytes, so a small body costs one task hop, and
// an empty body none: `done` then runs on the caller's thread.
class BodyReader : public std::enable_shared_from_this<BodyReader> {
 public:
  using Done = std::function<void(std::exception_ptr)>;

  BodyReader(concurrency::streams::streambuf<uint8_t> buffer, size_t limit,
             std::optional<size_t> expected, Done done)
      : buffer_(std::move(buffer)),
        limit_(limit),
        expected_(expected),
        oversized_(expected && *expected > limit),
        done_(std::move(done)) {
    if (expected_ && !oversized_) body_.reserve(*expected_);
  }

  void start() {
    if (expected_ && *expected_ == 0) {
      done_(nullptr);
      return;
    }
    chunk_.resize(expected_ && !oversized_ ? std::min(kReadChunkBytes, *expected_)
                                           : kReadChunkBytes);
    next();
  }
  std::string& body() { return body_; }
  [[nodiscard]] bool oversized() const { return oversized_; }

 private:
  void next() {
    size_t want = chunk_.size();
    if (expected_ && !oversized_) want = std::min(want, *expected_ - body_.size());
    auto self = shared_from_this();
    buffer_.getn(chunk_.data(), want).then([self](pplx::task<size_t> read) {
      size_t n = 0;
      try {
        n = read.get();
      } catch (...) {
        self->done_(std::current_exception());
        return;
      }
      if (n == 0) {
        if (self->expected_ && !self->oversized_ && self->body_.size() < *self->expected_) {
          self->done_(std::make_exception_ptr(std::runtime_error(
              "body ended after " + std::to_string(self->body_.size()) + " of " +
              std::to_string(*self->expected_) + " bytes")));
          return;
        }
        self->done_(nullptr);
        return;
      }
      if (!self->oversized_ && self->body_.size() + n > self->limit_) {
        self->oversized_ = true;
        std::string().swap(self->body_);
      }
      if (!self->oversized_) {
        self->body_.append(self->chunk_.begin(), self->chunk_.begin() + static_cast<long>(n));
        if (self->expected_ && self->body_.size() == *self->expected_) {
          self->done_(nullptr);
          return;
        }
      }
      self->next();
    });
  }

  concurrency::streams::streambuf<uint8_t> buffer_;
  const size_t limit_;
  const std::optional<size_t> expected_;  // Content-Length, when sent
  bool oversized_;
  Done done_;
  std::vector<uint8_t> chunk_;
  std::string body_;
};

// State shared with in-flight continuations, which may outlive a stop() that
// timed out waiting for them.
struct ServingState {
  HttpHandler handler;
  size_t max_body_bytes = 0;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable idle;
  int in_flight = 0;

  void begin() {
    std::lock_guard<std::mutex> lock(mutex);
    ++in_flight;
  }
  void end() {
    std::lock_guard<std::mutex> lock(mutex);
    if (--in_flight == 0) idle.notify_all();
  }
};

HttpResponse invokeHandler(const HttpHandler& handler, const HttpRequest& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    logError("request handler failed",
             {{"method", request.method}, {"path", request.path}, {"error", e.what()}});
    return jsonError(500, e.what());
  } catch (...) {
    logError("request handler failed",
             {{"method", request.method}, {"path", request.path}, {"error", "unknown exception"}});
    return jsonError(500, "internal error");
  }
}

// The one place a reply is sent. `state`, when given, counts the request as
// finished only once the reply is written (or failed), so stop() never cuts
// a reply short.
void sendReply(http_request& request, const HttpResponse& response, bool close,
               std::shared_ptr<ServingState> state = nullptr) {
  try {
    http_response reply(static_cast<web::http::status_code>(response.status));
    reply.set_body(response.body, response.content_type);
    if (close) reply.headers().add("Connection", "close");
    request.reply(reply).then([state](pplx::task<void> sent) {
      try {
        sent.get();
      } catch (const std::exception& e) {
        logDebug("reply not delivered", {{"error", e.what()}});  // client went away
      }
      if (state) state->end();
    });
  } catch (const std::exception& e) {
    logWarn("reply failed", {{"error", e.what()}});
    if (state) state->end();
  }
}

// Runs once the body is in (or failed): the route, then the one reply.
void finish(const std::shared_ptr<ServingState>& state, http_request& request,
            HttpRequest& parsed, BodyReader& reader, const std::exception_ptr& read_error) {
  HttpResponse response;
  bool close = false;
  try {
    if (read_error) std::rethrow_exception(read_error);
    if (reader.oversized()) {
      response = jsonError(400, "request body exceeds " + std::to_string(state->max_body_bytes) +
                                    " bytes");
      close = true;
    } else {
      parsed.body = std::move(reader.body());
      response = invokeHandler(state->handler, parsed);
    }
  } catch (const std::exception& e) {
    response = jsonError(400, std::string("cannot read request body: ") + e.what());
    close = true;
  }
  sendReply(request, response, close, state);
}

// Called by the library on its I/O thread once the headers are parsed. The
// library's I/O threads and pplx tasks share one pool, so a route running
// here or in a continuation costs the same: one pool thread while it runs.
void serve(const std::shared_ptr<ServingState>& state, http_request request) {
  if (state->stopping.load()) {
    sendReply(request, jsonError(503, "server is shutting down"), true);
    return;
  }
  state->begin();
  try {
    auto parsed = std::make_shared<HttpRequest>(toRequest(request));
    std::optional<size_t> expected;
    if (parsed->headers.count("content-length") != 0) {
      expected = static_cast<size_t>(request.headers().content_length());
    } else if (parsed->headers.count("transfer-encoding") == 0) {
      expected = 0;  // HTTP/1.1: neither header means no body
    }
    // The reader owns the completion callback and the callback needs the
    // reader: break the cycle through a weak pointer.
    auto holder = std::make_shared<std::weak_ptr<BodyReader>>();
    auto reader = std::make_shared<BodyReader>(
        request.body().streambuf(), state->max_body_bytes, expected,
        [state, request, parsed, holder](std::exception_ptr error) mutable {
          if (auto self = holder->lock()) finish(state, request, *parsed, *self, error);
        });
    *holder = reader;
    reader->start();
  } catch (const std::exception& e) {
    sendReply(request, jsonError(500, e.what()), true, state);
  }
}

class CppRestHttpServer final : public HttpServer {
 public:
  CppRestHttpServer(const ServerOptions& options, HttpHandler handler)
      : state_(std::make_shared<ServingState>()) {
    setHttpThreadPoolSize(kDefaultHttpThreads);  // no-op when already sized
    state_->handler = std::move(handler);
    state_->max_body_bytes = options.max_body_bytes;
    if (options.tls) {
      credentials_ =
          std::make_shared<TlsCredentialStore>(*options.tls, options.tls_reload_interval);
    }
    const int attempts = options.port == 0 ? kPortProbeAttempts : 1;
    for (int attempt = 1;; ++attempt) {
      port_ = options.port != 0 ? options.port : probeFreePort(options.host);
      const std::string uri = listenUri(options, port_);
      try {
        if (!AddressesInUse::claim(uri)) {
          throw std::runtime_error("address already served by this process");
        }
        address_ = uri;
        open(uri);
        logInfo("listening", {{"address", uri}});
        return;
      } catch (const std::exception& e) {
        listener_.reset();
        if (!address_.empty()) AddressesInUse::release(address_);
        address_.clear();
        if (attempt >= attempts) {
          throw std::runtime_error("cannot listen on " + uri + ": " + e.what());
        }
      }
    }
  }

  ~CppRestHttpServer() override { stop(); }

  [[nodiscard]] uint16_t port() const override { return port_; }

  [[nodiscard]] std::string servingCertificate() const override {
    return credentials_ ? credentials_->currentCertificate() : "";
  }

  void stop() override {
    if (!listener_) return;
    state_->stopping = true;
    {
      std::unique_lock<std::mutex> lock(state_->mutex);
      if (!state_->idle.wait_for(lock, kDrainTimeout, [this] { return state_->in_flight == 0; })) {
        logWarn("stopping with requests still in flight", {{"count", std::to_string(state_->in_flight)}});
      }
    }
    try {
      listener_->close().wait();
    } catch (const std::exception& e) {
      logWarn("listener close failed", {{"error", e.what()}});
    }
    listener_.reset();
    AddressesInUse::release(address_);
  }

 private:
  void open(const std::string& uri) {
    http_listener_config config;
    if (credentials_) {
      auto credentials = credentials_;
      config.set_ssl_context_callback([credentials](boost::asio::ssl::context& ctx) {
        try {
          credentials->configureServerContext(ctx.native_handle());
        } catch (const std::exception& e) {
          logError("tls context setup failed", {{"error", e.what()}});
        }
      });
    }
    listener_ = std::make_unique<http_listener>(uri, config);
    auto state = state_;
    listener_->support([state](http_request request) { serve(state, std::move(request)); });
    listener_->open().wait();
  }

  std::shared_ptr<ServingState> state_;
  std::shared_ptr<TlsCredentialStore> credentials_;
  std::unique_ptr<http_listener> listener_;
  std::string address_;  // the listen URI, claimed in AddressesInUse
  uint16_t port_ = 0;
};

}  // namespace

bool setHttpThreadPoolSize(size_t threads) {
  if (threads == 0) throw std::invalid_argument("HTTP thread pool size must be >= 1, got 0");
  try {
    crossplat::threadpool::initialize_with_threads(threads);
    return true;
  } catch (const std::runtime_error&) {
    return false;  // already created, by an earlier call or the library's first use
  }
}

std::unique_ptr<HttpServer> startHttpServer(const ServerOptions& options, HttpHandler handler) {
  return std::make_unique<CppRestHttpServer>(options, std::move(handler));
}

}  // namespace mpshare::platform
