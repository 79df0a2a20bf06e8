#include "operator/kube/metrics.h"

#include <array>
#include <charconv>
#include <cmath>

namespace sluice::kube {
namespace {

constexpr std::array<double, 12> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,   0.5,   1,    5,     60};

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string labelText(const Labels& labels, const std::string& extraKey = "",
                      const std::string& extraValue = "") {
  std::string out;
  auto append = [&](const std::string& k, const std::string& v) {
    out += out.empty() ? "{" : ",";
    out += k + "=\"" + escape(v) + "\"";
  };
  for (const auto& [k, v] : labels)
    append(k, v);
  if (!extraKey.empty())
    append(extraKey, extraValue);
  if (!out.empty())
    out += "}";
  return out;
}

std::string number(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v))
    return "NaN";
  // The shortest text that reads back as the same double: 0.05, not 0.050000000000000003.
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::string("NaN");
}

}  // namespace

Metrics::Family& Metrics::family(const std::string& name, const char* type,
                                 const std::string& help) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

void Metrics::counterAdd(const std::string& name, const std::string& help, const Labels& labels,
                         double value) {
  std::lock_guard lock(mu_);
  family(name, "counter", help).values[labels] += value;
}

void Metrics::gaugeSet(const std::string& name, const std::string& help, const Labels& labels,
                       double value) {
  std::lock_guard lock(mu_);
  family(name, "gauge", help).values[labels] = value;
}

void Metrics::gaugeRemove(const std::string& name, const Labels& labels) {
  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    it->second.values.erase(labels);
  }
}

void Metrics::histogramObserve(const std::string& name, const std::string& help,
                               const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  auto& h = family(name, "histogram", help).histograms[labels];
  if (h.buckets.empty())
    h.buckets.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (value <= kBuckets[i])
      ++h.buckets[i];
  }
  h.sum += value;
  ++h.count;
}

double Metrics::counterValue(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end())
    return 0;
  auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

uint64_t Metrics::histogramCount(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end())
    return 0;
  auto h = f->second.histograms.find(labels);
  return h == f->second.histograms.end() ? 0 : h->second.count;
}

void Metrics::addCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  std::string out;
  for (const auto& collect : collectors) {
    Metrics scratch;
    collect(scratch);
    out += scratch.render();
  }
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, v] : f.values)
      out += name + labelText(labels) + " " + number(v) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        out += name + "_bucket" + labelText(labels, "le", number(kBuckets[i])) + " " +
               std::to_string(h.buckets[i]) + "\n";
      }
      out +=
          name + "_bucket" + labelText(labels, "le", "+Inf") + " " + std::to_string(h.count) + "\n";
      out += name + "_sum" + labelText(labels) + " " + number(h.sum) + "\n";
      out += name + "_count" + labelText(labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

}  // namespace sluice::kube
