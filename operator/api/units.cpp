#include "operator/api/units.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

namespace sluice::api {
namespace {

// 128-bit intermediates keep products like "0.123456789h in nanoseconds" exact before the
// range check; the extension keyword keeps -Wpedantic quiet about the GNU type.
__extension__ typedef __int128 Int128;

constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

struct DurationUnit {
  std::string_view name;
  std::int64_t nanos;
};

constexpr std::array<DurationUnit, 8> kDurationUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC Greek small letter mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

}  // namespace

Expected<Duration, std::string> parseDuration(std::string_view text) {
  const std::string bad = "invalid duration " + quoted(text);
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return Duration{0};
  }
  if (s.empty()) {
    return Unexpected(bad);
  }
  Int128 totalNanos = 0;
  const Int128 limit = Int128{kMax64};
  while (!s.empty()) {
    if (!isDigit(s.front()) && s.front() != '.') {
      return Unexpected(bad);
    }
    Int128 whole = 0;
    std::size_t wholeDigits = 0;
    while (!s.empty() && isDigit(s.front())) {
      whole = whole * 10 + (s.front() - '0');
      if (whole > limit) {
        return Unexpected(bad + ": out of range");
      }
      ++wholeDigits;
      s.remove_prefix(1);
    }
    Int128 fraction = 0;
    Int128 scale = 1;
    std::size_t fractionDigits = 0;
    bool fractionBeyondPrecision = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      while (!s.empty() && isDigit(s.front())) {
        // Eighteen digits resolve far below a nanosecond of any unit; a non-zero digit past
        // them can only make the value a fraction of a millisecond, which is rejected below.
        if (fractionDigits < 18) {
          fraction = fraction * 10 + (s.front() - '0');
          scale *= 10;
        } else if (s.front() != '0') {
          fractionBeyondPrecision = true;
        }
        ++fractionDigits;
        s.remove_prefix(1);
      }
    }
    if (wholeDigits == 0 && fractionDigits == 0) {
      return Unexpected(bad);
    }
    std::size_t unitLength = 0;
    while (unitLength < s.size() && !isDigit(s[unitLength]) && s[unitLength] != '.') {
      ++unitLength;
    }
    if (unitLength == 0) {
      return Unexpected(bad + ": missing unit");
    }
    const std::string_view unitName = s.substr(0, unitLength);
    s.remove_prefix(unitLength);
    std::int64_t unitNanos = 0;
    for (const auto& unit : kDurationUnits) {
      if (unit.name == unitName) {
        unitNanos = unit.nanos;
      }
    }
    if (unitNanos == 0) {
      return Unexpected(bad + ": unknown unit " + quoted(unitName));
    }
    const Int128 fractionNanos = fraction * unitNanos;
    if (fractionNanos % scale != 0 || fractionBeyondPrecision) {
      return Unexpected(bad + ": must be a whole number of milliseconds");
    }
    totalNanos += whole * unitNanos + fractionNanos / scale;
    if (totalNanos > limit) {
      return Unexpected(bad + ": out of range");
    }
  }
  if (totalNanos % 1'000'000 != 0) {
    return Unexpected(bad + ": must be a whole number of milliseconds");
  }
  const auto millis = static_cast<std::int64_t>(totalNanos / 1'000'000);
  return Duration{negative ? -millis : millis};
}

std::string formatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  // Work on the magnitude in unsigned arithmetic so the most negative value cannot overflow.
  std::uint64_t magnitude = static_cast<std::uint64_t>(ms);
  if (ms < 0) {
    out = "-";
    magnitude = ~magnitude + 1;
  }
  if (magnitude < 1000) {
    return out + std::to_string(magnitude) + "ms";
  }
  const std::uint64_t hours = magnitude / 3'600'000;
  const std::uint64_t minutes = magnitude / 60'000 % 60;
  const std::uint64_t seconds = magnitude / 1000 % 60;
  const std::uint64_t millis = magnitude % 1000;
  if (hours != 0) {
    out += std::to_string(hours) + "h";
  }
  if (minutes != 0) {
    out += std::to_string(minutes) + "m";
  }
  if (seconds != 0 || millis != 0) {
    out += std::to_string(seconds);
    if (millis != 0) {
      std::string fraction = std::to_string(millis + 1000).substr(1);
      while (fraction.back() == '0') {
        fraction.pop_back();
      }
      out += "." + fraction;
    }
    out += "s";
  }
  return out;
}

