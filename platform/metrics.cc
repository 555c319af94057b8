#include "platform/metrics.h"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace mpshare::platform {
namespace {

// Checked once per new series, never on the hot path of an existing one.
// prometheus-cpp checks label names too, but only as "Invalid label name", and
// lets a histogram series carry "le", which would clash with the bucket label.
void checkLabels(const std::string& metric, const Labels& labels, bool histogram) {
  for (const auto& [name, value] : labels) {
    if (!prometheus::CheckLabelName(name)) {
      throw std::invalid_argument("metric " + metric + ": label name \"" + name +
                                  "\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
    }
    if (histogram && name == "le") {
      throw std::invalid_argument("metric " + metric +
                                  ": label \"le\" is reserved for histogram buckets");
    }
  }
}

// The shortest text that reads back as `v` (for error messages).
std::string shortest(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

// prometheus-cpp 1.0's TextSerializer writes HELP verbatim, so a newline in it
// would end the line early; the exposition format escapes \ and newline there.
std::string escapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The series of one family by labels. Family<T>::Add finds an existing series
// too, but builds a throwaway T on every call (for a histogram, its bucket
// vectors) and hashes every label, so updates go through this map of handles
// instead: one uncontended lock and one map lookup, as on a plain std::map.
template <typename T>
class SeriesHandles {
 public:
  SeriesHandles(prometheus::Family<T>& family, std::string name, bool histogram)
      : family_(family), name_(std::move(name)), histogram_(histogram) {}

  // `args` construct a new series (a histogram's bucket bounds).
  template <typename... Args>
  T& get(const Labels& labels, const Args&... args) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handles_.find(labels);
    if (it == handles_.end()) {
      checkLabels(name_, labels, histogram_);
      it = handles_.emplace(labels, &family_.Add(labels, args...)).first;
    }
    return *it->second;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [labels, series] : handles_) family_.Remove(series);
    handles_.clear();
  }

  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  prometheus::Family<T>& family_;
  const std::string name_;
  const bool histogram_;
  std::mutex mutex_;
  std::map<Labels, T*> handles_;
};

class CounterImpl final : public Counter {
 public:
  CounterImpl(prometheus::Family<prometheus::Counter>& family, std::string name)
      : series_(family, std::move(name), false) {}
  void inc(const Labels& labels, double by) override {
    // prometheus-cpp ignores a negative increment silently; it is a caller's bug.
    if (!(by >= 0)) {
      throw std::invalid_argument("counter " + series_.name() + ": increment must be >= 0, got " +
                                  shortest(by));
    }
    series_.get(labels).Increment(by);
  }

 private:
  SeriesHandles<prometheus::Counter> series_;
};

class GaugeImpl final : public Gauge {
 public:
  GaugeImpl(prometheus::Family<prometheus::Gauge>& family, std::string name)
      : series_(family, std::move(name), false) {}
  void set(const Labels& labels, double value) override { series_.get(labels).Set(value); }
  void clear() override { series_.clear(); }

 private:
  SeriesHandles<prometheus::Gauge> series_;
};

class HistogramImpl final : public Histogram {
 public:
  HistogramImpl(prometheus::Family<prometheus::Histogram>& family, std::string name,
                prometheus::Histogram::BucketBoundaries bounds)
      : series_(family, std::move(name), true), bounds_(std::move(bounds)) {}
  void observe(const Labels& labels, double value) override {
    series_.get(labels, bounds_).Observe(value);
  }

 private:
  SeriesHandles<prometheus::Histogram> series_;
  const prometheus::Histogram::BucketBoundaries bounds_;
};

}  // namespace

struct MetricsRegistry::Impl {
  // Throw, not Merge: a second registration of a name is a bug to report.
  prometheus::Registry registry{prometheus::Registry::InsertBehavior::Throw};
  std::mutex mutex;  // guards the two members below
  // Name, escaped help and type of every family in registration order: render()
  // lists them in that order (Registry::Collect groups them by type) and keeps
  // the header of a family that has no series yet (Collect leaves it out).
  std::vector<prometheus::MetricFamily> headers;
  std::unordered_map<std::string, size_t> index;
  std::vector<std::unique_ptr<Counter>> counters;
  std::vector<std::unique_ptr<Gauge>> gauges;
  std::vector<std::unique_ptr<Histogram>> histograms;

  // Validates `name` and reserves its place; the caller registers the family
  // under the same lock.
  void declare(const std::string& name, const std::string& help, prometheus::MetricType type) {
    if (!prometheus::CheckMetricName(name)) {
      throw std::invalid_argument("metric name \"" + name +
                                  "\" must match [a-zA-Z_:][a-zA-Z0-9_:]* and not start with __");
    }
    if (index.count(name) != 0) {
      throw std::invalid_argument("metric " + name + " is already registered");
    }
    index.emplace(name, headers.size());
    headers.push_back(prometheus::MetricFamily{name, escapeHelp(help), type, {}});
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  constexpr std::string_view kSuffix = "_total";
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    throw std::invalid_argument("counter \"" + name + "\" must end in _total");
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->declare(name, help, prometheus::MetricType::Counter);
  // prometheus-cpp 1.0 exposes the name as given (it appends no _total).
  auto& family =
      prometheus::BuildCounter().Name(name).Help(escapeHelp(help)).Register(impl_->registry);
  return *impl_->counters.emplace_back(std::make_unique<CounterImpl>(family, name));
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->declare(name, help, prometheus::MetricType::Gauge);
  auto& family =
      prometheus::BuildGauge().Name(name).Help(escapeHelp(help)).Register(impl_->registry);
  return *impl_->gauges.emplace_back(std::make_unique<GaugeImpl>(family, name));
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds) {
  if (!upper_bounds.empty() && std::isinf(upper_bounds.back()) && upper_bounds.back() > 0) {
    upper_bounds.pop_back();  // +Inf is always there; accept it spelled out too
  }
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      throw std::invalid_argument("histogram " + name +
                                  ": bucket bounds must be finite and strictly increasing");
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->declare(name, help, prometheus::MetricType::Histogram);
  auto& family =
      prometheus::BuildHistogram().Name(name).Help(escapeHelp(help)).Register(impl_->registry);
  return *impl_->histograms.emplace_back(
      std::make_unique<HistogramImpl>(family, name, std::move(upper_bounds)));
}

std::string MetricsRegistry::render() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    families = impl_->headers;
    for (auto& collected : impl_->registry.Collect()) {
      auto& family = families[impl_->index.at(collected.name)];
      family.metric = std::move(collected.metric);
      // Family keeps series in a hash map; sort them by labels for a stable scrape.
      std::sort(family.metric.begin(), family.metric.end(),
                [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                  return a.label < b.label;
                });
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

std::vector<double> latencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
}

}  // namespace mpshare::platform
