#include "platform/reflector.h"

#include <algorithm>

#include "platform/logging.h"

namespace mpshare::platform {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
                 uint64_t seed)
    : initial_(initial), max_(max), jitter_(std::clamp(jitter, 0.0, 1.0)), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  int64_t delay = initial_.count();
  for (int i = 0; i < attempt_ && delay < max_.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, max_.count());
  if (attempt_ < 62) ++attempt_;
  const double cut = std::uniform_real_distribution<double>(0.0, jitter_)(random_);
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(delay * (1.0 - cut))));
}

Reflector::Reflector(KubeClient& client, ReflectorSink& sink, ReflectorOptions options)
    : client_(client),
      sink_(sink),
      options_(std::move(options)),
      backoff_(options_.backoff_initial, options_.backoff_max, options_.jitter, options_.seed) {}

void Reflector::stop() {
  stopped_ = true;
  std::lock_guard lock(mutex_);
  wake_.notify_all();
}

ReflectorStats Reflector::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Reflector::pause(std::chrono::milliseconds delay) {
  if (options_.sleep) {
    options_.sleep(delay);
    return;
  }
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [&] { return stopped_.load(); });
}

void Reflector::observe(const char* call, const char* outcome,
                        std::chrono::steady_clock::time_point started) {
  if (!options_.observe) return;
  options_.observe(
      call, outcome,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void Reflector::run() {
  const std::string& what = options_.query.path;
  bool need_list = true;
  std::string resource_version;
  while (!stopped_) {
    if (need_list) {
      sink_.beginList();
      const auto list_started = std::chrono::steady_clock::now();
      auto listed = client_.list(options_.query, options_.page_size,
                                 [&](std::vector<nlohmann::json>& page) { sink_.listPage(page); });
      {
        std::lock_guard lock(mutex_);
        ++stats_.lists;
        if (!listed) ++stats_.failures;
      }
      if (!listed) {
        observe("list", "error", list_started);
        const auto delay = backoff_.next();
        logWarn("list failed; retrying", {{"path", what},
                                          {"error", listed.error().describe()},
                                          {"retry_ms", std::to_string(delay.count())}});
        pause(delay);
        continue;
      }
      sink_.endList();
      observe("list", "ok", list_started);
      resource_version = listed->resource_version;
      need_list = false;
      synced_ = true;
      backoff_.reset();
    }
    const auto started = std::chrono::steady_clock::now();
    const WatchOutcome outcome = client_.watch(
        options_.query, resource_version, options_.watch_timeout_seconds,
        [&](const std::string& type, const nlohmann::json& object) {
          if (type == "BOOKMARK") {
            sink_.bookmark();
          } else {
            sink_.apply(type, object);
          }
        },
        ExchangeLimits{options_.idle_timeout, &stopped_});
    if (!outcome.resource_version.empty()) resource_version = outcome.resource_version;
    {
      std::lock_guard lock(mutex_);
      ++stats_.watches;
      if (outcome.end == WatchEnd::kExpired) ++stats_.expired;
      if (outcome.end == WatchEnd::kFailed || outcome.end == WatchEnd::kUnauthorized)
        ++stats_.failures;
    }
    if (stopped_) break;
    static constexpr const char* kEnds[] = {"closed", "expired", "unauthorized", "failed"};
    observe("watch", kEnds[static_cast<int>(outcome.end)], started);
    if (outcome.events > 0) backoff_.reset();
    switch (outcome.end) {
      case WatchEnd::kExpired:
        // The history we would resume from is gone: start over from a fresh list.
        logInfo("watch expired; relisting", {{"path", what}, {"reason", outcome.message}});
        need_list = true;
        break;
      case WatchEnd::kClosed:
        // A normal end (timeoutSeconds). Only a watch that closes at once, again
        // and again, would spin; back off in that case.
        if (outcome.events == 0 &&
            std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
          pause(backoff_.next());
        }
        break;
      case WatchEnd::kUnauthorized:
      case WatchEnd::kFailed: {
        const auto delay = backoff_.next();
        logWarn("watch failed; rewatching", {{"path", what},
                                             {"error", outcome.message},
                                             {"resource_version", resource_version},
                                             {"retry_ms", std::to_string(delay.count())}});
        pause(delay);
        break;
      }
    }
  }
}

}  // namespace mpshare::platform
