#pragma once

// The metrics of both servers, kept in a prometheus-cpp registry (Debian's
// prometheus-cpp-dev, core library only: the servers expose render() on their
// own HTTP listener, not through prometheus-cpp's civetweb puller). Counters,
// gauges and histograms with labels; render() output passes
// `promtool check metrics`.
//
// Naming rules are enforced at registration (std::invalid_argument naming the
// rule): metric names match [a-zA-Z_:][a-zA-Z0-9_:]* and do not start with
// "__", counter names end in "_total" (exposed as given: prometheus-cpp 1.0
// appends no suffix), label names match [a-zA-Z_][a-zA-Z0-9_]*, do not start
// with "__", and histograms may not use "le". Label values may be any UTF-8;
// \, " and newline are escaped on output.
//
// Thread-safe. The hot path takes one uncontended lock and one map lookup to
// find the series' handle, then updates it through prometheus-cpp (an atomic
// for counters and gauges, the histogram's own mutex).

#include <map>
#include <memory>
#include <mutex>  // kept for includers that relied on it
#include <string>
#include <vector>

namespace mpshare::platform {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  virtual ~Counter() = default;
  // Adds `by` (must be >= 0, else std::invalid_argument) to the series `labels`.
  // Example: requests.inc({{"route", "/mutate"}, {"code", "200"}});
  virtual void inc(const Labels& labels, double by = 1.0) = 0;
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void set(const Labels& labels, double value) = 0;
  // Drops every labelled series (for gauges rebuilt from a snapshot each scrape).
  virtual void clear() = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  // Counts `value` into every bucket whose upper bound is >= value, and +Inf.
  virtual void observe(const Labels& labels, double value) = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each name is registered once (a second registration throws
  // std::invalid_argument); `help` becomes the # HELP line. The returned
  // reference lives as long as the registry.
  // Example: auto& c = registry.counter("mpshare_webhook_requests_total", "Admission reviews.");
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  // `upper_bounds` must be finite and strictly increasing; +Inf is implicit.
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds);

  // The whole registry in Prometheus text format (prometheus-cpp's
  // TextSerializer), families in registration order, a family without series
  // as its # HELP and # TYPE lines only, series sorted by labels. Serve it
  // with content type kMetricsContentType.
  [[nodiscard]] std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The content type of render()'s output.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Default latency buckets in seconds, 100 µs to 5 s.
std::vector<double> latencyBuckets();

}  // namespace mpshare::platform