Expected<Decimal, std::string> parseDecimal(std::string_view text) {
  const std::string bad = "invalid decimal " + quoted(text);
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !isDigit(s.front())) {
    return Unexpected(bad);
  }
  Int128 micros = 0;
  while (!s.empty() && isDigit(s.front())) {
    micros = micros * 10 + (s.front() - '0');
    if (micros > Int128{kMax64} / 1'000'000) {
      return Unexpected(bad + ": out of range");
    }
    s.remove_prefix(1);
  }
  micros *= 1'000'000;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    if (s.empty()) {
      return Unexpected(bad);
    }
    std::int64_t place = 100'000;
    while (!s.empty() && isDigit(s.front())) {
      const int digit = s.front() - '0';
      if (place == 0) {
        if (digit != 0) {
          return Unexpected(bad + ": at most 6 digits after the decimal point");
        }
      } else {
        micros += digit * place;
        place /= 10;
      }
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) {
    return Unexpected(bad);
  }
  const auto value = static_cast<std::int64_t>(micros);
  return Decimal{negative ? -value : value, std::string(text)};
}

std::string formatDecimal(std::int64_t micros) {
  std::string out;
  std::uint64_t magnitude = static_cast<std::uint64_t>(micros);
  if (micros < 0) {
    out = "-";
    magnitude = ~magnitude + 1;
  }
  out += std::to_string(magnitude / 1'000'000);
  const std::uint64_t fraction = magnitude % 1'000'000;
  if (fraction != 0) {
    std::string digits = std::to_string(fraction + 1'000'000).substr(1);
    while (digits.back() == '0') {
      digits.pop_back();
    }
    out += "." + digits;
  }
  return out;
}

Decimal decimalFromMicros(std::int64_t micros) {
  return Decimal{micros, formatDecimal(micros)};
}

std::int64_t Quantity::value() const {
  const std::int64_t whole = milli / 1000;
  return milli % 1000 > 0 ? whole + 1 : whole;
}

