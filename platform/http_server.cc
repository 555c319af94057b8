// The HttpServer interface on Boost.Asio and Boost.Beast's HTTP/1.1 parser,
// over OpenSSL.
//
// Each server runs `threads` threads, each with its own io_context; accepted
// connections are dealt to them in turn. A connection is a Session: TLS
// handshake, then read a request, run the route on the same thread, write
// the reply, and again while the client keeps the connection alive.
// Requests on one connection are answered in order; connections on
// different threads run in parallel. A route that blocks holds its thread,
// and with it the other connections dealt to that thread. The reply is written as one buffer, so
// with TLS it leaves as one record and usually one segment.
//
// (This replaced cpprestsdk's http_listener, whose per-request task
// machinery cost more than the webhook's whole review: docs/benchmarks.md.)

#include "platform/http_server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "platform/json_text.h"
#include "platform/logging.h"
#include "platform/tls_credentials.h"

namespace mpshare::platform {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// A keep-alive connection may sit idle this long between requests (the Go
// HTTP client the API server uses keeps idle connections for 90 s).
constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kDrainTimeout = std::chrono::seconds(30);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr uint32_t kHeaderLimitBytes = 64 * 1024;
// A body over max_body_bytes is read and dropped (so the client gets its 400
// rather than a reset), but only up to this much more; past it the
// connection is closed.
constexpr uint64_t kDrainAllowanceBytes = 64 << 20;

// A request body kept up to a limit: bytes past it are counted as oversized
// and dropped, so an oversized body costs no memory.
struct CappedBody {
  struct value_type {
    std::string text;
    size_t limit = 0;
    bool oversized = false;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>& /*header*/, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, beast::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.limit) {
        body_.oversized = true;
      } else {
        body_.text.reserve(static_cast<size_t>(*length));
      }
    }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      const size_t n = asio::buffer_size(buffers);
      if (!body_.oversized && body_.text.size() + n > body_.limit) {
        body_.oversized = true;
        std::string().swap(body_.text);
      }
      if (!body_.oversized) {
        for (const auto buffer : beast::buffers_range_ref(buffers)) {
          body_.text.append(static_cast<const char*>(buffer.data()), buffer.size());
        }
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using Parser = http::request_parser<CappedBody>;

// State shared by a server and its sessions, which may outlive a stop() that
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
    return {500, "application/json", errorJson(e.what())};
  } catch (...) {
    logError("request handler failed",
             {{"method", request.method}, {"path", request.path}, {"error", "unknown exception"}});
    return {500, "application/json", errorJson("internal error")};
  }
}

// Moves the body out of `message`.
HttpRequest toRequest(http::request<CappedBody>& message) {
  HttpRequest out;
  out.method = std::string(message.method_string());
  const std::string_view target(message.target().data(), message.target().size());
  const size_t question = target.find('?');
  out.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string_view value(field.value().data(), field.value().size());
    auto [it, inserted] = out.headers.try_emplace(std::move(name), value);
    if (!inserted) it->second.append(", ").append(value);  // repeated header: one list
  }
  out.body = std::move(message.body().text);
  return out;
}

// Status line, headers and body in one buffer.
std::string serialize(const HttpResponse& response, unsigned version, bool close) {
  const beast::string_view reason =
      http::obsolete_reason(static_cast<http::status>(response.status));
  std::string out;
  out.reserve(128 + response.content_type.size() + response.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nContent-Type: ";
  out += response.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(response.body.size());
  out += close ? "\r\nConnection: close\r\n\r\n"
               : (version == 10 ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\n\r\n");
  out += response.body;
  return out;
}

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... Args>
  Session(std::shared_ptr<ServingState> state, tcp::socket socket, Args&&... tls_context)
      : state_(std::move(state)), stream_(std::move(socket), std::forward<Args>(tls_context)...) {}

  void start() {
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (kTls) {
      lowest().expires_after(kHandshakeTimeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  logDebug("tls handshake failed", {{"error", ec.message()}});
                                  return;
                                }
                                self->readHeader();
                              });
    } else {
      readHeader();
    }
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void readHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimitBytes);
    parser_->body_limit(state_->max_body_bytes + kDrainAllowanceBytes);
    parser_->get().body().limit = state_->max_body_bytes;
    lowest().expires_after(kIdleTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    const auto& header = parser_->get();
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      // The client waits for this before it sends the body.
      auto interim =
          std::make_shared<std::string>(header.version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n"
                                                               : "HTTP/1.1 100 Continue\r\n\r\n");
      lowest().expires_after(kWriteTimeout);
      asio::async_write(
          stream_, asio::buffer(*interim),
          [self = this->shared_from_this(), interim](beast::error_code write_ec, size_t) {
            if (write_ec) return;
            self->readBody();
          });
      return;
    }
    readBody();
  }

  void readBody() {
    lowest().expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onRequest(ec); });
  }

  // 400 rather than 413: the API server shows a webhook's 4xx body to the
  // user, and this one names the limit.
  [[nodiscard]] HttpResponse bodyTooLarge() const {
    return {400, "application/json",
            errorJson("request body exceeds " + std::to_string(state_->max_body_bytes) + " bytes")};
  }

  void onReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return reply(bodyTooLarge(), 11, true, false);
    }
    const bool malformed =
        ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (malformed) {
      return reply({400, "application/json", errorJson("malformed HTTP request: " + ec.message())},
                   11, true, false);
    }
    close();  // the client closed, went quiet or vanished mid-request: nothing to answer
  }

  void onRequest(beast::error_code ec) {
    if (ec) return onReadError(ec);
    const auto& message = parser_->get();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    if (message.body().oversized) {
      return reply(bodyTooLarge(), version, true, false);
    }
    if (state_->stopping.load()) {
      return reply({503, "application/json", errorJson("server is shutting down")}, version, true,
                   false);
    }
    state_->begin();
    const HttpRequest request = toRequest(parser_->get());
    reply(invokeHandler(state_->handler, request), version, !keep_alive, true);
  }

  // Writes the one reply to a request; `counted` requests end in state_ once
  // the reply is out (or failed), so stop() never cuts a reply short.
  void reply(const HttpResponse& response, unsigned version, bool close_after, bool counted) {
    out_ = serialize(response, version, close_after);
    lowest().expires_after(kWriteTimeout);
    asio::async_write(
        stream_, asio::buffer(out_),
        [self = this->shared_from_this(), close_after, counted](beast::error_code ec, size_t) {
          if (counted) self->state_->end();
          if (ec) {
            logDebug("reply not delivered", {{"error", ec.message()}});
            return;
          }
          if (close_after) return self->close();
          self->readHeader();
        });
  }

  void close() {
    beast::error_code ignored;
    if constexpr (kTls) {
      // close_notify, so the client sees a clean end rather than a truncation;
      // bounded, since the peer need not answer it.
      lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored_inner;
        self->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored_inner);
      });
    } else {
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  std::shared_ptr<ServingState> state_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::string out_;
};

