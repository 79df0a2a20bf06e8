#include "operator/kube/time_format.h"

#include <cstdio>
#include <ctime>

namespace sluice::kube {
namespace {

std::string format(std::chrono::system_clock::time_point t, bool micros) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  if (secs > t)
    secs -= std::chrono::seconds(1);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (micros) {
    char frac[32];
    std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(us));
    out += frac;
  }
  return out + "Z";
}

}  // namespace

std::string formatTime(std::chrono::system_clock::time_point t) {
  return format(t, false);
}
std::string formatMicroTime(std::chrono::system_clock::time_point t) {
  return format(t, true);
}

std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::chrono::microseconds fraction{0};
  size_t pos = static_cast<size_t>(consumed);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    long long value = 0;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) {
        value = value * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    while (digits++ < 6)
      value *= 10;
    fraction = std::chrono::microseconds(value);
  }
  if (pos >= text.size() || text[pos] != 'Z' || pos + 1 != text.size())
    return std::nullopt;
  std::time_t tt = timegm(&tm);
  return std::chrono::system_clock::from_time_t(tt) + fraction;
}

}  // namespace sluice::kube
