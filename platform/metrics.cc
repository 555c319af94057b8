#include "platform/metrics.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace mpshare::platform {
namespace {

bool validMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

bool validLabelName(const std::string& name) {
  if (name.empty() || name.rfind("__", 0) == 0) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Checked once per new series, never on the hot path of an existing one.
void checkLabels(const std::string& metric, const Labels& labels, bool histogram) {
  for (const auto& [name, value] : labels) {
    if (!validLabelName(name)) {
      throw std::invalid_argument("metric " + metric + ": label name \"" + name +
                                  "\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
    }
    if (histogram && name == "le") {
      throw std::invalid_argument("metric " + metric +
                                  ": label \"le\" is reserved for histogram buckets");
    }
  }
}

// Go's strconv formatting, which Prometheus parsers accept: shortest
// round-trip digits, +Inf, -Inf, NaN.
std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void appendEscaped(std::string& out, const std::string& text, bool quote_escapes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_escapes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus an optional trailing le; nothing when there are no labels.
void appendLabels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    appendEscaped(out, value, true);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void appendSample(std::string& out, const std::string& name, const Labels& labels, double value,
                  const std::string* le = nullptr) {
  out += name;
  appendLabels(out, labels, le);
  out += ' ';
  out += formatValue(value);
  out += '\n';
}

class MetricImpl {
 public:
  virtual ~MetricImpl() = default;
  virtual void renderSamples(const std::string& name, std::string& out) const = 0;
};

class CounterImpl final : public Counter, public MetricImpl {
 public:
  explicit CounterImpl(std::string name) : name_(std::move(name)) {}
  void inc(const Labels& labels, double by) override {
    if (!(by >= 0)) {
      throw std::invalid_argument("counter " + name_ + ": increment must be >= 0, got " +
                                  formatValue(by));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = series_.find(labels);
    if (it == series_.end()) {
      checkLabels(name_, labels, false);
      it = series_.emplace(labels, 0.0).first;
    }
    it->second += by;
  }
  void renderSamples(const std::string& name, std::string& out) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [labels, value] : series_) appendSample(out, name, labels, value);
  }

 private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::map<Labels, double> series_;
};

class GaugeImpl final : public Gauge, public MetricImpl {
 public:
  explicit GaugeImpl(std::string name) : name_(std::move(name)) {}
  void set(const Labels& labels, double value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = series_.find(labels);
    if (it == series_.end()) {
      checkLabels(name_, labels, false);
      series_.emplace(labels, value);
    } else {
      it->second = value;
    }
  }
  void clear() override {
    std::lock_guard<std::mutex> lock(mutex_);
    series_.clear();
  }
  void renderSamples(const std::string& name, std::string& out) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [labels, value] : series_) appendSample(out, name, labels, value);
  }

 private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::map<Labels, double> series_;
};

class HistogramImpl final : public Histogram, public MetricImpl {
 public:
  HistogramImpl(std::string name, std::vector<double> bounds)
      : name_(std::move(name)), bounds_(std::move(bounds)) {
    for (double b : bounds_) bound_text_.push_back(formatValue(b));
  }
  void observe(const Labels& labels, double value) override {
    // Buckets are stored non-cumulative (one increment per observation) and
    // summed at render time, which is rare next to observe().
    size_t bucket = 0;
    while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = series_.find(labels);
    if (it == series_.end()) {
      checkLabels(name_, labels, true);
      it = series_.emplace(labels, Series{std::vector<uint64_t>(bounds_.size() + 1, 0), 0.0, 0})
               .first;
    }
    ++it->second.buckets[bucket];
    it->second.sum += value;
    ++it->second.count;
  }
  void renderSamples(const std::string& name, std::string& out) const override {
    static const std::string kInf = "+Inf";
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [labels, s] : series_) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < s.buckets.size(); ++i) {
        cumulative += s.buckets[i];
        const std::string& le = i < bound_text_.size() ? bound_text_[i] : kInf;
        appendSample(out, name + "_bucket", labels, static_cast<double>(cumulative), &le);
      }
      appendSample(out, name + "_sum", labels, s.sum);
      appendSample(out, name + "_count", labels, static_cast<double>(s.count));
    }
  }

 private:
  struct Series {
    std::vector<uint64_t> buckets;  // last one is (largest bound, +Inf]
    double sum;
    uint64_t count;
  };
  const std::string name_;
  const std::vector<double> bounds_;
  std::vector<std::string> bound_text_;
  mutable std::mutex mutex_;
  std::map<Labels, Series> series_;
};

}  // namespace

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  std::string type;
  std::unique_ptr<MetricImpl> impl;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

void MetricsRegistry::add(std::unique_ptr<Family> family) {
  if (!validMetricName(family->name)) {
    throw std::invalid_argument("metric name \"" + family->name +
                                "\" must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name == family->name) {
      throw std::invalid_argument("metric " + family->name + " is already registered");
    }
  }
  families_.push_back(std::move(family));
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  constexpr std::string_view kSuffix = "_total";
  if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(),
                                                    kSuffix) != 0) {
    throw std::invalid_argument("counter \"" + name + "\" must end in _total");
  }
  auto impl = std::make_unique<CounterImpl>(name);
  Counter& ref = *impl;
  add(std::make_unique<Family>(Family{name, help, "counter", std::move(impl)}));
  return ref;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  auto impl = std::make_unique<GaugeImpl>(name);
  Gauge& ref = *impl;
  add(std::make_unique<Family>(Family{name, help, "gauge", std::move(impl)}));
  return ref;
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
  auto impl = std::make_unique<HistogramImpl>(name, std::move(upper_bounds));
  Histogram& ref = *impl;
  add(std::make_unique<Family>(Family{name, help, "histogram", std::move(impl)}));
  return ref;
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& family : families_) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    appendEscaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    out += ' ';
    out += family->type;
    out += '\n';
    family->impl->renderSamples(family->name, out);
  }
  return out;
}

std::vector<double> latencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5};
}

}  // namespace mpshare::platform