std::string listenUri(const ServerOptions& options, uint16_t port) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + options.host + "]" : options.host;
  return std::string(options.tls ? "https" : "http") + "://" + host + ":" + std::to_string(port) +
         "/";
}

class AsioHttpServer final : public HttpServer {
 public:
  AsioHttpServer(const ServerOptions& options, HttpHandler handler)
      : state_(std::make_shared<ServingState>()) {
    state_->handler = std::move(handler);
    state_->max_body_bytes = options.max_body_bytes;
    if (options.tls) {
      credentials_ =
          std::make_shared<TlsCredentialStore>(*options.tls, options.tls_reload_interval);
      tls_context_.emplace(ssl::context::tls_server);
      credentials_->configureServerContext(tls_context_->native_handle());
    }
    if (options.threads == 0)
      throw std::invalid_argument("ServerOptions.threads must be >= 1, got 0");
    const size_t threads = options.threads;
    for (size_t i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      keep_running_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    acceptor_.emplace(*contexts_.front());
    retry_timer_.emplace(acceptor_->get_executor());
    try {
      bind(options);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + listenUri(options, options.port) + ": " +
                               e.what());
    }
    port_ = acceptor_->local_endpoint().port();
    logInfo("listening", {{"address", listenUri(options, port_)}});
    accept();
    for (auto& context : contexts_) {
      threads_.emplace_back([&context] { context->run(); });
    }
  }

  ~AsioHttpServer() override { stop(); }

  [[nodiscard]] uint16_t port() const override { return port_; }

  [[nodiscard]] std::string servingCertificate() const override {
    return credentials_ ? credentials_->currentCertificate() : "";
  }

  void stop() override {
    if (contexts_.empty()) return;
    state_->stopping = true;
    // Close the listener on its own thread, then let in-flight requests finish.
    std::promise<void> closed;
    asio::dispatch(acceptor_->get_executor(), [this, &closed] {
      beast::error_code ignored;
      acceptor_->close(ignored);
      retry_timer_->cancel();
      closed.set_value();
    });
    closed.get_future().wait();
    {
      std::unique_lock<std::mutex> lock(state_->mutex);
      if (!state_->idle.wait_for(lock, kDrainTimeout, [this] { return state_->in_flight == 0; })) {
        logWarn("stopping with requests still in flight",
                {{"count", std::to_string(state_->in_flight)}});
      }
    }
    for (auto& context : contexts_) context->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    keep_running_.clear();
    retry_timer_.reset();
    acceptor_.reset();
    contexts_.clear();  // destroys idle connections' sessions
  }

 private:
  void bind(const ServerOptions& options) {
    tcp::resolver resolver(*contexts_.front());
    const auto endpoints =
        resolver.resolve(options.host, std::to_string(options.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service);
    if (endpoints.empty()) throw std::runtime_error("cannot resolve " + options.host);
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_->open(endpoint.protocol());
    acceptor_->set_option(asio::socket_base::reuse_address(true));
    acceptor_->bind(endpoint);
    acceptor_->listen(asio::socket_base::max_listen_connections);
  }

  void accept() {
    // Connections are dealt to the threads in turn and stay on theirs.
    asio::io_context& next = *contexts_[next_context_++ % contexts_.size()];
    acceptor_->async_accept(next, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
      if (ec) {
        // Out of file descriptors, say: retry shortly rather than spin.
        logWarn("accept failed", {{"error", ec.message()}});
        retry_timer_->expires_after(kAcceptRetryDelay);
        retry_timer_->async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor_->is_open()) accept();
        });
        return;
      }
      {
        if (tls_context_) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(state_, std::move(socket),
                                                                          *tls_context_)
              ->start();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(state_, std::move(socket))->start();
        }
      }
      accept();
    });
  }

  std::shared_ptr<ServingState> state_;
  std::shared_ptr<TlsCredentialStore> credentials_;
  std::optional<ssl::context> tls_context_;  // outlives contexts_ and their sessions
  // One event loop per thread: a connection's reads, route and writes all run
  // on one thread, with no hand-offs between threads (which cost a wake-up
  // and the route's data cache each time).
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  size_t next_context_ = 0;  // touched only on the acceptor's thread
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> retry_timer_;  // on the acceptor's thread
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> startHttpServer(const ServerOptions& options, HttpHandler handler) {
  return std::make_unique<AsioHttpServer>(options, std::move(handler));
}

}  // namespace mpshare::platform
