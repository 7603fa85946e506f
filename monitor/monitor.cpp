#include "monitor/monitor.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "monitor/collectors.h"
#include "monitor/metric_catalog.h"

namespace tandem::monitor {
namespace {

using nlohmann::json;

constexpr size_t kHistoryRecords = 200;

std::string series_key(const Reading& r) {
  std::string key = r.name;
  for (const auto& [k, v] : r.labels) key += '\x1f' + k + '=' + v;
  return key;
}

// One series' reading now, if it has one: a resolved alert reports the series it fired on.
std::optional<double> reading_of(const Labels& labels, const std::string& metric, const Readings& readings) {
  for (const auto& r : readings) {
    if (r.name == metric && r.labels == labels) return r.value;
  }
  return std::nullopt;
}

json labels_json(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string prometheus_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// memory_used_ratio: the GPU's memory when the model is on one, else the host's.
std::optional<Reading> memory_ratio(const Readings& readings, int gpu) {
  std::optional<double> used, total;
  const std::string gpu_label = std::to_string(gpu);
  for (const auto& r : readings) {
    if (gpu >= 0) {
      const bool ours = !r.labels.empty() && r.labels[0].first == "gpu" && r.labels[0].second == gpu_label;
      if (ours && r.name == "gpu_memory_used_bytes") used = r.value;
      if (ours && r.name == "gpu_memory_total_bytes") total = r.value;
    } else {
      if (r.name == "host_memory_used_bytes") used = r.value;
      if (r.name == "host_memory_total_bytes") total = r.value;
    }
  }
  if (!used || !total || *total <= 0) return std::nullopt;
  return Reading{"memory_used_ratio", {}, *used / *total};
}

}  // namespace

std::vector<std::string> builtin_actions() { return {"log", "webhook"}; }

Monitor::Monitor(MonitorOptions options) : options_(std::move(options)), engine_(options_.rules) {
  if (options_.host_collectors) {
    collectors_ = host_collectors(options_.proc_root, options_.sys_root, options_.nvml_library);
  }
  started_unix_ = unix_now();
  webhooks_ = std::make_unique<WebhookSender>([this](const std::string& url, const std::string& outcome) {
    log(false, "monitor: webhook " + url + " answered " + outcome);
  });
  set_action("log", Action{[](const AlertEvent&) { return std::string("logged"); },
                           [](const AlertEvent&) { return std::string("logged"); }});
  auto post = [this](const AlertEvent& event) {
    const bool queued = webhooks_->send(event.rule.url, alert_body(event));
    return std::string(queued ? "webhook POST queued to " : "webhook queue full; an older alert was dropped for ") +
           event.rule.url;
  };
  set_action("webhook", Action{post, post});
}

Monitor::~Monitor() { stop(); }

void Monitor::add_collector(std::unique_ptr<Collector> collector) { collectors_.push_back(std::move(collector)); }

void Monitor::set_action(const std::string& name, Action action) { actions_[name] = std::move(action); }

void Monitor::start() {
  std::lock_guard lock(loop_mutex_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Monitor::stop() {
  {
    std::lock_guard lock(loop_mutex_);
    stop_ = true;
  }
  loop_wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Monitor::run() {
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.interval_seconds));
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(loop_mutex_);
  while (!stop_) {
    lock.unlock();
    sample_once(steady_now(), unix_now());
    cpu_seconds_.store(thread_cpu_seconds());
    lock.lock();
    next += interval;
    // After a stall (a suspended VM) start afresh rather than sampling in a burst to catch up.
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now() + interval;
    loop_wake_.wait_until(lock, next, [&] { return stop_; });
  }
}

void Monitor::log(bool warning, const std::string& line) const {
  if (options_.log) options_.log(warning, line);
}

void Monitor::sample_once(double now_monotonic, double now_unix) {
  // Collectors are touched by this thread only; the store is updated under the lock.
  Readings readings;
  std::map<std::string, bool> sources;
  for (auto& collector : collectors_) {
    std::optional<Readings> got;
    try {
      got = collector->sample(now_monotonic);
    } catch (const std::exception& e) {
      log(true, std::string("monitor: collector ") + collector->name() + " failed: " + e.what());
    }
    sources[collector->name()] = got.has_value();
    if (got) readings.insert(readings.end(), got->begin(), got->end());
  }
  if (auto ratio = memory_ratio(readings, options_.gpu)) readings.push_back(*ratio);

  struct Pending {
    Transition transition;
    uint64_t record_id;
    double started_at;
  };
  std::vector<Pending> pending;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, series] : series_) series.current = false;
    for (const auto& r : readings) {
      auto [it, inserted] = series_.try_emplace(series_key(r), Series{r.name, r.labels, RingBuffer<std::pair<double, double>>(options_.history_points)});
      it->second.points.push({now_unix, r.value});
      it->second.current = true;
    }
    current_ = readings;
    sources_ = sources;
    last_sample_unix_ = now_unix;
    const auto transitions =
        engine_.step(now_monotonic, [&](const Rule& rule) { return worst_reading(rule, readings); });
    for (auto t : transitions) {
      if (t.firing) {
        history_.push_back(Record{next_id_++, t.rule, t.value, now_unix, 0, "", ""});
        if (history_.size() > kHistoryRecords) history_.pop_front();
        pending.push_back({t, history_.back().id, now_unix});
      } else {
        t.value.value = reading_of(t.value.labels, engine_.rules()[t.rule].metric, readings).value_or(t.value.value);
        for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
          if (it->rule == t.rule && it->ended_at == 0) {
            it->ended_at = now_unix;
            pending.push_back({t, it->id, it->started_at});
            break;
          }
        }
      }
    }
  }

  // Actions run outside the lock: they may read the monitor (latest(), stats) themselves.
  for (const auto& p : pending) {
    const Rule& rule = engine_.rules()[p.transition.rule];
    const AlertEvent event{rule, p.transition.value, p.transition.firing, p.started_at,
                           p.transition.firing ? 0.0 : now_unix};
    std::string result;
    const auto action = actions_.find(rule.action);
    if (p.transition.firing && !p.transition.run_action) {
      result = "none: in cooldown (" + number(rule.cooldown_seconds) + " s since the last action)";
    } else if (action == actions_.end()) {
      result = "none: no action \"" + rule.action + "\" in this process";
    } else {
      const ActionFunction& run = p.transition.firing ? action->second.fire : action->second.resolve;
      try {
        result = run ? run(event) : "";
      } catch (const std::exception& e) {
        result = std::string("failed: ") + e.what();
      }
    }
    log(p.transition.firing, "monitor: " + describe(event) + (result.empty() ? "" : "; action " + rule.action + ": " + result));
    std::lock_guard lock(mutex_);
    for (auto& record : history_) {
      if (record.id != p.record_id) continue;
      (p.transition.firing ? record.action_result : record.resolve_result) = result;
    }
  }
}

