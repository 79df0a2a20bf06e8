#include "operator/engine/schedule.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "operator/api/units.h"

namespace sluice::engine {

ZoneLoader systemZones() {
  struct Cache {
    std::mutex mu;
    std::map<std::string, TimeZone, std::less<>> zones;
  };
  static const auto cache = std::make_shared<Cache>();
  return [](const std::string& name) -> Expected<TimeZone, std::string> {
    {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->zones.find(name); it != cache->zones.end()) {
        return it->second;
      }
    }
    auto zone = TimeZone::load(name);
    if (zone) {
      std::lock_guard lock(cache->mu);
      cache->zones.emplace(name, *zone);
    }
    return zone;
  };
}

namespace {

using Error = Unexpected<std::string>;
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kLookAhead = 8 * kDay;

struct Window {
  std::int64_t start;
  std::int64_t end;
  std::int32_t minReplicas;
  std::size_t schedule;
};

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

Expected<ScheduleFloor, std::string> scheduleFloor(
    const std::vector<api::ScalingSchedule>& schedules, std::int32_t baseMinReplicas,
    Clock::TimePoint now, const ZoneLoader& zones) {
  const std::int64_t t =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::vector<Window> windows;
  for (std::size_t i = 0; i < schedules.size(); ++i) {
    const auto& s = schedules[i];
    const std::string where = "spec.autoscaling.schedules[" + std::to_string(i) + "]";
    auto cron = api::parseCron(s.cron);
    if (!cron) {
      return Error(where + ".cron: " + cron.error());
    }
    auto zone = zones(s.timeZone.empty() ? "UTC" : s.timeZone);
    if (!zone) {
      return Error(where + ".timeZone: " + zone.error());
    }
    const std::int64_t duration =
        std::chrono::duration_cast<std::chrono::seconds>(s.duration).count();
    if (duration <= 0) {
      continue;
    }
    // Every local date whose windows can reach [t, t + look-ahead]: back by the duration
    // (a window opened then may still be open) and a day of slack for the offset.
    const std::int64_t localNow = t + zone->offsetAt(t);
    const std::int64_t firstDay = floorDiv(localNow - duration, kDay) - 1;
    const std::int64_t lastDay = floorDiv(localNow + kLookAhead, kDay) + 1;
    std::set<std::int64_t> starts;  // a repeated local hour opens once
    for (std::int64_t day = firstDay; day <= lastDay; ++day) {
      const CivilDate date = civilFromDays(day);
      if (!cron->matchesDay(static_cast<int>(date.day), static_cast<int>(date.month),
                            static_cast<int>(weekdayFromDays(day)))) {
        continue;
      }
      for (int hour = 0; hour < 24; ++hour) {
        if ((cron->hours >> hour & 1) == 0) {
          continue;
        }
        for (int minute = 0; minute < 60; ++minute) {
          if (!cron->matchesTime(hour, minute)) {
            continue;
          }
          const std::int64_t start = zone->toUtc(day * kDay + hour * 3600 + minute * 60);
          if (start + duration > t && start <= t + kLookAhead && starts.insert(start).second) {
            windows.push_back({start, start + duration, s.minReplicas, i});
          }
        }
      }
    }
  }
  // A sweep over the window edges after `t`, keeping the open windows that raise the floor
  // ordered by (minReplicas descending, schedule order): the first is the one in force.
  std::map<std::pair<std::int32_t, std::size_t>, int> open;
  auto add = [&](const Window& w, int n) {
    if (w.minReplicas <= baseMinReplicas) {
      return;
    }
    auto& count = open[{-w.minReplicas, w.schedule}];
    count += n;
    if (count == 0) {
      open.erase({-w.minReplicas, w.schedule});
    }
  };
  auto current = [&](std::string& active) {
    if (open.empty()) {
      active.clear();
      return baseMinReplicas;
    }
    active = schedules[open.begin()->first.second].name;
    return -open.begin()->first.first;
  };
  std::vector<std::pair<std::int64_t, int>> edges;  // (time, +1 open / -1 close) by window
  std::vector<std::size_t> edgeWindow;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto& w = windows[i];
    if (w.start <= t && t < w.end) {
      add(w, 1);
    }
    if (w.start > t) {
      edges.push_back({w.start, 1});
      edgeWindow.push_back(i);
    }
    if (w.end > t) {
      edges.push_back({w.end, -1});
      edgeWindow.push_back(i);
    }
  }
  ScheduleFloor out;
  out.minReplicas = current(out.activeSchedule);
  std::vector<std::size_t> order(edges.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return edges[a].first < edges[b].first; });
  for (std::size_t k = 0; k < order.size();) {
    const std::int64_t at = edges[order[k]].first;
    if (at > t + kLookAhead) {
      break;  // windows opening after the look-ahead were not listed: edges past it are not exact
    }
    for (; k < order.size() && edges[order[k]].first == at; ++k) {
      add(windows[edgeWindow[order[k]]], edges[order[k]].second);
    }
    std::string active;
    const std::int32_t floor = current(active);
    if (floor != out.minReplicas || active != out.activeSchedule) {
      out.nextChange = Clock::TimePoint{std::chrono::seconds{at}};
      break;
    }
  }
  return out;
}

}  // namespace sluice::engine
