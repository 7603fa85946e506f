#include "gateway/links/failover_rule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tandem::gateway {
namespace {

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f ms", ms);
  return buf;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", s);
  return buf;
}

}  // namespace

std::string_view state_name(LinkState state) {
  switch (state) {
    case LinkState::kHealthy: return "healthy";
    case LinkState::kSlow: return "slow";
    case LinkState::kDown: return "down";
  }
  return "down";
}

std::string_view mode_name(GatewayMode mode) {
  switch (mode) {
    case GatewayMode::kNormal: return "normal";
    case GatewayMode::kFailover: return "failover";
    case GatewayMode::kDegraded: return "degraded";
  }
  return "degraded";
}

LinkHealth after_probe(LinkHealth h, const ProbeOutcome& probe, const FailoverRules& rules) {
  h.probed = true;
  if (!probe.answered) {
    ++h.fail_streak;
    h.slow_streak = 0;
    h.good_streak = 0;
    if (h.state == LinkState::kDown) {
      h.reason = probe.failure;
    } else if (h.fail_streak >= rules.failed_probes) {
      h.state = LinkState::kDown;
      h.reason = std::to_string(h.fail_streak) + " probes failed in a row: " + probe.failure;
    }
    return h;
  }
  h.fail_streak = 0;
  const bool fast = probe.rtt_ms <= rules.latency_threshold_ms;
  const std::string threshold = ms_text(rules.latency_threshold_ms);
  if (fast) {
    ++h.good_streak;
    h.slow_streak = 0;
  } else {
    ++h.slow_streak;
    h.good_streak = 0;
  }
  if (!h.answered_ever) {
    // The first answer: nothing to recover from.
    h.answered_ever = true;
    h.state = fast ? LinkState::kHealthy : LinkState::kSlow;
    h.reason = fast ? "answering" : "probe took " + ms_text(probe.rtt_ms) + ", above " + threshold;
    return h;
  }
  switch (h.state) {
    case LinkState::kHealthy:
      if (!fast && h.slow_streak >= rules.slow_probes) {
        h.state = LinkState::kSlow;
        h.reason = std::to_string(h.slow_streak) + " probes in a row above " + threshold + " (last " +
                   ms_text(probe.rtt_ms) + ")";
      }
      break;
    case LinkState::kDown:
      // Live again, but not trusted until it has recovered.
      h.state = LinkState::kSlow;
      h.reason = "answering again; healthy after " + std::to_string(rules.recover_probes) + " good probes";
      [[fallthrough]];
    case LinkState::kSlow:
      if (fast && h.good_streak >= rules.recover_probes) {
        h.state = LinkState::kHealthy;
        h.reason = std::to_string(h.good_streak) + " good probes in a row";
      } else if (!fast) {
        h.reason = "probe took " + ms_text(probe.rtt_ms) + ", above " + threshold;
      }
      break;
  }
  return h;
}

LinkHealth after_connection_error(LinkHealth h, const std::string& why) {
  h.probed = true;
  h.state = LinkState::kDown;
  h.good_streak = 0;
  h.slow_streak = 0;
  h.reason = "a request could not reach it: " + why;
  return h;
}

double hold_seconds(const SelectionState& state, int index, double now_s, const FailoverRules& rules) {
  int recent = 0;
  if (index >= 0 && static_cast<size_t>(index) < state.switches.size()) {
    for (double t : state.switches[static_cast<size_t>(index)]) recent += (now_s - t <= rules.flap_window_seconds);
  }
  if (recent <= rules.flap_switches) return rules.min_hold_seconds;
  const double doubled = rules.min_hold_seconds * std::pow(2.0, recent - rules.flap_switches);
  return std::min(rules.max_hold_seconds, std::max(rules.min_hold_seconds, doubled));
}

std::optional<Switch> select_active(const std::vector<LinkView>& links, SelectionState& state, double now_s,
                                    const FailoverRules& rules) {
  const int n = static_cast<int>(links.size());
  state.switches.resize(links.size());
  for (auto& times : state.switches) {
    while (!times.empty() && now_s - times.front() > rules.flap_window_seconds) times.pop_front();
  }
  const int current = state.active >= 0 && state.active < n ? state.active : -1;
  auto healthy = [&](int i) { return i >= 0 && links[static_cast<size_t>(i)].state == LinkState::kHealthy; };
  auto live = [&](int i) { return i >= 0 && links[static_cast<size_t>(i)].state != LinkState::kDown; };

  int target = -1;
  std::string reason;
  for (int i = 0; i < n && target < 0; ++i) {
    if (healthy(i)) target = i;
  }
  if (current < 0) {
    const int limit = target >= 0 ? target : n;
    for (int i = 0; i < limit; ++i) {
      if (!links[static_cast<size_t>(i)].probed) return std::nullopt;
    }
  }
  if (target >= 0) {
    if (healthy(current) && target < current) {
      const double hold = hold_seconds(state, target, now_s, rules);
      if (state.last_switch_s && now_s - *state.last_switch_s < hold) target = current;
      reason = links[static_cast<size_t>(target)].name + " is healthy again and the hold of " + seconds_text(hold) +
               " since the last switch is over";
    }
  } else {
    // Degraded: the fastest live link; the current one stays unless another is clearly faster,
    // so that probe noise does not move traffic back and forth.
    for (int i = 0; i < n; ++i) {
      if (live(i) && (target < 0 || links[static_cast<size_t>(i)].rtt_ms < links[static_cast<size_t>(target)].rtt_ms)) {
        target = i;
      }
    }
    if (live(current) && target >= 0 &&
        links[static_cast<size_t>(target)].rtt_ms > 0.8 * links[static_cast<size_t>(current)].rtt_ms) {
      target = current;
    }
    if (target >= 0) reason = "no link is healthy; " + links[static_cast<size_t>(target)].name + " is the fastest live link";
  }
  if (target == current) return std::nullopt;

  if (current >= 0 && !healthy(current)) {
    const LinkView& from = links[static_cast<size_t>(current)];
    reason = from.name + " is " + std::string(state_name(from.state)) + ": " + from.reason;
  } else if (current < 0 && target >= 0 && reason.empty()) {
    reason = links[static_cast<size_t>(target)].name + " is the first link that can serve";
  }
  if (target < 0) reason = "no link can serve";

  Switch change{current, target, reason};
  // Only a move from one link to another counts as a switch (not the first choice, nor "none").
  if (current >= 0 && target >= 0) {
    state.switches[static_cast<size_t>(current)].push_back(now_s);
    state.switches[static_cast<size_t>(target)].push_back(now_s);
    state.last_switch_s = now_s;
  }
  state.active = target;
  return change;
}

GatewayMode mode_of(const std::vector<LinkView>& links, int active) {
  if (active < 0 || static_cast<size_t>(active) >= links.size()) return GatewayMode::kDegraded;
  if (links[static_cast<size_t>(active)].state != LinkState::kHealthy) return GatewayMode::kDegraded;
  return active == 0 ? GatewayMode::kNormal : GatewayMode::kFailover;
}

}  // namespace tandem::gateway