std::string Monitor::describe(const AlertEvent& event) const {
  const Rule& rule = event.rule;
  std::string what = "alert " + rule.name + (event.firing ? " firing: " : " resolved: ") + rule.metric;
  for (const auto& [k, v] : event.value.labels) what += " " + k + "=" + v;
  what += " is " + number(event.value.value) + (event.firing ? "" : ", no longer") +
          (rule.comparison == Comparison::kAbove ? " above " : " below ") + number(rule.threshold);
  if (event.firing && rule.for_seconds > 0) what += " for " + number(rule.for_seconds) + " s";
  return what;
}

std::string Monitor::alert_body(const AlertEvent& event) const {
  const Rule& rule = event.rule;
  json body = {{"rule", rule.name},
               {"state", event.firing ? "firing" : "resolved"},
               {"metric", rule.metric},
               {"labels", labels_json(event.value.labels)},
               {"value", event.value.value},
               {rule.comparison == Comparison::kAbove ? "above" : "below", rule.threshold},
               {"for_seconds", rule.for_seconds},
               {"started_at", event.started_at},
               {"source", options_.source},
               {"summary", describe(event)}};
  if (!event.firing) body["ended_at"] = event.ended_at;
  return body.dump();
}

std::optional<double> Monitor::latest(const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::optional<double> best;
  for (const auto& r : current_) {
    if (r.name == name && (!best || r.value > *best)) best = r.value;
  }
  return best;
}

bool Monitor::firing(const std::string& rule) const {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < engine_.rules().size(); ++i) {
    if (engine_.rules()[i].name == rule) return engine_.firing(i);
  }
  return false;
}

