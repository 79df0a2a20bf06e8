#pragma once

// A tiny Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format. Thread-safe; cheap enough to call per request.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sluice::kube {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  void counterAdd(const std::string& name, const std::string& help, const Labels& labels,
                  double value = 1);
  void gaugeSet(const std::string& name, const std::string& help, const Labels& labels,
                double value);
  // Drops one series of a gauge (an object that no longer exists); nothing if absent.
  void gaugeRemove(const std::string& name, const Labels& labels);
  // Buckets in seconds; defaults fit reconciles and API calls (1 ms .. 60 s).
  void histogramObserve(const std::string& name, const std::string& help, const Labels& labels,
                        double value);
  double counterValue(const std::string& name, const Labels& labels) const;
  uint64_t histogramCount(const std::string& name, const Labels& labels) const;
  // Series computed at scrape time from state kept elsewhere (an informer's cache, say): each
  // collector fills a fresh registry per render, rendered ahead of this one's families. A
  // collector's family names must not clash with this registry's.
  using Collector = std::function<void(Metrics&)>;
  void addCollector(Collector collector);
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family& family(const std::string& name, const char* type, const std::string& help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<Collector> collectors_;
};

}  // namespace sluice::kube
