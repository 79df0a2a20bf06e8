#include "operator/render/haproxy/provider.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "operator/render/rate_limits_json.h"

namespace sluice::render::haproxy {
namespace {

using nlohmann::json;

// Resilience and queue classes are topology (engine::sameTopology compares them): a state
// file that dropped them would read back as a changed plan, and reload HAProxy on every start.
json toJson(const std::optional<engine::Resilience>& resilience) {
  if (!resilience) {
    return nullptr;
  }
  json out{{"loadBalancer", resilience->loadBalancer},
           {"consecutiveErrors", resilience->consecutiveErrors},
           {"activeHealthCheck", nullptr},
           {"maxConcurrentRequests", nullptr}};
  if (const auto& check = resilience->activeHealthCheck) {
    out["activeHealthCheck"] = {{"path", check->path},
                                {"intervalMillis", check->interval.count()},
                                {"healthyThreshold", check->healthyThreshold},
                                {"unhealthyThreshold", check->unhealthyThreshold}};
  }
  if (resilience->maxConcurrentRequests) {
    out["maxConcurrentRequests"] = *resilience->maxConcurrentRequests;
  }
  return out;
}

// State files written before a field existed lack it: absent reads as unset.
std::optional<engine::Resilience> resilienceFromJson(const json& j) {
  if (!j.contains("resilience") || j["resilience"].is_null()) {
    return std::nullopt;
  }
  const auto& r = j["resilience"];
  engine::Resilience out;
  out.loadBalancer = r.at("loadBalancer");
  out.consecutiveErrors = r.at("consecutiveErrors");
  if (const auto& check = r.at("activeHealthCheck"); !check.is_null()) {
    out.activeHealthCheck = engine::HealthCheck{
        check.at("path"), std::chrono::milliseconds(check.at("intervalMillis").get<std::int64_t>()),
        check.at("healthyThreshold"), check.at("unhealthyThreshold")};
  }
  if (const auto& max = r.at("maxConcurrentRequests"); !max.is_null()) {
    out.maxConcurrentRequests = max.get<std::int32_t>();
  }
  return out;
}

json toJson(const std::optional<engine::RateLimits>& limits) {
  return limits ? rateLimitsToJson(*limits) : json(nullptr);
}

// A state file the operator cannot read back is reported by start() and rewritten.
std::optional<engine::RateLimits> rateLimitsFromJson(const json& j) {
  if (!j.contains("rateLimits") || j["rateLimits"].is_null()) {
    return std::nullopt;
  }
  auto limits = render::rateLimitsFromJson(j["rateLimits"]);
  if (!limits) {
    throw std::runtime_error(limits.error());
  }
  return *limits;
}

json toJson(const engine::RoutePlan& plan) {
  json routes = json::array();
  for (const auto& route : plan.routes) {
    json parents = json::array();
    for (const auto& p : route.parents) {
      parents.push_back(
          {{"name", p.name}, {"namespace", p.namespace_}, {"sectionName", p.sectionName}});
    }
    json rules = json::array();
    for (const auto& rule : route.rules) {
      json matches = json::array();
      for (const auto& m : rule.matches) {
        json headers = json::array();
        for (const auto& h : m.headers) {
          headers.push_back({{"name", h.name}, {"value", h.value}, {"type", h.type}});
        }
        matches.push_back({{"headers", headers}});
      }
      json destinations = json::array();
      for (const auto& d : rule.destinations) {
        json headers = json::array();
        for (const auto& h : d.responseHeaders) {
          headers.push_back({{"name", h.name}, {"value", h.value}});
        }
        destinations.push_back({{"name", d.name},
                                {"namespace", d.service.namespace_},
                                {"service", d.service.name},
                                {"port", d.service.port},
                                {"externalName", d.service.externalName},
                                {"weight", d.weight},
                                {"responseHeaders", headers}});
      }
      rules.push_back({{"name", rule.name},
                       {"matches", matches},
                       {"tier", rule.tier},
                       {"priority", rule.priority},
                       {"stickinessHeader", rule.stickinessHeader},
                       {"queueClass", rule.queueClass ? json(*rule.queueClass) : json(nullptr)},
                       {"destinations", destinations}});
    }
    routes.push_back({{"name", route.name},
                      {"hostnames", route.hostnames},
                      {"parents", parents},
                      {"tierHeader", route.tierHeader},
                      {"rules", rules},
                      {"resilience", toJson(route.resilience)},
                      {"rateLimits", toJson(route.rateLimits)}});
  }
  const auto& o = plan.owner;
  return {{"owner",
           {{"apiVersion", o.apiVersion},
            {"kind", o.kind},
            {"namespace", o.namespace_},
            {"name", o.name},
            {"uid", o.uid}}},
          {"routes", routes}};
}

engine::RoutePlan planFromJson(const json& j) {
  engine::RoutePlan plan;
  const auto& o = j.at("owner");
  plan.owner = {o.at("apiVersion"), o.at("kind"), o.at("namespace"), o.at("name"), o.at("uid")};
  for (const auto& r : j.at("routes")) {
    engine::Route route;
    route.name = r.at("name");
    route.hostnames = r.at("hostnames").get<std::vector<std::string>>();
    for (const auto& p : r.at("parents")) {
      route.parents.push_back({p.at("name"), p.at("namespace"), p.at("sectionName")});
    }
    route.tierHeader = r.at("tierHeader");
    for (const auto& ru : r.at("rules")) {
      engine::Rule rule;
      rule.name = ru.at("name");
      for (const auto& m : ru.at("matches")) {
        api::RequestMatch match;
        for (const auto& h : m.at("headers")) {
          match.headers.push_back({h.at("name"), h.at("value"), h.at("type")});
        }
        rule.matches.push_back(std::move(match));
      }
      rule.tier = ru.at("tier");
      rule.priority = ru.at("priority");
      rule.stickinessHeader = ru.at("stickinessHeader");
      if (ru.contains("queueClass") && !ru["queueClass"].is_null()) {
        rule.queueClass = ru["queueClass"].get<std::int32_t>();
      }
      for (const auto& d : ru.at("destinations")) {
        engine::Destination destination{
            d.at("name"),
            {d.at("namespace"), d.at("service"), d.at("port"), d.at("externalName")},
            d.at("weight"),
            {}};
        for (const auto& h : d.value("responseHeaders", json::array())) {
          destination.responseHeaders.push_back({h.at("name"), h.at("value")});
        }
        rule.destinations.push_back(std::move(destination));
      }
      route.rules.push_back(std::move(rule));
    }
    route.resilience = resilienceFromJson(r);
    route.rateLimits = rateLimitsFromJson(r);
    plan.routes.push_back(std::move(route));
  }
  return plan;
}

bool hasPeers(const std::string& config) {
  return config.find("\npeers sluice\n") != std::string::npos;
}

bool peersResynced(const std::string& showPeers) {
  // "0x..: [date] id=sluice disabled=0 flags=0x1103 resync_timeout=<PAST> task_calls=3"
  const auto line = showPeers.substr(0, showPeers.find('\n'));
  const auto flags = line.find("flags=0x");
  const auto timeout = line.find("resync_timeout=");
  if (flags == std::string::npos || timeout == std::string::npos) {
    return true;  // no peers section (yet): nothing to hand over
  }
  const unsigned long value = std::strtoul(line.c_str() + flags + 8, nullptr, 16);
  return (value & 0x3) == 0x3 || line.compare(timeout + 15, 1, "<") == 0;
}

// Runs `<binary> -c -f <config>` and returns what HAProxy said when it refuses the file
// (its ALERT lines), nothing when it accepts it.
Expected<void, std::string> haproxyAccepts(const std::string& binary, const std::string& config) {
  const std::string log = config + ".log";
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    return Unexpected("cannot write " + log + ": " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, out, 2);
  std::vector<std::string> args = {binary, "-c", "-f", config};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out);
  if (spawned != 0) {
    std::remove(log.c_str());
    return Unexpected("cannot run " + binary + " -c: " + std::strerror(spawned));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string said;
  {
    std::ifstream in(log);
    // "[ALERT]    (123) : config : parsing [haproxy.cfg.check:10] : <why>", without the
    // closing "Error(s) found in configuration file" line.
    for (std::string line; std::getline(in, line);) {
      if (line.find("[ALERT]") == std::string::npos ||
          line.find("Error(s) found in configuration file") != std::string::npos) {
        continue;
      }
      const auto at = line.find(" : config : ");
      said += (said.empty() ? "" : "; ") + (at == std::string::npos ? line : line.substr(at + 12));
    }
  }
  std::remove(log.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return {};
  }
  return Unexpected("HAProxy refuses the config: " + (said.empty() ? "haproxy -c failed" : said));
}

// The master CLI runs every command at admin level: a socket others may write to hands them
// HAProxy.
Expected<void, std::string> ownerOnlySocket(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};  // not there (yet): connecting says so
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Unexpected("HAProxy master socket " + path + " is writable by every local user (mode " +
                      mode + "): start HAProxy with -S " + path + ",mode,600");
  }
  return {};
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

HaproxyProvider::HaproxyProvider(HaproxyProviderOptions options)
    : options_(std::move(options)), runtime_(options_.runtimeAddress, options_.runtimeTimeout) {
  if (options_.statePath.empty()) {
    options_.statePath = options_.configPath + ".plans.json";
  }
}

Expected<void, std::string> HaproxyProvider::writeFile(const std::string& path,
                                                       const std::string& content) {
  // Write to a temporary name and rename, so HAProxy never reads a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      return Unexpected("cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Unexpected("cannot rename " + tmp + " to " + path);
  }
  return {};
}

