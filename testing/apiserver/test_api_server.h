#pragma once

// An in-process Kubernetes API server for tests: HTTPS on 127.0.0.1 (port 0)
// with a generated CA, bearer-token auth, list with limit/continue, chunked
// watch streams (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR, 410 on an expired
// version, as an HTTP status or an ERROR event), GET pod and node, merge
// PATCH of pods and nodes, pods/binding, and POST of core/v1 Events (kept for
// the test to read).
// Written on raw OpenSSL sockets so tests control chunking and can inject
// faults: cut a stream in the middle of an event, stall it, answer 500 or 410,
// rotate the token.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "platform/kube_config.h"
#include "testing/apiserver/fake_store.h"

namespace mpshare::kubetest {

class TestApiServer {
 public:
  explicit TestApiServer(std::string token = "test-token");
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& caPem() const { return ca_pem_; }
  // A client config for this server: its CA and the current token.
  [[nodiscard]] platform::KubeConfig clientConfig() const;
  FakeStore& store() { return store_; }

  // Token rotation: requests with the old token now get 401.
  void setToken(std::string token);
  // The next `count` requests (any path containing `path_part`) get `status`.
  void failNext(int count, int status, std::string path_part = "");
  // Every open watch writes half of its next event, then drops the connection.
  void dropWatchesMidEvent();
  // Open and new watches stop sending (connection kept) until unstalled.
  void setStalled(bool stalled);
  // Forgets history (older versions -> 410) and ends open watches with an ERROR
  // 410 event; with `as_http_status`, new watches from old versions get HTTP 410
  // instead of the event.
  void expireWatches(bool as_http_status = false);
  // Every open watch sends a BOOKMARK at the current version.
  void sendBookmarks();
  // Every open watch ends cleanly (terminating chunk), like timeoutSeconds.
  void closeWatches();
  // Splits each event over random chunk sizes (1..64 bytes) from `seed`.
  void setRandomChunking(uint64_t seed) { chunk_seed_ = seed; }

  [[nodiscard]] int watchesStarted() const { return watches_started_.load(); }
  [[nodiscard]] int openWatches() const { return open_watches_.load(); }
  [[nodiscard]] int requests() const { return requests_.load(); }
  [[nodiscard]] int unauthorized() const { return unauthorized_.load(); }
  // The Events posted so far, as stored (metadata.name filled from generateName).
  [[nodiscard]] std::vector<json> events() const;

 private:
  struct Request;
  class Stream;
  void acceptLoop();
  void serve(int fd);
  void handle(Stream& stream, const Request& request);
  void handleList(Stream& stream, Kind kind, const Request& request);
  void handleWatch(Stream& stream, Kind kind, const Request& request);
  void handlePatch(Stream& stream, Kind kind, const std::string& key, const Request& request);
  bool authorized(const Request& request);

  FakeStore store_;
  std::string ca_pem_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::string token_;
  int fail_count_ = 0;
  int fail_status_ = 500;
  std::string fail_path_;
  bool expire_as_http_ = false;
  // Continue id -> the snapshot its pages are read from (shared, not copied per page).
  std::map<std::string, std::pair<std::shared_ptr<const std::vector<json>>, int64_t>> continues_;
  int continue_counter_ = 0;
  std::atomic<uint64_t> chunk_seed_{0};
  std::atomic<bool> stalled_{false};
  std::atomic<int> drop_generation_{0};
  std::atomic<int> expire_generation_{0};
  std::atomic<int> bookmark_generation_{0};
  std::atomic<int> close_generation_{0};
  std::atomic<int> watches_started_{0};
  std::atomic<int> open_watches_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> unauthorized_{0};
  std::vector<json> events_;  // under mutex_
};

}  // namespace mpshare::kubetest
