#ifndef RTGW_COMMON_METRICS_HPP_
#define RTGW_COMMON_METRICS_HPP_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rtgw {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Monotonic counter. Safe for concurrent use.
class Counter {
 public:
  void Add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Settable value (backlog sizes, open connections). Safe for concurrent use.
class Gauge {
 public:
  void Set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(std::int64_t v) { value_.fetch_add(v, std::memory_order_relaxed); }
  std::int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Fixed-bucket histogram (Prometheus "le" buckets). Safe for concurrent use.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bucket (+Inf last), sum, count.
  void Snapshot(std::vector<std::uint64_t>& cumulative, double& sum, std::uint64_t& count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Named metric families, rendered in the Prometheus text format (0.0.4).
// Get* returns a pointer that stays valid for the registry's lifetime, so hot
// paths look a series up once and keep it. Safe for concurrent use.
class MetricsRegistry {
 public:
  Counter* GetCounter(const std::string& name, const std::string& help, const MetricLabels& labels);
  Gauge* GetGauge(const std::string& name, const std::string& help, const MetricLabels& labels);
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const MetricLabels& labels, const std::vector<double>& bounds);
  std::string RenderPrometheus() const;

  // Latency buckets in seconds, 50us .. 10s.
  static const std::vector<double>& LatencyBucketsSeconds();

 private:
  struct Family {
    std::string type;  // counter | gauge | histogram
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyLocked(const std::string& name, const std::string& type, const std::string& help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
};

}  // namespace rtgw

#endif  // RTGW_COMMON_METRICS_HPP_
