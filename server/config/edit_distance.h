#pragma once
// Levenshtein distance, for "did you mean" suggestions on misspelt option names.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::config {

size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo (at most a third of
// the word's length, and at least 2 edits allowed); empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tandem::config
