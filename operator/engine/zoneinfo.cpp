#include "operator/engine/zoneinfo.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

namespace sluice::engine {
namespace {

using Error = Unexpected<std::string>;

std::int64_t readBig(const std::string& data, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = v << 8 | static_cast<unsigned char>(data[at + static_cast<std::size_t>(i)]);
  }
  if (bytes == 4) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  }
  return static_cast<std::int64_t>(v);
}

bool validName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' || c == '+' ||
           c == '-';
  });
}

// [+-]hh[:mm[:ss]] as in POSIX TZ; the result is the written value in seconds.
bool parseClock(std::string_view& text, std::int32_t& out) {
  int sign = 1;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    sign = text.front() == '-' ? -1 : 1;
    text.remove_prefix(1);
  }
  std::int32_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (text.empty() || std::isdigit(static_cast<unsigned char>(text.front())) == 0) {
      if (i == 0) {
        return false;
      }
      break;
    }
    std::int32_t v = 0;
    while (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front())) != 0) {
      v = v * 10 + (text.front() - '0');
      text.remove_prefix(1);
    }
    parts[i] = v;
    if (i < 2 && !text.empty() && text.front() == ':') {
      text.remove_prefix(1);
    } else {
      break;
    }
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool skipZoneName(std::string_view& text) {
  if (!text.empty() && text.front() == '<') {
    const auto close = text.find('>');
    if (close == std::string_view::npos) {
      return false;
    }
    text.remove_prefix(close + 1);
    return true;
  }
  std::size_t n = 0;
  while (n < text.size() && std::isalpha(static_cast<unsigned char>(text[n])) != 0) {
    ++n;
  }
  text.remove_prefix(n);
  return n >= 3;
}

bool parseMonthRule(std::string_view& text, int& month, int& week, int& day, std::int32_t& time) {
  if (text.empty() || text.front() != 'M') {
    return false;  // Jn and n forms: not used by any zone in the database's footers today
  }
  text.remove_prefix(1);
  int values[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    int v = 0;
    bool any = false;
    while (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front())) != 0) {
      v = v * 10 + (text.front() - '0');
      text.remove_prefix(1);
      any = true;
    }
    if (!any) {
      return false;
    }
    values[i] = v;
    if (i < 2) {
      if (text.empty() || text.front() != '.') {
        return false;
      }
      text.remove_prefix(1);
    }
  }
  month = values[0];
  week = values[1];
  day = values[2];
  time = 7200;
  if (!text.empty() && text.front() == '/') {
    text.remove_prefix(1);
    if (!parseClock(text, time)) {
      return false;
    }
  }
  return month >= 1 && month <= 12 && week >= 1 && week <= 5 && day >= 0 && day <= 6;
}

// The local-seconds instant of "the w-th d-day of month m" at `time` in `year`.
std::int64_t ruleLocal(std::int64_t year, int month, int week, int day, std::int32_t time) {
  const std::int64_t first = daysFromCivil(year, static_cast<unsigned>(month), 1);
  const int firstWeekday = static_cast<int>(weekdayFromDays(first));
  std::int64_t date = first + (day - firstWeekday + 7) % 7 + 7 * (week - 1);
  const unsigned nextMonth = month == 12 ? 1 : static_cast<unsigned>(month + 1);
  const std::int64_t monthEnd = daysFromCivil(month == 12 ? year + 1 : year, nextMonth, 1);
  while (date >= monthEnd) {
    date -= 7;  // week 5 means "the last"
  }
  return date * 86400 + time;
}

}  // namespace