Expected<void, std::string> HaproxyProvider::writeStateLocked() {
  json all = json::array();
  for (const auto& [key, plan] : plans_) {
    all.push_back(toJson(plan));
  }
  return writeFile(options_.statePath, all.dump() + "\n");
}

std::vector<engine::RoutePlan> HaproxyProvider::plansLocked() const {
  std::vector<engine::RoutePlan> out;
  out.reserve(plans_.size());
  for (const auto& [key, plan] : plans_) {
    out.push_back(plan);
  }
  return out;
}

Expected<void, std::string> HaproxyProvider::start() {
  std::unique_lock lock(mu_);
  renderedConfig_ = readFile(options_.configPath);
  renderedMap_ = readFile(options_.config.weightsMapPath);
  std::string warning;
  const std::string state = readFile(options_.statePath);
  if (!state.empty()) {
    try {
      for (const auto& j : json::parse(state)) {
        auto plan = planFromJson(j);
        plans_[plan.owner.key()] = std::move(plan);
      }
    } catch (const std::exception& e) {
      // A state file we cannot read is rebuilt from the owners as they reconcile.
      plans_.clear();
      warning = "haproxy: ignoring unreadable " + options_.statePath + ": " + e.what();
    }
  }
  // The state file is written on topology changes only; the weights are the map file's.
  if (!renderedMap_.empty()) {
    std::map<std::string, std::string> onDisk;
    std::istringstream lines(renderedMap_);
    std::string key;
    std::string value;
    while (lines >> key >> value) {
      onDisk[key] = value;
    }
    for (auto& [ownerKey, plan] : plans_) {
      auto withWeights = plan;
      if (weightsFromEntries(withWeights, onDisk)) {
        plan = std::move(withWeights);
      }
    }
  }
  // Files only: HAProxy may not run yet (it starts once the config exists). A config that
  // changed is reloaded by the next apply.
  bool renderFailed = false;
  if (auto synced = syncTopologyLocked(lock, false, renderFailed); !synced) {
    return Unexpected(synced.error());
  }
  if (!warning.empty()) {
    return Unexpected(warning);
  }
  return {};
}

