#include "operator/render/provider.h"

namespace sluice::render {

void Providers::add(std::unique_ptr<TrafficProvider> provider) {
  std::string name(provider->name());
  providers_[name] = std::move(provider);
}

TrafficProvider* Providers::find(std::string_view name) const {
  auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

std::vector<TrafficProvider*> Providers::all() const {
  std::vector<TrafficProvider*> out;
  for (const auto& [name, provider] : providers_) {
    out.push_back(provider.get());
  }
  return out;
}

std::string Providers::names() const {
  std::string out;
  for (const auto& [name, provider] : providers_) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace sluice::render