std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civilFromDays(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

unsigned weekdayFromDays(std::int64_t days) {
  return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

TimeZone TimeZone::fixed(std::int32_t offsetSeconds) {
  TimeZone tz;
  tz.name_ = "fixed";
  tz.initialOffset_ = offsetSeconds;
  return tz;
}

Expected<TimeZone, std::string> TimeZone::load(std::string_view name, const std::string& root) {
  if (name == "UTC" || name == "Etc/UTC") {
    return utc();
  }
  if (!validName(name)) {
    return Error("invalid time zone name \"" + std::string(name) + "\"");
  }
  std::ifstream in(root + "/" + std::string(name), std::ios::binary);
  if (!in) {
    return Error("unknown time zone \"" + std::string(name) + "\" (no " + root + "/" +
                 std::string(name) + ")");
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = [&] {
    return Error("time zone \"" + std::string(name) + "\": not a TZif file");
  };
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) {
    return bad();
  }
  // Counts of one header: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  auto counts = [&](std::size_t at, std::int64_t out[6]) {
    for (int i = 0; i < 6; ++i) {
      out[i] = readBig(data, at + 20 + static_cast<std::size_t>(i) * 4, 4);
    }
  };
  std::int64_t c[6];
  counts(0, c);
  const char version = data[4];
  std::size_t at = 44;
  int timeBytes = 4;
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one after the second header is authoritative.
    at += static_cast<std::size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (data.size() < at + 44 || data.compare(at, 4, "TZif") != 0) {
      return bad();
    }
    counts(at, c);
    at += 44;
    timeBytes = 8;
  }
  const std::int64_t timecnt = c[3];
  const std::int64_t typecnt = c[4];
  const std::size_t need =
      at + static_cast<std::size_t>(timecnt * timeBytes + timecnt + typecnt * 6 + c[5] +
                                    c[2] * (timeBytes + 4) + c[1] + c[0]);
  if (typecnt < 1 || data.size() < need) {
    return bad();
  }
  TimeZone tz;
  tz.name_ = std::string(name);
  std::vector<std::int64_t> times(static_cast<std::size_t>(timecnt));
  for (std::int64_t i = 0; i < timecnt; ++i) {
    times[static_cast<std::size_t>(i)] =
        readBig(data, at + static_cast<std::size_t>(i * timeBytes), timeBytes);
  }
  at += static_cast<std::size_t>(timecnt * timeBytes);
  std::vector<std::size_t> typeOf(static_cast<std::size_t>(timecnt));
  for (std::int64_t i = 0; i < timecnt; ++i) {
    typeOf[static_cast<std::size_t>(i)] = static_cast<unsigned char>(data[at + i]);
  }
  at += static_cast<std::size_t>(timecnt);
  std::vector<std::int32_t> typeOffsets(static_cast<std::size_t>(typecnt));
  for (std::int64_t i = 0; i < typecnt; ++i) {
    typeOffsets[static_cast<std::size_t>(i)] =
        static_cast<std::int32_t>(readBig(data, at + static_cast<std::size_t>(i * 6), 4));
  }
  at += static_cast<std::size_t>(typecnt * 6 + c[5] + c[2] * (timeBytes + 4) + c[1] + c[0]);
  tz.initialOffset_ = typeOffsets[0];
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (typeOf[i] >= typeOffsets.size()) {
      return bad();
    }
    tz.transitions_.push_back(times[i]);
    tz.offsets_.push_back(typeOffsets[typeOf[i]]);
  }
  if (version >= '2' && at < data.size() && data[at] == '\n') {
    const auto end = data.find('\n', at + 1);
    if (end != std::string::npos) {
      tz.rule_ = parseRule(std::string_view(data).substr(at + 1, end - at - 1));
    }
  }
  return tz;
}

std::optional<TimeZone::Rule> TimeZone::parseRule(std::string_view text) {
  Rule r;
  if (!skipZoneName(text)) {
    return std::nullopt;
  }
  std::int32_t stdWritten = 0;
  if (!parseClock(text, stdWritten)) {
    return std::nullopt;
  }
  r.stdOffset = -stdWritten;  // POSIX writes hours west of Greenwich
  if (text.empty()) {
    return r;
  }
  if (!skipZoneName(text)) {
    return std::nullopt;
  }
  r.dstOffset = r.stdOffset + 3600;
  if (!text.empty() && text.front() != ',') {
    std::int32_t dstWritten = 0;
    if (!parseClock(text, dstWritten)) {
      return std::nullopt;
    }
    r.dstOffset = -dstWritten;
  }
  if (text.empty() || text.front() != ',') {
    return std::nullopt;
  }
  text.remove_prefix(1);
  if (!parseMonthRule(text, r.startMonth, r.startWeek, r.startDay, r.startTime)) {
    return std::nullopt;
  }
  if (text.empty() || text.front() != ',') {
    return std::nullopt;
  }
  text.remove_prefix(1);
  if (!parseMonthRule(text, r.endMonth, r.endWeek, r.endDay, r.endTime)) {
    return std::nullopt;
  }
  return r;
}

std::int32_t TimeZone::ruleOffset(std::int64_t utcSeconds) const {
  const Rule& r = *rule_;
  if (!r.dstOffset) {
    return r.stdOffset;
  }
  const std::int64_t year = civilFromDays((utcSeconds + r.stdOffset) / 86400 -
                                          ((utcSeconds + r.stdOffset) % 86400 < 0 ? 1 : 0))
                                .year;
  // The change into DST happens at a standard-time clock reading, the change out at a
  // daylight-time one.
  const std::int64_t start =
      ruleLocal(year, r.startMonth, r.startWeek, r.startDay, r.startTime) - r.stdOffset;
  const std::int64_t end =
      ruleLocal(year, r.endMonth, r.endWeek, r.endDay, r.endTime) - *r.dstOffset;
  const bool dst = start < end ? (utcSeconds >= start && utcSeconds < end)
                               : (utcSeconds >= start || utcSeconds < end);
  return dst ? *r.dstOffset : r.stdOffset;
}

std::int32_t TimeZone::offsetAt(std::int64_t utcSeconds) const {
  if (transitions_.empty() || utcSeconds < transitions_.front()) {
    if (transitions_.empty() && rule_) {
      return ruleOffset(utcSeconds);
    }
    return initialOffset_;
  }
  if (utcSeconds >= transitions_.back() && rule_) {
    return ruleOffset(utcSeconds);
  }
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utcSeconds);
  return offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

std::int64_t TimeZone::toUtc(std::int64_t localSeconds) const {
  // Offsets change at most once within a day around any instant, so the offsets a day
  // before and after are the only two candidates.
  const std::int32_t before = offsetAt(localSeconds - 86400 - 86400);
  const std::int32_t after = offsetAt(localSeconds + 86400);
  std::optional<std::int64_t> best;
  for (std::int32_t o : {before, after}) {
    const std::int64_t u = localSeconds - o;
    if (offsetAt(u) == o && (!best || u < *best)) {
      best = u;
    }
  }
  return best ? *best : localSeconds - before;
}

}  // namespace sluice::engine