void HaproxyProvider::waitForPeersResync(std::unique_lock<std::mutex>& lock) {
  // A worker hands its stick tables to the next one on a reload only once it has its own:
  // taught by the worker before it, or, after a fresh start, when its resync timeout (5 s in
  // HAProxy 2.6) has passed. Reloading before that starts the next worker with empty tables,
  // so rate-limit counters would reset when two reloads come close together.
  // After a fresh start that is two resync timeouts (5 s each in HAProxy 2.6: from a local
  // peer, then from remote ones).
  // Asked of HAProxy, not remembered: a reload the master performed but did not confirm
  // (it re-executes while answering) leaves a worker with tables all the same.
  if (!hasPeers(renderedConfig_)) {
    return;
  }
  // Without the lock: weight changes (a rollback) must not wait for it.
  lock.unlock();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{12};
  while (std::chrono::steady_clock::now() < deadline) {
    auto answer = runtime_.command("show peers");
    if (!answer || peersResynced(*answer)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  lock.lock();
}

Expected<void, std::string> HaproxyProvider::syncTopologyLocked(std::unique_lock<std::mutex>& lock,
                                                                bool reload, bool& renderFailed) {
  const auto plans = plansLocked();
  auto config = renderConfig(options_.config, plans);
  renderFailed = !config;
  if (!config) {
    return Unexpected("haproxy config: " + config.error());
  }
  if (!options_.checkBinary.empty() && *config != renderedConfig_) {
    // Checked with its own copy of the map: the live map file keeps the running keys until the
    // config that names the new ones is known to load.
    auto checkOptions = options_.config;
    checkOptions.weightsMapPath = options_.configPath + ".check.map";
    auto checkConfig = renderConfig(checkOptions, plans);
    const std::string checkPath = options_.configPath + ".check";
    Expected<void, std::string> checked = {};
    if (!checkConfig) {
      checked = Unexpected(checkConfig.error());
    } else if (auto w = writeFile(checkOptions.weightsMapPath, renderWeightsMap(plans)); !w) {
      checked = w;
    } else if (auto c = writeFile(checkPath, *checkConfig); !c) {
      checked = c;
    } else {
      checked = haproxyAccepts(options_.checkBinary, checkPath);
    }
    std::remove(checkPath.c_str());
    std::remove(checkOptions.weightsMapPath.c_str());
    if (!checked) {
      renderFailed = true;
      return Unexpected("haproxy config: " + checked.error());
    }
  }
  entries_.clear();
  for (const auto& plan : plans) {
    entries_.merge(weightEntries(plan));
  }
  const std::string map = renderWeightsMap(plans);
  if (map != renderedMap_ || *config != renderedConfig_) {
    // The map first: the new config names its keys.
    if (auto w = writeFile(options_.config.weightsMapPath, map); !w) {
      return w;
    }
    renderedMap_ = map;
    ++stats_.mapWrites;
  }
  if (*config != renderedConfig_) {
    if (auto w = writeFile(options_.configPath, *config); !w) {
      return w;
    }
    renderedConfig_ = *config;
    ++stats_.configWrites;
    reloadPending_ = true;
  }
  if (options_.masterSocket.empty()) {
    reloadPending_ = false;
  }
  if (!reloadPending_ || !reload) {
    return {};
  }
  waitForPeersResync(lock);
  if (!reloadPending_) {
    return {};  // another apply reloaded while this one waited
  }
  // A reload can fail while HAProxy's master re-executes after the previous one: it stays
  // pending, so the next apply reloads again rather than leaving HAProxy on an old config.
  if (auto owned = ownerOnlySocket(options_.masterSocket); !owned) {
    return Unexpected(owned.error());
  }
  RuntimeClient master(options_.masterSocket);
  auto answer = master.command("reload");
  if (!answer) {
    return Unexpected("HAProxy reload through " + options_.masterSocket +
                      " failed: " + answer.error().message);
  }
  reloadPending_ = false;
  ++stats_.reloads;
  return {};
}

Expected<ApplyResult, ProviderError> HaproxyProvider::apply(const engine::RoutePlan& plan) {
  if (auto valid = engine::validate(plan); !valid) {
    return Unexpected(ProviderError{"haproxy: " + valid.error()});
  }
  std::unique_lock lock(mu_);
  const auto key = plan.owner.key();
  auto it = plans_.find(key);
  if (it == plans_.end() || !engine::sameTopology(it->second, plan) || reloadPending_) {
    std::optional<engine::RoutePlan> previous;
    if (it != plans_.end()) {
      previous = it->second;
    }
    plans_[key] = plan;
    bool renderFailed = false;
    auto synced = syncTopologyLocked(lock, true, renderFailed);
    if (!synced) {
      // A plan the config cannot carry (a hostname another owner routes) is not kept; a failed
      // write or reload is (it is retried by the next apply).
      if (renderFailed) {
        if (previous) {
          plans_[key] = *previous;
        } else {
          plans_.erase(key);
        }
      }
      return Unexpected(ProviderError{synced.error()});
    }
    if (auto w = writeStateLocked(); !w) {
      return Unexpected(ProviderError{w.error()});
    }
    return ApplyResult{true, 0};
  }

  // Weights only: no plan is copied and nothing but this owner's entries is read. The map
  // file mirrors the intent first, so HAProxy restarted meanwhile starts from it; then the
  // live values that differ move through the runtime API.
  const auto entries = weightEntries(plan);
  bool fileChanged = false;
  for (const auto& [entry, threshold] : entries) {
    auto& known = entries_[entry];
    fileChanged |= known != threshold;
    known = threshold;
  }
  it->second = plan;
  if (fileChanged) {
    std::string map;
    map.reserve(renderedMap_.size());
    for (const auto& [entry, threshold] : entries_) {
      map += entry + " " + std::to_string(threshold) + "\n";
    }
    if (auto w = writeFile(options_.config.weightsMapPath, map); !w) {
      return Unexpected(ProviderError{w.error()});
    }
    renderedMap_ = std::move(map);
    ++stats_.mapWrites;
  }
  const auto& mapPath = options_.config.weightsMapPath;
  ApplyResult result;
  if (options_.runtimeAddress.empty()) {
    return result;  // no HAProxy running: the files are the output
  }
  for (const auto& [entry, threshold] : entries) {
    const std::string value = std::to_string(threshold);
    auto live = runtime_.getMapValue(mapPath, entry);
    if (!live) {
      return Unexpected(ProviderError{"HAProxy runtime API " + options_.runtimeAddress + ": " +
                                      live.error().message});
    }
    if (*live == value) {
      continue;
    }
    if (auto set = runtime_.setMapValue(mapPath, entry, value); !set) {
      return Unexpected(ProviderError{"HAProxy runtime API " + options_.runtimeAddress + ": " +
                                      set.error().message});
    }
    ++stats_.mapSets;
    ++result.weightsChanged;
  }
  return result;
}

Expected<std::optional<engine::RoutePlan>, ProviderError> HaproxyProvider::verify(
    const engine::Owner& owner) {
  std::optional<engine::RoutePlan> plan;
  {
    std::lock_guard lock(mu_);
    auto it = plans_.find(owner.key());
    if (it == plans_.end()) {
      return plan;
    }
    plan = it->second;
  }
  if (options_.runtimeAddress.empty()) {
    return plan;  // no HAProxy running: what the files say is what there is
  }
  std::map<std::string, std::string> live;
  for (const auto& [entry, threshold] : weightEntries(*plan)) {
    auto value = runtime_.getMapValue(options_.config.weightsMapPath, entry);
    if (!value) {
      return Unexpected(ProviderError{"HAProxy runtime API " + options_.runtimeAddress + ": " +
                                      value.error().message});
    }
    if (*value) {
      live[entry] = **value;
    }
  }
  if (auto read = weightsFromEntries(*plan, live); !read) {
    return Unexpected(ProviderError{"haproxy: " + read.error()});
  }
  return plan;
}

std::vector<TierCounts> parseTierCounts(const std::string& table) {
  std::vector<TierCounts> counts;
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("0x", 0) != 0) {
      continue;  // "# table: ..." header and blank lines
    }
    TierCounts c;
    std::istringstream fields(line);
    std::string field;
    while (fields >> field) {
      const auto eq = field.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      const std::string name = field.substr(0, eq);
      const std::string value = field.substr(eq + 1);
      if (name == "key") {
        c.tier = value;
      } else if (name == "http_req_cnt" || name == "gpc0") {
        std::uint64_t n = 0;
        std::from_chars(value.data(), value.data() + value.size(), n);
        (name == "gpc0" ? c.rejected : c.requests) = n;
      }
    }
    if (!c.tier.empty()) {
      counts.push_back(std::move(c));
    }
  }
  return counts;
}

