#include "gateway/links/link_set.h"

#include <algorithm>
#include <ctime>

#include "log/log.h"

namespace tandem::gateway {
namespace {

constexpr size_t kMaxEvents = 100;

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Probe round trips, in seconds as Prometheus wants them: 1 ms to 5 s.
std::vector<double> rtt_bounds() { return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5}; }

}  // namespace

LinkSet::Link::Link() : probe_rtt(rtt_bounds()) {}

LinkSet::LinkSet(std::vector<LinkConfig> links, FailoverRules rules) : configs_(std::move(links)), rules_(rules) {
  for (size_t i = 0; i < configs_.size(); ++i) links_.push_back(std::make_unique<Link>());
  selection_.switches.resize(configs_.size());
}

double LinkSet::now_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_).count();
}

std::vector<LinkView> LinkSet::views_locked() const {
  std::vector<LinkView> views;
  for (size_t i = 0; i < links_.size(); ++i) {
    const Link& l = *links_[i];
    views.push_back({configs_[i].name, l.health.state, l.rtt.ewma().value_or(0), l.health.reason, l.health.probed});
  }
  return views;
}

void LinkSet::reselect_locked() {
  const auto change = select_active(views_locked(), selection_, now_s(), rules_);
  if (!change) return;
  SwitchEvent e{utc_now(), change->from >= 0 ? configs_[static_cast<size_t>(change->from)].name : "",
                change->to >= 0 ? configs_[static_cast<size_t>(change->to)].name : "", change->reason};
  const bool real_switch = change->from >= 0 && change->to >= 0;
  if (real_switch) ++switches_total_;
  const std::string line = "active link: " + (e.from.empty() ? "none" : e.from) + " -> " + (e.to.empty() ? "none" : e.to) +
                           " (" + e.reason + ")";
  if (e.to.empty()) {
    log::warn(line);
  } else {
    log::info(line);
  }
  events_.push_back(std::move(e));
  while (events_.size() > kMaxEvents) events_.pop_front();
}

void LinkSet::record_probe(size_t link, const ProbeOutcome& outcome) {
  std::lock_guard lock(mutex_);
  Link& l = *links_[link];
  const LinkState before = l.health.state;
  ++l.probes_total;
  if (outcome.answered) {
    l.rtt.add(outcome.rtt_ms);
    l.probe_rtt.observe(outcome.rtt_ms / 1000.0);
  } else {
    ++l.probe_failures_total;
  }
  l.health = after_probe(l.health, outcome, rules_);
  if (l.health.state != before) {
    log::info("link " + configs_[link].name + ": " + std::string(state_name(before)) + " -> " +
              std::string(state_name(l.health.state)) + " (" + l.health.reason + ")");
  }
  reselect_locked();
}

void LinkSet::record_connection_error(size_t link, const std::string& why) {
  std::lock_guard lock(mutex_);
  Link& l = *links_[link];
  if (l.health.state != LinkState::kDown) {
    log::warn("link " + configs_[link].name + ": down at once: " + why);
  }
  l.health = after_connection_error(l.health, why);
  reselect_locked();
}

void LinkSet::set_models(size_t link, std::vector<std::string> models) {
  std::lock_guard lock(mutex_);
  links_[link]->models = std::move(models);
  routes_by_model_ = false;
  for (const auto& l : links_) {
    if (!l->models.empty() && l->models != links_[link]->models) routes_by_model_ = true;
  }
}

bool LinkSet::routes_by_model() const {
  std::lock_guard lock(mutex_);
  return routes_by_model_;
}

int LinkSet::pick(uint64_t excluded, std::string_view model) {
  std::lock_guard lock(mutex_);
  auto usable = [&](size_t i) { return !(excluded >> i & 1u) && links_[i]->health.state != LinkState::kDown; };
  auto lists = [&](size_t i) {
    const auto& m = links_[i]->models;
    return std::find(m.begin(), m.end(), model) != m.end();
  };
  int active = selection_.active;
  if (active >= 0 && !usable(static_cast<size_t>(active))) active = -1;
  if (routes_by_model_ && !model.empty() && !(active >= 0 && (links_[static_cast<size_t>(active)]->models.empty() ||
                                                              lists(static_cast<size_t>(active))))) {
    for (LinkState wanted : {LinkState::kHealthy, LinkState::kSlow}) {
      for (size_t i = 0; i < links_.size(); ++i) {
        if (usable(i) && links_[i]->health.state == wanted && lists(i)) return static_cast<int>(i);
      }
    }
  }
  if (active < 0) {
    // The active link failed this request (or none is active): the next live link in order,
    // preferring healthy ones.
    for (LinkState wanted : {LinkState::kHealthy, LinkState::kSlow}) {
      for (size_t i = 0; i < links_.size() && active < 0; ++i) {
        if (usable(i) && links_[i]->health.state == wanted) active = static_cast<int>(i);
      }
    }
    return active;
  }
  const std::string& group = configs_[static_cast<size_t>(active)].group;
  if (group.empty()) return active;
  int best = active;
  for (size_t i = 0; i < links_.size(); ++i) {
    if (configs_[i].group == group && usable(i) && links_[i]->health.state == LinkState::kHealthy &&
        links_[i]->in_flight < links_[static_cast<size_t>(best)]->in_flight) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

void LinkSet::begin_request(size_t link) {
  std::lock_guard lock(mutex_);
  ++links_[link]->in_flight;
  ++links_[link]->requests_total;
}

void LinkSet::end_request(size_t link, int status, bool failed) {
  std::lock_guard lock(mutex_);
  Link& l = *links_[link];
  --l.in_flight;
  if (failed) ++l.errors_total;
  ++l.responses[status];
}

bool LinkSet::can_serve() const {
  std::lock_guard lock(mutex_);
  return selection_.active >= 0;
}

std::string LinkSet::failure_summary() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (size_t i = 0; i < links_.size(); ++i) {
    if (!out.empty()) out += "; ";
    out += configs_[i].name + ": " + std::string(state_name(links_[i]->health.state)) + " (" +
           links_[i]->health.reason + ")";
  }
  return out;
}

LinksSnapshot LinkSet::snapshot() const {
  std::lock_guard lock(mutex_);
  LinksSnapshot s;
  s.active = selection_.active;
  s.mode = mode_of(views_locked(), selection_.active);
  for (size_t i = 0; i < links_.size(); ++i) {
    const Link& l = *links_[i];
    LinkSnapshot ls;
    ls.name = configs_[i].name;
    ls.url = configs_[i].url;
    ls.protocol = configs_[i].protocol;
    ls.group = configs_[i].group;
    ls.state = l.health.state;
    ls.reason = l.health.reason;
    ls.rtt_last = l.rtt.last();
    ls.rtt_p50 = l.rtt.percentile(50);
    ls.rtt_p95 = l.rtt.percentile(95);
    ls.rtt_ewma = l.rtt.ewma();
    ls.in_flight = l.in_flight;
    ls.requests_total = l.requests_total;
    ls.errors_total = l.errors_total;
    ls.probes_total = l.probes_total;
    ls.probe_failures_total = l.probe_failures_total;
    ls.probe_rtt = l.probe_rtt.snapshot();
    ls.responses = l.responses;
    s.links.push_back(std::move(ls));
  }
  s.events.assign(events_.begin(), events_.end());
  s.switches_total = switches_total_;
  return s;
}

}  // namespace tandem::gateway
