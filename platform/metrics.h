#pragma once

// A small Prometheus text-exposition registry (format 0.0.4), because
// prometheus-cpp is not packaged here. Counters, gauges and histograms with
// labels; render() output passes `promtool check metrics`.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mpshare::platform {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  virtual ~Counter() = default;
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
  virtual void observe(const Labels& labels, double value) = 0;
};

class MetricsRegistry {
 public:
  // Each name is registered once; `help` becomes the # HELP line.
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds);

  // The whole registry in Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  struct Family;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Default latency buckets in seconds, 100 µs to 5 s.
std::vector<double> latencyBuckets();

}  // namespace mpshare::platform