json Monitor::stats_json() const {
  std::lock_guard lock(mutex_);
  json sources = json::object();
  for (const auto& [name, present] : sources_) sources[name] = present ? "present" : "absent";
  json current = json::array();
  for (const auto& r : current_) current.push_back({{"name", r.name}, {"labels", labels_json(r.labels)}, {"value", r.value}});
  json series = json::array();
  for (const auto& [key, s] : series_) {
    if (!s.current) continue;  // a sensor that went away keeps no stale line on the dashboard
    json points = json::array();
    for (size_t i = 0; i < s.points.size(); ++i) points.push_back({s.points[i].first, s.points[i].second});
    series.push_back({{"name", s.name}, {"labels", labels_json(s.labels)}, {"points", points}});
  }
  const double uptime = last_sample_unix_ > started_unix_ ? last_sample_unix_ - started_unix_ : 0;
  return {{"time", last_sample_unix_},
          {"interval_seconds", options_.interval_seconds},
          {"sources", sources},
          {"current", current},
          {"series", series},
          {"monitor",
           {{"cpu_seconds", cpu_seconds_.load()},
            {"uptime_seconds", uptime},
            {"cpu_share_of_one_core", uptime > 0 ? cpu_seconds_.load() / uptime : 0.0}}}};
}

json Monitor::alerts_json() const {
  std::lock_guard lock(mutex_);
  const auto& rules = engine_.rules();
  auto record_json = [&](const Record& r) {
    const Rule& rule = rules[r.rule];
    json j = {{"id", r.id},
              {"rule", rule.name},
              {"metric", rule.metric},
              {"labels", labels_json(r.value.labels)},
              {"value", r.value.value},
              {rule.comparison == Comparison::kAbove ? "above" : "below", rule.threshold},
              {"for_seconds", rule.for_seconds},
              {"action", rule.action},
              {"action_result", r.action_result},
              {"started_at", r.started_at},
              {"ended_at", r.ended_at > 0 ? json(r.ended_at) : json(nullptr)},
              {"state", r.ended_at > 0 ? "resolved" : "firing"}};
    if (r.ended_at > 0) j["resolve_result"] = r.resolve_result;
    return j;
  };
  json firing = json::array(), history = json::array();
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->ended_at == 0) firing.push_back(record_json(*it));
    history.push_back(record_json(*it));
  }
  json rule_list = json::parse(rules_json(rules));
  for (size_t i = 0; i < rules.size(); ++i) {
    rule_list[i]["state"] = engine_.firing(i) ? "firing" : "ok";
    const auto& last = engine_.last_value(i);
    rule_list[i]["value"] = last ? json(last->value) : json(nullptr);
  }
  return {{"firing", firing}, {"history", history}, {"rules", rule_list}};
}

std::string Monitor::render_prometheus() const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  std::string last_name;
  for (const auto& [key, s] : series_) {  // sorted by key, so a metric's series are together
    if (!s.current) continue;
    const MetricInfo* info = find_metric(s.name);
    if (!info || !info->exported) continue;
    const std::string name = "tandem_" + s.name;
    if (name != last_name) {
      out << "# HELP " << name << " " << info->help << "\n# TYPE " << name << " " << info->type << "\n";
      last_name = name;
    }
    out << name << prometheus_labels(s.labels) << " " << number(s.points.back().second) << "\n";
  }
  out << "# HELP tandem_alert_firing 1 while the monitoring rule is firing\n# TYPE tandem_alert_firing gauge\n";
  for (size_t i = 0; i < engine_.rules().size(); ++i) {
    out << "tandem_alert_firing{rule=\"" << escape_label(engine_.rules()[i].name) << "\"} "
        << (engine_.firing(i) ? 1 : 0) << "\n";
  }
  out << "# HELP tandem_monitor_source_up 1 when the collector found its source on this host\n"
         "# TYPE tandem_monitor_source_up gauge\n";
  for (const auto& [name, present] : sources_) {
    out << "tandem_monitor_source_up{source=\"" << name << "\"} " << (present ? 1 : 0) << "\n";
  }
  out << "# HELP tandem_monitor_cpu_seconds_total CPU time the monitoring loop has used\n"
         "# TYPE tandem_monitor_cpu_seconds_total counter\n"
      << "tandem_monitor_cpu_seconds_total " << number(cpu_seconds_.load()) << "\n";
  return out.str();
}

}  // namespace tandem::monitor
