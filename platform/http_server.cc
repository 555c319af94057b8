// The HttpServer interface on Boost.Asio and Boost.Beast's HTTP/1.1 parser,
// over OpenSSL.
//
// Each server runs `threads` threads, each with its own io_context, and one
// more that accepts connections and deals them to those in turn. A
// connection is a Session: TLS handshake, then read a request, run the route
// on the same thread, write the reply, and again while the client keeps the
// connection alive. Requests on one connection are answered in order;
// connections on different threads run in parallel. A route that blocks
// holds its thread, and with it the other connections dealt to that thread.
// The reply is written as one buffer, so with TLS it leaves as one record and
// usually one segment.
//
// Every stage of a connection has a deadline (handshake, idle between
// requests, reading a request, writing a reply, closing), kept by one timer
// per connection that wakes at most every read_timeout and is not re-armed
// per request, where Beast's own stream timeouts re-armed once per operation.
//
// (This replaced cpprestsdk's http_listener, whose per-request task
// machinery cost more than the webhook's whole review: docs/benchmarks.md.)

#include "platform/http_server.h"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
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
#include <unordered_set>
#include <utility>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif

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

using Clock = std::chrono::steady_clock;

constexpr auto kWriteTimeout = std::chrono::seconds(30);
// close_notify is sent and the peer's awaited this long; it need not answer.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
// Once stopping, a connection idle this long is closed. Not at once: a client
// may have a request on its way, and closing under it loses that request.
constexpr auto kStopLinger = std::chrono::seconds(1);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// After a burst of closed connections, freed memory goes back to the system
// (malloc keeps it otherwise): checked this often, done past kTrimAfterCloses.
constexpr auto kTrimInterval = std::chrono::seconds(2);
constexpr size_t kTrimAfterCloses = 64;
// A read buffer grown past this by a large request is freed while idle.
constexpr size_t kKeptBufferBytes = 16 * 1024;
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

// State shared by a server and its sessions.
struct ServingState {
  HttpHandler handler;
  ServerOptions options;  // limits and timeouts
  std::atomic<bool> stopping{false};
  std::atomic<size_t> connections{0};
  std::atomic<size_t> closed_since_trim{0};
  std::mutex mutex;
  std::condition_variable idle;  // connections reached 0

  void connectionClosed() {
    closed_since_trim.fetch_add(1, std::memory_order_relaxed);
    if (connections.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      idle.notify_all();
    }
  }
};

// What stop() needs of a connection, whatever its stream type.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Both run on the session's thread.
  virtual void start() = 0;
  // Once the server is stopping.
  virtual void onStop() = 0;
};

// One thread's event loop and the connections it serves.
struct Worker {
  std::unordered_set<SessionBase*> sessions;  // only touched on this worker's thread
  asio::io_context context{1};                // destroyed first: its sessions leave `sessions`
};