Expected<Quantity, std::string> parseQuantity(std::string_view text) {
  const std::string bad = "invalid quantity " + quoted(text);
  const std::string tooLarge = bad + ": out of range";
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  // Mantissa digits without the decimal point; `fractionDigits` of them follow the point.
  Int128 mantissa = 0;
  int digits = 0;
  int fractionDigits = 0;
  bool sawPoint = false;
  bool sawDigit = false;
  bool beyondPrecision = false;
  while (!s.empty() && (isDigit(s.front()) || (s.front() == '.' && !sawPoint))) {
    if (s.front() == '.') {
      sawPoint = true;
    } else {
      sawDigit = true;
      if (digits < 36) {
        mantissa = mantissa * 10 + (s.front() - '0');
        if (mantissa != 0) {
          ++digits;
        }
        if (sawPoint) {
          ++fractionDigits;
        }
      } else if (sawPoint) {
        beyondPrecision = beyondPrecision || s.front() != '0';
      } else {
        return Unexpected(tooLarge);
      }
    }
    s.remove_prefix(1);
  }
  if (!sawDigit) {
    return Unexpected(bad);
  }
  int exponent10 = 3 - fractionDigits;  // result is in milli-units
  int binaryShift = 0;
  if (s.size() == 2 && s[1] == 'i') {
    constexpr std::string_view kBinary = "KMGTPE";
    const auto pos = kBinary.find(s[0]);
    if (pos == std::string_view::npos) {
      return Unexpected(bad + ": unknown suffix " + quoted(s));
    }
    binaryShift = 10 * static_cast<int>(pos + 1);
  } else if (!s.empty() && (s[0] == 'e' || s[0] == 'E') && s.size() > 1) {
    std::string_view e = s.substr(1);
    bool expNegative = false;
    if (e.front() == '-' || e.front() == '+') {
      expNegative = e.front() == '-';
      e.remove_prefix(1);
    }
    int value = 0;
    const auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), value);
    if (e.empty() || ec != std::errc{} || end != e.data() + e.size() || e.front() == '+') {
      return Unexpected(bad + ": invalid exponent " + quoted(s));
    }
    if (value > 100) {
      if (!expNegative && mantissa != 0) {
        return Unexpected(tooLarge);
      }
      value = 100;
    }
    exponent10 += expNegative ? -value : value;
  } else if (s.size() <= 1) {
    static constexpr std::array<std::pair<char, int>, 9> kDecimal{{
        {'n', -9},
        {'u', -6},
        {'m', -3},
        {'k', 3},
        {'M', 6},
        {'G', 9},
        {'T', 12},
        {'P', 15},
        {'E', 18},
    }};
    if (!s.empty()) {
      bool known = false;
      for (const auto& [suffix, power] : kDecimal) {
        if (suffix == s[0]) {
          exponent10 += power;
          known = true;
        }
      }
      if (!known) {
        return Unexpected(bad + ": unknown suffix " + quoted(s));
      }
    }
  } else {
    return Unexpected(bad + ": unknown suffix " + quoted(s));
  }
  const Int128 limit = Int128{kMax64};
  Int128 value = mantissa;
  for (int i = 0; i < binaryShift && value != 0; ++i) {
    value *= 2;
    if (value > limit * 1000) {
      return Unexpected(tooLarge);
    }
  }
  bool inexact = beyondPrecision;
  for (; exponent10 > 0 && value != 0; --exponent10) {
    value *= 10;
    if (value > limit) {
      return Unexpected(tooLarge);
    }
  }
  for (; exponent10 < 0 && value != 0; ++exponent10) {
    inexact = inexact || value % 10 != 0;
    value /= 10;
  }
  // Like resource.Quantity, precision below a milli-unit rounds up rather than vanishing.
  if (inexact) {
    value += 1;
  }
  if (value > limit) {
    return Unexpected(tooLarge);
  }
  const auto milli = static_cast<std::int64_t>(value);
  return Quantity{negative ? -milli : milli, std::string(text)};
}

namespace {

struct CronField {
  const char* name;
  int min;
  int max;
  std::vector<std::string_view> names;  // names[i] means min + i
};

bool parseCronValue(std::string_view text, const CronField& field, int& out) {
  if (text.empty()) {
    return false;
  }
  if (isDigit(text.front())) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out >= field.min &&
           out <= field.max;
  }
  for (std::size_t i = 0; i < field.names.size(); ++i) {
    const std::string_view candidate = field.names[i];
    if (candidate.size() == text.size() &&
        std::equal(text.begin(), text.end(), candidate.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      out = field.min + static_cast<int>(i);
      return true;
    }
  }
  return false;
}

// Checks one field and sets the bit of every value it allows in `mask` (bit v for value v).
std::string cronFieldError(std::string_view text, const CronField& field, std::uint64_t& mask) {
  const std::string where = std::string(field.name) + " field " + quoted(text);
  const std::string range =
      " (allowed " + std::to_string(field.min) + "-" + std::to_string(field.max) + ")";
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) {
      return where + ": empty list item";
    }
    int stepValue = 1;
    const std::size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view step = item.substr(slash + 1);
      const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), stepValue);
      if (step.empty() || ec != std::errc{} || end != step.data() + step.size() || stepValue < 1) {
        return where + ": step must be a positive integer";
      }
      item = item.substr(0, slash);
    }
    int low = field.min;
    int high = field.max;
    if (item != "*") {
      const std::size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!parseCronValue(item, field, low)) {
          return where + ": invalid value " + quoted(item) + range;
        }
        // "5/15" runs from 5 to the end of the range, as in Vixie cron; "5" alone is 5.
        high = slash != std::string_view::npos ? field.max : low;
      } else {
        if (!parseCronValue(item.substr(0, dash), field, low) ||
            !parseCronValue(item.substr(dash + 1), field, high)) {
          return where + ": invalid range " + quoted(item) + range;
        }
        if (low > high) {
          return where + ": range " + quoted(item) + " has its start after its end";
        }
      }
    }
    for (int v = low; v <= high; v += stepValue) {
      mask |= std::uint64_t{1} << v;
    }
    if (comma == std::string_view::npos) {
      return "";
    }
    start = comma + 1;
  }
}

}  // namespace

