#pragma once
// The failover rule: a pure function of probe results and time, with no sockets and no clock of its
// own, so that tests can play out any history.
//
// Each link has a state:
//   healthy -> slow  after `slow_probes` consecutive probes slower than `latency_threshold_ms`;
//   any     -> down  after `failed_probes` consecutive failed probes, or at once when a real
//                    request cannot connect (mark_down);
//   slow, down -> healthy after `recover_probes` consecutive good probes (answered, below the
//                    threshold); a down link that answers again is live at once, as slow, until then.
//   A link never probed yet is down; its first answer makes it healthy or slow by its speed.
// The active link serves new requests:
//   - the first healthy link in the configured order, except that a return to a higher link waits
//     `min_hold_seconds` since the last switch; a link that flaps (more than 2 switches in 10
//     minutes) has that hold doubled each time, up to 300 s;
//   - the first choice waits until every link before it has been probed once, so that a fast
//     backup does not take the traffic for a moment just because its probe came back first;
//   - when no link is healthy, the live (slow) link with the lowest round-trip time serves and the
//     mode is degraded; when none is live, there is no active link.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace tandem::gateway {

enum class LinkState { kHealthy, kSlow, kDown };
enum class GatewayMode { kNormal, kFailover, kDegraded };

std::string_view state_name(LinkState state);  // "healthy", "slow", "down"
std::string_view mode_name(GatewayMode mode);   // "normal", "failover", "degraded"

struct FailoverRules {
  double latency_threshold_ms = 200;
  int slow_probes = 3;
  int failed_probes = 2;
  int recover_probes = 10;
  double min_hold_seconds = 30;
  double max_hold_seconds = 300;
  double flap_window_seconds = 600;
  int flap_switches = 2;  // more switches than this within the window is flapping
};

struct ProbeOutcome {
  bool answered = false;  // HTTP 200 from GET /health within the timeout
  double rtt_ms = 0;
  std::string failure;    // why not, when !answered: "connection refused", "timed out", "HTTP 503"
};

// One link's state and the streaks that move it.
struct LinkHealth {
  LinkState state = LinkState::kDown;
  bool answered_ever = false;  // false until a probe has been answered once
  bool probed = false;         // false until the first probe came back
  int slow_streak = 0;
  int fail_streak = 0;
  int good_streak = 0;
  std::string reason = "not probed yet";  // why the state is what it is, for people
};

// The link's health after one more probe.
LinkHealth after_probe(LinkHealth health, const ProbeOutcome& probe, const FailoverRules& rules);

// A real request could not reach the link (connection refused or reset): down at once.
LinkHealth after_connection_error(LinkHealth health, const std::string& why);

// What the selection needs to know about a link.
struct LinkView {
  std::string name;
  LinkState state = LinkState::kDown;
  double rtt_ms = 0;   // the smoothed round-trip time (EWMA) of its probes
  std::string reason;  // LinkHealth::reason
  bool probed = true;  // false until its first probe came back (answered or not)
};

// The selection's memory: the active link and the history of switches.
struct SelectionState {
  int active = -1;  // index into the links, -1 = none
  std::optional<double> last_switch_s;
  std::vector<std::deque<double>> switches;  // per link: times it was switched to or from
};

struct Switch {
  int from = -1;
  int to = -1;
  std::string reason;
};

// Chooses the active link at time `now_s` (seconds on any steady clock); returns the switch when
// the active link changes.
std::optional<Switch> select_active(const std::vector<LinkView>& links, SelectionState& state, double now_s,
                                    const FailoverRules& rules);

// The hold before traffic may return to link `index`, given its switches within the flap window.
double hold_seconds(const SelectionState& state, int index, double now_s, const FailoverRules& rules);

GatewayMode mode_of(const std::vector<LinkView>& links, int active);

}  // namespace tandem::gateway
