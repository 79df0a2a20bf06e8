#pragma once

// The haproxy provider's options from the --haproxy-* flags: one mapping for the operator and
// for `kubectl sluice render`, so both write the same haproxy.cfg.

#include "operator/cmd/options.h"
#include "operator/render/haproxy/provider.h"

namespace sluice::cmd {

render::haproxy::HaproxyProviderOptions haproxyProviderOptions(const HaproxyOptions& o);

}  // namespace sluice::cmd