Expected<std::vector<TierCounts>, ProviderError> HaproxyProvider::rateLimitCounts(
    const engine::Owner& owner) {
  std::vector<std::string> tables;
  {
    std::lock_guard lock(mu_);
    auto it = plans_.find(owner.key());
    if (it == plans_.end()) {
      return std::vector<TierCounts>{};
    }
    for (const auto& route : it->second.routes) {
      if (route.rateLimits) {
        tables.push_back(tierCountsTable(routeId(owner, route)));
      }
    }
  }
  std::map<std::string, TierCounts> byTier;
  if (options_.runtimeAddress.empty()) {
    tables.clear();
  }
  for (const auto& table : tables) {
    auto shown = runtime_.command("show table " + table);
    if (!shown) {
      return Unexpected(ProviderError{"HAProxy runtime API " + options_.runtimeAddress + ": " +
                                      shown.error().message});
    }
    // A table HAProxy does not have yet (its reload is pending) has counted nothing.
    if (shown->find("No such table") != std::string::npos) {
      continue;
    }
    for (auto& c : parseTierCounts(*shown)) {
      auto& sum = byTier[c.tier];
      sum.tier = c.tier;
      sum.requests += c.requests;
      sum.rejected += c.rejected;
    }
  }
  std::vector<TierCounts> counts;
  for (auto& [tier, c] : byTier) {
    counts.push_back(std::move(c));
  }
  return counts;
}

