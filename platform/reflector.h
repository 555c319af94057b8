#pragma once

// List-then-watch loop for one collection, the way client-go's reflector keeps
// a cache current: list every page, hand the items over, watch from the list's
// resourceVersion; on 410 relist; on EOF, timeout, stall or network error
// rewatch from the last resourceVersion seen after a capped exponential
// backoff with jitter.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "platform/kube_client.h"

namespace mpshare::platform {

// Delay n (from 0) = min(max, initial x 2^n), minus up to `jitter` of it at
// random, so many clients restarting together spread out.
// Example: initial 200 ms, max 30 s, jitter 0.5 -> 100..200, 200..400, ... 15..30 s.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
          uint64_t seed);
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

// Where a reflector delivers what it sees. Called from the reflector's thread only.
//
// A (re)list arrives as beginList(), listPage() per page as it is read, and
// endList() once the last page is in; anything not listed is then gone. A list
// that fails midway gets no endList(), only a fresh beginList() on the next
// attempt. By default the pages are collected and handed to replace() whole;
// a sink that overrides the three page calls never holds more than one page of
// JSON (a parsed pod is several KiB; ten thousand of them, hundreds of MiB).
class ReflectorSink {
 public:
  virtual ~ReflectorSink() = default;
  virtual void beginList() { pending_.clear(); }
  virtual void listPage(std::vector<nlohmann::json>& items) {
    for (auto& item : items) pending_.push_back(std::move(item));
  }
  virtual void endList() {
    replace(pending_);
    pending_ = {};
  }
  // The complete collection after a (re)list: anything not in `items` is gone.
  virtual void replace(const std::vector<nlohmann::json>& items) = 0;
  // One watch event: ADDED, MODIFIED or DELETED (BOOKMARKs come to bookmark()).
  virtual void apply(const std::string& type, const nlohmann::json& object) = 0;
  // A BOOKMARK: the server has sent every event up to a version it reached
  // after this watch began, so every change made before then has been seen.
  virtual void bookmark() {}

 private:
  std::vector<nlohmann::json> pending_;
};

struct ReflectorOptions {
  ResourceQuery query;
  int page_size = 500;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds idle_timeout{90000};  // a watch silent this long is stalled
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
  double jitter = 0.5;
  uint64_t seed = 0x6d707368;
  // Waits between attempts; tests inject a recorder. Default: an interruptible wait.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Told of every list and every end of a watch, for metrics:
  // ("list", "ok"|"error", seconds) and ("watch", "closed"|"expired"|"unauthorized"|"failed",
  // seconds).
  std::function<void(const std::string& call, const std::string& outcome, double seconds)> observe;
};

struct ReflectorStats {
  int lists = 0;
  int watches = 0;
  int expired = 0;   // 410s seen
  int failures = 0;  // failed lists and watches
};

class Reflector {
 public:
  Reflector(KubeClient& client, ReflectorSink& sink, ReflectorOptions options);
  // Loops until stop(). Run it on its own thread.
  void run();
  // Ends run() promptly, also from inside a watch.
  void stop();
  // True once the first list has been delivered.
  [[nodiscard]] bool synced() const { return synced_.load(); }
  [[nodiscard]] ReflectorStats stats() const;

 private:
  void pause(std::chrono::milliseconds delay);
  void observe(const char* call, const char* outcome,
               std::chrono::steady_clock::time_point started);

  KubeClient& client_;
  ReflectorSink& sink_;
  ReflectorOptions options_;
  Backoff backoff_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> synced_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  ReflectorStats stats_;
};

}  // namespace mpshare::platform
