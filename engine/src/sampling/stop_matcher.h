#pragma once
// Stop strings in a stream of decoded text. Text arrives in arbitrary chunks (one token's worth,
// usually); push() returns what is safe to show now and holds back the longest tail that could
// still grow into a stop string, so a stop split across tokens never leaks out half-shown.
//
// When several stops occur, the one that completes first wins (ties: the longer one, which starts
// earlier). That is the rule a token-by-token generator sees, and it makes the result independent
// of how the text was chunked.
//
// Matching is on bytes. A valid UTF-8 stop can only match valid UTF-8 text at character
// boundaries, so nothing here splits a character that the input did not split already.
//
// Not thread-safe: one StopMatcher per sequence.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class StopMatcher {
 public:
  // Stops must be non-empty (checked); validate(SamplingParams) reports empty ones to users.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Step {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string completed: text ends where it began
  };

  // After a stop, every push returns {"", true}: generation should end.
  Step push(std::string_view new_text);

  // At the end of generation (no stop seen): returns the held-back text, and holds nothing after.
  std::string flush();

  bool stopped() const { return matched_ != kNone; }
  // The stop string that ended the text; empty before any.
  std::string_view matched_stop() const;
  const std::vector<std::string>& stops() const { return stops_; }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Length of the longest suffix of held_ that is a proper prefix of some stop.
  size_t partial_match_length() const;

  std::vector<std::string> stops_;
  std::string held_;  // received, not yet emitted; shorter than the longest stop between pushes
  size_t matched_ = kNone;  // index into stops_
};

}  // namespace tandem