Expected<void, ProviderError> HaproxyProvider::remove(const engine::Owner& owner) {
  std::unique_lock lock(mu_);
  auto it = plans_.find(owner.key());
  if (it == plans_.end() && !reloadPending_) {
    return {};
  }
  if (it != plans_.end()) {
    plans_.erase(it);
    if (auto w = writeStateLocked(); !w) {
      return Unexpected(ProviderError{w.error()});
    }
  }
  bool renderFailed = false;
  if (auto synced = syncTopologyLocked(lock, true, renderFailed); !synced) {
    return Unexpected(ProviderError{synced.error()});
  }
  return {};
}

std::vector<engine::Owner> HaproxyProvider::owners(std::string_view kind) {
  std::lock_guard lock(mu_);
  std::vector<engine::Owner> out;
  for (const auto& [key, plan] : plans_) {
    if (plan.owner.kind == kind) {
      out.push_back(plan.owner);
    }
  }
  return out;
}

std::string HaproxyProvider::requestCountQuery(const engine::Owner& owner, const std::string& route,
                                               const std::string& destination) const {
  engine::Route r;
  r.name = route;
  return "sum(increase(haproxy_backend_http_requests_total{proxy=\"" +
         backendName(owner, r, destination) + "\"}[{{interval}}]))";
}

DestinationQueries HaproxyProvider::destinationQueries(const engine::Owner& owner,
                                                       const std::string& route,
                                                       const std::string& destination) const {
  engine::Route r;
  r.name = route;
  const std::string proxy = "proxy=\"" + backendName(owner, r, destination) + "\"";
  DestinationQueries q;
  q.requestsPerSecond =
      "sum(rate(haproxy_backend_http_requests_total{" + proxy + "}[{{interval}}]))";
  q.errorRate = "sum(rate(haproxy_backend_http_responses_total{" + proxy +
                ",code=\"5xx\"}[{{interval}}])) / sum(rate(haproxy_backend_http_responses_total{" +
                proxy + "}[{{interval}}])) > -1";
  // HAProxy exports no latency histogram: the mean total time of its last 1,024 requests is
  // the closest it has to a p99 (it understates tails; give a histogram query for those).
  q.latencyP99Milliseconds =
      "1000 * max(haproxy_backend_total_time_average_seconds{" + proxy + "})";
  q.up = "max(haproxy_backend_status{" + proxy + ",state=\"UP\"})";
  return q;
}

HaproxyStats HaproxyProvider::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace sluice::render::haproxy