std::string describeDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

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
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  enum class Phase { kHandshake, kIdle, kReading, kWriting, kClosing, kDone };

 public:
  template <class... Args>
  Session(std::shared_ptr<ServingState> state, Worker& worker, tcp::socket socket,
          Args&&... tls_context)
      : state_(std::move(state)),
        worker_(worker),
        stream_(std::move(socket), std::forward<Args>(tls_context)...),
        watchdog_(beast::get_lowest_layer(stream_).get_executor()) {}

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  ~Session() override {
    worker_.sessions.erase(this);
    state_->connectionClosed();
  }

  void start() override {
    worker_.sessions.insert(this);
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (kTls) {
      deadline_ = Clock::now() + state_->options.handshake_timeout;
      phase_ = Phase::kHandshake;
      armWatchdog();
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  logDebug("tls handshake failed", {{"error", ec.message()}});
                                  return;
                                }
                                self->waitForRequest();
                              });
    } else {
      deadline_ = Clock::now() + state_->options.idle_timeout;
      armWatchdog();
      waitForRequest();
    }
  }

  void onStop() override {
    if (phase_ == Phase::kIdle) enter(Phase::kIdle, kStopLinger);
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // Moves to `phase`, which must end within `timeout`.
  void enter(Phase phase, std::chrono::milliseconds timeout) {
    phase_ = phase;
    deadline_ = Clock::now() + timeout;
    // Too late a wake-up: wake it now to re-arm sooner. Never for a request's
    // read (the watchdog waits at most read_timeout), so not once per request.
    if (deadline_ < armed_until_) watchdog_.cancel();
  }

  // One wait at a time: called once from start(), then only by its own handler.
  // Waits until the deadline but at most read_timeout, so that the deadline
  // of a read that starts later is never before the wake-up.
  void armWatchdog() {
    armed_until_ = std::min(deadline_, Clock::now() + state_->options.read_timeout);
    watchdog_.expires_at(armed_until_);
    watchdog_.async_wait([weak = this->weak_from_this()](beast::error_code) {
      if (auto self = weak.lock()) self->onWatchdog();
    });
  }

  void onWatchdog() {
    if (phase_ == Phase::kDone) return;
    if (Clock::now() < deadline_) return armWatchdog();
    beast::error_code ignored;
    switch (phase_) {
      case Phase::kReading:
        // The read ends with operation_aborted and onReadError answers 408.
        timed_out_ = true;
        lowest().socket().cancel(ignored);
        enter(Phase::kWriting, kWriteTimeout);
        return armWatchdog();
      case Phase::kIdle:
        lowest().socket().cancel(ignored);  // the wait for the next request
        close();
        return armWatchdog();
      default:  // a handshake, write or close_notify that did not finish
        phase_ = Phase::kDone;
        lowest().socket().close(ignored);
        return;
    }
  }

  // Bytes of the next request already read (pipelined), or a wait for them.
  [[nodiscard]] bool requestBytesBuffered() {
    if (buffer_.size() > 0) return true;
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      return SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
    }
    return false;
  }

  // Waits, up to the idle timeout, for the first byte of the next request; a
  // connection that sends nothing is closed without a reply.
  void waitForRequest() {
    timed_out_ = false;
    if (requestBytesBuffered()) return readHeader();
    if (buffer_.capacity() > kKeptBufferBytes) buffer_.shrink_to_fit();
    enter(Phase::kIdle,
          state_->stopping.load(std::memory_order_relaxed)
              ? std::min<std::chrono::milliseconds>(state_->options.idle_timeout, kStopLinger)
              : state_->options.idle_timeout);
    lowest().socket().async_wait(tcp::socket::wait_read,
                                 [self = this->shared_from_this()](beast::error_code ec) {
                                   if (ec || self->phase_ != Phase::kIdle) return;
                                   self->readHeader();
                                 });
  }

  void readHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimitBytes);
    parser_->body_limit(state_->options.max_body_bytes + kDrainAllowanceBytes);
    parser_->get().body().limit = state_->options.max_body_bytes;
    enter(Phase::kReading, state_->options.read_timeout);
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
      enter(Phase::kWriting, kWriteTimeout);
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
    enter(Phase::kReading, state_->options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onRequest(ec); });
  }

  // 400 rather than 413: the API server shows a webhook's 4xx body to the
  // user, and this one names the limit.
  [[nodiscard]] HttpResponse bodyTooLarge() const {
    return {400, "application/json",
            errorJson("request body exceeds " + std::to_string(state_->options.max_body_bytes) +
                      " bytes")};
  }

  void onReadError(beast::error_code ec) {
    if (timed_out_) {
      return reply({408, "application/json",
                    errorJson("request not received within " +
                              describeDuration(state_->options.read_timeout))},
                   11, true);
    }
    if (ec == http::error::body_limit) {
      return reply(bodyTooLarge(), 11, true);
    }
    const bool malformed =
        ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (malformed) {
      return reply({400, "application/json", errorJson("malformed HTTP request: " + ec.message())},
                   11, true);
    }
    close();  // the client closed or vanished mid-request: nothing to answer
  }

  void onRequest(beast::error_code ec) {
    if (ec) return onReadError(ec);
    const auto& message = parser_->get();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    if (message.body().oversized) {
      return reply(bodyTooLarge(), version, true);
    }
    if (state_->stopping.load(std::memory_order_relaxed) && isReadinessProbe(message)) {
      return reply({503, "application/json", errorJson("shutting down")}, version, true);
    }
    const HttpRequest request = toRequest(parser_->get());
    reply(invokeHandler(state_->handler, request), version, !keep_alive);
  }

  [[nodiscard]] bool isReadinessProbe(const http::request<CappedBody>& message) const {
    const std::string& path = state_->options.readiness_path;
    const std::string_view target(message.target().data(), message.target().size());
    return !path.empty() && target.substr(0, target.find('?')) == path;
  }

  // Writes the one reply to a request. Once the server is stopping, every
  // reply closes its connection.
  void reply(const HttpResponse& response, unsigned version, bool close_after) {
    close_after = close_after || state_->stopping.load(std::memory_order_relaxed);
    out_ = serialize(response, version, close_after);
    enter(Phase::kWriting, kWriteTimeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), close_after](beast::error_code ec, size_t) {
                        if (ec) {
                          logDebug("reply not delivered", {{"error", ec.message()}});
                          return;
                        }
                        if (close_after) return self->close();
                        self->waitForRequest();
                      });
  }

  void close() {
    enter(Phase::kClosing, kCloseTimeout);
    if constexpr (kTls) {
      // close_notify, so the client sees a clean end rather than a truncation.
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->phase_ = Phase::kDone;
        beast::error_code ignored;
        self->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      phase_ = Phase::kDone;
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  std::shared_ptr<ServingState> state_;
  Worker& worker_;
  Stream stream_;
  asio::steady_timer watchdog_;
  Phase phase_ = Phase::kIdle;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_until_ = Clock::time_point::max();  // the watchdog's wake-up
  bool timed_out_ = false;                                    // the watchdog cut a read short
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::string out_;
};

// Raises the soft open-file limit to the hard one (as Go programs do at
// start), so max_connections is not cut short by a default of 1024; warns
// when even the hard limit is below it.
void ensureDescriptorsFor(size_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + 64) {
    logWarn("open-file limit below the connection limit",
            {{"open_files", std::to_string(limit.rlim_cur)},
             {"max_connections", std::to_string(max_connections)}});
  }
}

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
    state_->options = options;
    if (options.threads == 0)
      throw std::invalid_argument("ServerOptions.threads must be >= 1, got 0");
    if (options.max_connections == 0)
      throw std::invalid_argument("ServerOptions.max_connections must be >= 1, got 0");
    if (options.tls) {
      credentials_ =
          std::make_shared<TlsCredentialStore>(*options.tls, options.tls_reload_interval);
      tls_context_.emplace(ssl::context::tls_server);
      SSL_CTX* ctx = tls_context_->native_handle();
      credentials_->configureServerContext(ctx);
      // No TLS 1.2 session tickets either (the session cache and TLS 1.3
      // tickets are off already): a resumed session would skip the
      // certificate, and a client would keep the one from before a rotation.
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
      // An idle connection gives back OpenSSL's record buffers (~34 KiB).
      SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    }
    ensureDescriptorsFor(options.max_connections);
    for (size_t i = 0; i < options.threads; ++i) {
      workers_.push_back(std::make_unique<Worker>());
      keep_running_.emplace_back(asio::make_work_guard(workers_.back()->context));
    }
    keep_running_.emplace_back(asio::make_work_guard(accept_context_));
    acceptor_.emplace(accept_context_);
    retry_timer_.emplace(acceptor_->get_executor());
    trim_timer_.emplace(acceptor_->get_executor());
    try {
      bind(options);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + listenUri(options, options.port) + ": " +
                               e.what());
    }
    port_ = acceptor_->local_endpoint().port();
    logInfo("listening", {{"address", listenUri(options, port_)},
                          {"max_connections", std::to_string(options.max_connections)}});
    accept();
    trimAfterCloses();
    for (auto& worker : workers_) {
      threads_.emplace_back([&worker] { worker->context.run(); });
    }
    threads_.emplace_back([this] { accept_context_.run(); });
  }

  ~AsioHttpServer() override { stop(); }

  AsioHttpServer(const AsioHttpServer&) = delete;
  AsioHttpServer& operator=(const AsioHttpServer&) = delete;

  [[nodiscard]] uint16_t port() const override { return port_; }

  [[nodiscard]] std::string servingCertificate() const override {
    return credentials_ ? credentials_->currentCertificate() : "";
  }

  bool stop() override {
    if (workers_.empty()) return true;
    // From here readiness answers 503 and every reply closes its connection.
    state_->stopping = true;
    // Until every proxy has dropped this endpoint new connections still
    // arrive: they are answered (and closed) rather than refused.
    if (const auto delay = state_->options.shutdown_delay; delay.count() > 0) {
      logInfo("not ready, still serving", {{"delay", describeDuration(delay)}});
      std::this_thread::sleep_for(delay);
    }
    const auto deadline = Clock::now() + state_->options.shutdown_timeout;
    // Close the listener on its own thread.
    std::promise<void> closed;
    asio::dispatch(acceptor_->get_executor(), [this, &closed] {
      acceptBacklog();
      beast::error_code ignored;
      acceptor_->close(ignored);
      retry_timer_->cancel();
      trim_timer_->cancel();
      closed.set_value();
    });
    closed.get_future().wait();
    // Idle connections close after kStopLinger unless a request arrives.
    for (auto& worker : workers_) {
      asio::post(worker->context, [w = worker.get()] {
        for (SessionBase* session : w->sessions) session->onStop();
      });
    }
    bool drained = true;
    {
      std::unique_lock<std::mutex> lock(state_->mutex);
      drained = state_->idle.wait_until(lock, deadline,
                                        [this] { return state_->connections.load() == 0; });
    }
    if (!drained) {
      logWarn("shutdown timeout: closing connections still open",
              {{"count", std::to_string(state_->connections.load())},
               {"timeout", describeDuration(state_->options.shutdown_timeout)}});
    }
    for (auto& worker : workers_) worker->context.stop();
    accept_context_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    keep_running_.clear();
    retry_timer_.reset();
    trim_timer_.reset();
    acceptor_.reset();
    workers_.clear();  // destroys the sessions of connections cut off
    return drained;
  }

 private:
  void bind(const ServerOptions& options) {
    tcp::resolver resolver(accept_context_);
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
    Worker& next = *workers_[next_worker_++ % workers_.size()];
    acceptor_->async_accept(next.context, [this, &next](beast::error_code ec, tcp::socket socket) {
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
      admit(next, std::move(socket));
      accept();
    });
  }

  // On the acceptor's thread: serves `socket` on `worker`, or refuses it past
  // max_connections.
  void admit(Worker& worker, tcp::socket socket) {
    if (state_->connections.load() >= state_->options.max_connections) return refuse(socket);
    if (refused_ > 0) {
      logInfo("accepting connections again", {{"refused", std::to_string(refused_)}});
      refused_ = 0;
    }
    state_->connections.fetch_add(1);
    std::shared_ptr<SessionBase> session;
    if (tls_context_) {
      session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          state_, worker, std::move(socket), *tls_context_);
    } else {
      session = std::make_shared<Session<beast::tcp_stream>>(state_, worker, std::move(socket));
    }
    asio::post(worker.context, [session = std::move(session)] { session->start(); });
  }

  // Connections the kernel has completed but nobody accepted yet would be
  // reset by closing the listener, after a plain-HTTP client may have sent
  // its request: take them first; they are served like the others.
  void acceptBacklog() {
    beast::error_code ec;
    acceptor_->non_blocking(true, ec);
    while (!ec) {
      Worker& next = *workers_[next_worker_++ % workers_.size()];
      tcp::socket socket(next.context);
      acceptor_->accept(socket, ec);
      if (!ec) admit(next, std::move(socket));
    }
  }

  // Past max_connections: closed at once, unanswered. A TLS client's
  // handshake fails; no TLS or HTTP work is spent on it.
  void refuse(tcp::socket& socket) {
    beast::error_code ignored;
    socket.close(ignored);
    if (refused_++ == 0) {
      logWarn("connection limit reached: refusing new connections",
              {{"max_connections", std::to_string(state_->options.max_connections)}});
    }
  }

  // Gives memory freed by closed connections back to the system, at most
  // once per kTrimInterval and only after a burst of closes.
  void trimAfterCloses() {
    trim_timer_->expires_after(kTrimInterval);
    trim_timer_->async_wait([this](beast::error_code ec) {
      if (ec) return;
      if (state_->closed_since_trim.load(std::memory_order_relaxed) >= kTrimAfterCloses) {
        state_->closed_since_trim.store(0, std::memory_order_relaxed);
#ifdef __GLIBC__
        malloc_trim(0);
#endif
      }
      trimAfterCloses();
    });
  }

  std::shared_ptr<ServingState> state_;
  std::shared_ptr<TlsCredentialStore> credentials_;
  std::optional<ssl::context> tls_context_;  // outlives workers_ and their sessions
  // One event loop per thread: a connection's reads, route and writes all run
  // on one thread, with no hand-offs between threads (which cost a wake-up
  // and the route's data cache each time).
  std::vector<std::unique_ptr<Worker>> workers_;
  // Accepting has a thread of its own, so a slow route never delays it, nor
  // stop() closing the listener.
  asio::io_context accept_context_{1};
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  size_t next_worker_ = 0;  // touched only on the acceptor's thread
  size_t refused_ = 0;      // since the limit was last reached; acceptor's thread
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> retry_timer_;  // on the acceptor's thread
  std::optional<asio::steady_timer> trim_timer_;   // on the acceptor's thread
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> startHttpServer(const ServerOptions& options, HttpHandler handler) {
  return std::make_unique<AsioHttpServer>(options, std::move(handler));
}

}  // namespace mpshare::platform
