#pragma once

// Numbers in Event and status messages, the same way everywhere in the engine.

#include <string>

#include "operator/api/common.h"

namespace sluice::engine {

// What `std::ostream << value` writes under the classic locale (%g, 6 digits), without
// building a stream: Events are formatted inside decisions.
std::string formatNumber(double value);

// A decimal as the user wrote it, or formatNumber() of its value when it has no text.
std::string formatDecimal(const api::Decimal& d);

}  // namespace sluice::engine