Expected<CronSchedule, std::string> parseCron(std::string_view expression) {
  // Vixie cron's fields and bounds; day-of-week 7 is Sunday again, as the CRD's rule allows.
  static const std::array<CronField, 5> kFields{{
      {"minute", 0, 59, {}},
      {"hour", 0, 23, {}},
      {"day-of-month", 1, 31, {}},
      {"month",
       1,
       12,
       {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
      {"day-of-week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
  }};
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos < expression.size()) {
    while (pos < expression.size() && (expression[pos] == ' ' || expression[pos] == '\t')) {
      ++pos;
    }
    const std::size_t start = pos;
    while (pos < expression.size() && expression[pos] != ' ' && expression[pos] != '\t') {
      ++pos;
    }
    if (pos > start) {
      parts.push_back(expression.substr(start, pos - start));
    }
  }
  if (parts.size() != kFields.size()) {
    return Unexpected("invalid cron expression " + quoted(expression) +
                      ": expected 5 fields, found " + std::to_string(parts.size()));
  }
  std::array<std::uint64_t, 5> masks{};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string error = cronFieldError(parts[i], kFields[i], masks[i]);
    if (!error.empty()) {
      return Unexpected("invalid cron expression " + quoted(expression) + ": " + error);
    }
  }
  CronSchedule out;
  out.minutes = masks[0];
  out.hours = masks[1];
  out.daysOfMonth = masks[2];
  out.months = masks[3];
  // 7 is Sunday as well as 0.
  out.daysOfWeek = (masks[4] | (masks[4] >> 7)) & 0x7f;
  out.daysOfMonthRestricted = parts[2] != "*" && parts[2].front() != '*';
  out.daysOfWeekRestricted = parts[4] != "*" && parts[4].front() != '*';
  return out;
}

bool CronSchedule::matchesDay(int dayOfMonth, int month, int dayOfWeek) const {
  if ((months >> month & 1) == 0) {
    return false;
  }
  const bool dom = (daysOfMonth >> dayOfMonth & 1) != 0;
  const bool dow = (daysOfWeek >> dayOfWeek & 1) != 0;
  // Vixie cron: when both day fields are restricted, either may match.
  if (daysOfMonthRestricted && daysOfWeekRestricted) {
    return dom || dow;
  }
  return dom && dow;
}

std::string cronError(std::string_view expression) {
  auto parsed = parseCron(expression);
  return parsed ? std::string() : parsed.error();
}

bool isHttpToken(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  for (const char c : text) {
    const bool alnum =
        std::isalnum(static_cast<unsigned char>(c)) != 0 && static_cast<unsigned char>(c) < 0x80;
    if (!alnum && kSpecials.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool isDns1123Label(std::string_view text) {
  if (text.empty() || text.size() > 63) {
    return false;
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || isDigit(c); };
  if (!alnum(text.front()) || !alnum(text.back())) {
    return false;
  }
  for (const char c : text) {
    if (!alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

bool isDns1123Subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    if (!isDns1123Label(text.substr(start, dot == text.npos ? text.npos : dot - start))) {
      return false;
    }
    if (dot == text.npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool isObjectName(std::string_view text) {
  if (text.empty() || text.size() > 253) {
    return false;
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || isDigit(c); };
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const auto part = text.substr(start, dot == text.npos ? text.npos : dot - start);
    if (part.empty() || !alnum(part.front()) || !alnum(part.back()) ||
        !std::all_of(part.begin(), part.end(), [&](char c) { return alnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == text.npos) {
      return true;
    }
    start = dot + 1;
  }
}

}  // namespace sluice::api
