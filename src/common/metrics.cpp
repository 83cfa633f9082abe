#include "common/metrics.hpp"

#include <algorithm>
#include <cstdio>

#include "common/logging.hpp"

namespace rtgw {
namespace {

std::string RenderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += out.empty() ? "" : ",";
    out += k;
    out += "=\"";
    AppendJsonEscaped(out, v);  // Prometheus label escaping is a subset of JSON's
    out += '"';
  }
  return out;
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Braced(const std::string& labels, const std::string& extra = {}) {
  std::string inner = labels;
  if (!extra.empty()) inner += (inner.empty() ? "" : ",") + extra;
  return inner.empty() ? std::string() : "{" + inner + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Histogram::Snapshot(std::vector<std::uint64_t>& cumulative, double& sum,
                         std::uint64_t& count) const {
  cumulative.assign(bounds_.size() + 1, 0);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    cumulative[i] = running;
  }
  sum = sum_.load(std::memory_order_relaxed);
  count = running;
}

MetricsRegistry::Family& MetricsRegistry::FamilyLocked(const std::string& name,
                                                       const std::string& type,
                                                       const std::string& help) {
  Family& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyLocked(name, "counter", help).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyLocked(name, "gauge", help).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const MetricLabels& labels,
                                         const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyLocked(name, "histogram", help).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

const std::vector<double>& MetricsRegistry::LatencyBucketsSeconds() {
  static const std::vector<double> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                               0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                               0.5,     1,      2.5,     5,      10};
  return kBuckets;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += name + Braced(labels) + " " + std::to_string(c->Value()) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) {
      out += name + Braced(labels) + " " + std::to_string(g->Value()) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      std::vector<std::uint64_t> cum;
      double sum = 0;
      std::uint64_t count = 0;
      h->Snapshot(cum, sum, count);
      for (std::size_t i = 0; i < h->bounds().size(); ++i) {
        out += name + "_bucket" + Braced(labels, "le=\"" + FormatDouble(h->bounds()[i]) + "\"") +
               " " + std::to_string(cum[i]) + "\n";
      }
      out += name + "_bucket" + Braced(labels, "le=\"+Inf\"") + " " + std::to_string(cum.back()) +
             "\n";
      out += name + "_sum" + Braced(labels) + " " + FormatDouble(sum) + "\n";
      out += name + "_count" + Braced(labels) + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

}  // namespace rtgw
