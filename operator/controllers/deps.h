#pragma once

// What every reconciler is given: the informer-backed reads, the writers, the Event recorder,
// the shared Prometheus clients, the traffic providers, the metrics registry and the clock.
// One set, built once in cmd/main.cpp.

#include "operator/common/clock.h"
#include "operator/controllers/canary_analysis.h"  // PrometheusClients
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/metrics.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

struct Deps {
  kube::Reader* cache = nullptr;  // informer-backed reads
  kube::Writer* writer = nullptr;
  kube::StatusWriter* statusWriter = nullptr;
  kube::EventRecorder* events = nullptr;
  PrometheusClients* prometheus = nullptr;
  const render::Providers* providers = nullptr;
  kube::Metrics* metrics = nullptr;  // optional
  const Clock* clock = nullptr;
};

}  // namespace sluice::controllers
