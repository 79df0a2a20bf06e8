#include "operator/engine/format.h"

#include <array>
#include <charconv>

namespace sluice::engine {

std::string formatNumber(double value) {
  std::array<char, 32> buffer;
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                 std::chars_format::general, 6)
                       .ptr;
  return std::string(buffer.data(), end);
}

std::string formatDecimal(const api::Decimal& d) {
  return d.text.empty() ? formatNumber(d.toDouble()) : d.text;
}

}  // namespace sluice::engine
