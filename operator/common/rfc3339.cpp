#include "operator/common/rfc3339.h"

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace sluice {
namespace {

using TimePoint = Clock::TimePoint;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Whole seconds since the epoch that system_clock can hold, fraction included at the top end.
constexpr seconds kEarliest = std::chrono::ceil<seconds>(TimePoint::min().time_since_epoch());
constexpr seconds kLatest = std::chrono::floor<seconds>(TimePoint::max().time_since_epoch());

// `secs` in UTC, then `suffix` (the fraction, if any, and "Z"). The clock's range keeps the year
// within 0000-9999, so the four-digit field never overflows.
std::string formatSeconds(std::chrono::sys_seconds secs, const char* suffix) {
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{secs - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d%s", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), suffix);
  return buf;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads the grammar left to right; the first problem found is the one reported.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  const std::string& error() const { return error_; }
  bool atEnd() const { return pos_ == text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  void skip() { ++pos_; }
  std::string_view rest() const { return text_.substr(pos_); }

  // Exactly `width` ASCII digits forming a value in [min, max].
  bool field(std::size_t width, const char* name, int min, int max, int& out) {
    out = 0;
    for (std::size_t i = 0; i < width; ++i) {
      if (pos_ + i >= text_.size()) {
        return fail(std::string("missing ") + name);
      }
      if (!isDigit(text_[pos_ + i])) {
        return fail(std::string(name) + " must be " + std::to_string(width) + " digits");
      }
      out = out * 10 + (text_[pos_ + i] - '0');
    }
    pos_ += width;
    if (out < min || out > max) {
      return fail(std::string(name) + " " + std::to_string(out) + " out of range " +
                  std::to_string(min) + "-" + std::to_string(max));
    }
    return true;
  }

  bool expect(char c, const char* where) {
    if (peek() != c || atEnd()) {
      return fail(std::string("expected '") + c + "' " + where + ", found " + found());
    }
    ++pos_;
    return true;
  }

  // What is at the cursor, for messages.
  std::string found() const {
    if (atEnd()) {
      return "end of text";
    }
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c < 0x20 || c >= 0x7f) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
      return buf;
    }
    return std::string("'") + text_[pos_] + "'";
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

struct Fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  nanoseconds fraction{0};
  minutes offset{0};
};

bool scan(Scanner& s, Fields& f) {
  if (!s.field(4, "year", 0, 9999, f.year) || !s.expect('-', "after the year") ||
      !s.field(2, "month", 1, 12, f.month) || !s.expect('-', "after the month")) {
    return false;
  }
  const std::chrono::year_month_day_last last{
      std::chrono::year{f.year},
      std::chrono::month_day_last{std::chrono::month{static_cast<unsigned>(f.month)}}};
  const int daysInMonth = static_cast<int>(static_cast<unsigned>(last.day()));
  if (!s.field(2, "day", 1, 31, f.day)) {
    return false;
  }
  if (f.day > daysInMonth) {
    char ym[16];
    std::snprintf(ym, sizeof ym, "%04d-%02d", f.year, f.month);
    return s.fail("day " + std::to_string(f.day) + " out of range 1-" +
                  std::to_string(daysInMonth) + " for " + ym);
  }
  if (s.peek() == 'T' || s.peek() == 't') {
    s.skip();
  } else {
    return s.fail("expected 'T' between date and time, found " + s.found() +
                  (s.peek() == ' ' ? " (a space separator is not accepted)" : ""));
  }
  if (!s.field(2, "hour", 0, 23, f.hour) || !s.expect(':', "after the hour") ||
      !s.field(2, "minute", 0, 59, f.minute) || !s.expect(':', "after the minute")) {
    return false;
  }
  if (!s.field(2, "second", 0, 99, f.second)) {
    return false;
  }
  if (f.second > 59) {
    return s.fail("second " + std::to_string(f.second) + " out of range 0-59" +
                  (f.second == 60 ? " (leap seconds are not accepted, as in Go)" : ""));
  }
  if (s.peek() == '.' && !s.atEnd()) {
    s.skip();
    if (!isDigit(s.peek()) || s.atEnd()) {
      return s.fail("expected a digit after '.', found " + s.found());
    }
    std::int64_t nanos = 0;
    int digits = 0;
    for (; !s.atEnd() && isDigit(s.peek()); s.skip()) {
      if (digits < 9) {  // beyond nanoseconds: truncated
        nanos = nanos * 10 + (s.peek() - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) {
      nanos *= 10;
    }
    f.fraction = nanoseconds{nanos};
  }
  if (s.atEnd()) {
    return s.fail("missing time zone: expected 'Z', +hh:mm or -hh:mm");
  }
  const char zone = s.peek();
  if (zone == 'Z' || zone == 'z') {
    s.skip();
  } else if (zone == '+' || zone == '-') {
    s.skip();
    int offsetHours = 0, offsetMinutes = 0;
    if (!s.field(2, "offset hour", 0, 23, offsetHours) || !s.expect(':', "in the offset") ||
        !s.field(2, "offset minute", 0, 59, offsetMinutes)) {
      return false;
    }
    f.offset = hours{offsetHours} + minutes{offsetMinutes};
    if (zone == '-') {
      f.offset = -f.offset;
    }
  } else {
    return s.fail("expected 'Z', +hh:mm or -hh:mm, found " + s.found());
  }
  if (!s.atEnd()) {
    return s.fail("unexpected text \"" + std::string(s.rest()) + "\" after the time zone");
  }
  return true;
}

}  // namespace

std::string formatRfc3339(Clock::TimePoint t) {
  return formatSeconds(std::chrono::floor<seconds>(t), "Z");
}

std::string formatRfc3339Micro(Clock::TimePoint t) {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(t);
  const auto secs = std::chrono::floor<seconds>(micros);
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%06lldZ", static_cast<long long>((micros - secs).count()));
  return formatSeconds(secs, suffix);
}

Expected<Clock::TimePoint, std::string> parseRfc3339(std::string_view text) {
  const auto invalid = [&](const std::string& why) {
    return Unexpected("invalid RFC 3339 timestamp \"" + std::string(text) + "\": " + why);
  };
  Scanner scanner(text);
  Fields f;
  if (!scan(scanner, f)) {
    return invalid(scanner.error());
  }
  const std::chrono::year_month_day ymd{std::chrono::year{f.year},
                                        std::chrono::month{static_cast<unsigned>(f.month)},
                                        std::chrono::day{static_cast<unsigned>(f.day)}};
  const seconds secs = std::chrono::sys_days{ymd}.time_since_epoch() + hours{f.hour} +
                       minutes{f.minute} + seconds{f.second} - f.offset;
  const auto fraction = std::chrono::duration_cast<TimePoint::duration>(f.fraction);
  if (secs < kEarliest || secs > kLatest ||
      (secs == kLatest && fraction > TimePoint::max().time_since_epoch() - kLatest)) {
    return invalid("outside the range system_clock can represent (" +
                   formatRfc3339(TimePoint{kEarliest}) + " to " + formatRfc3339(TimePoint::max()) +
                   ")");
  }
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(secs) + fraction};
}

}  // namespace sluice
