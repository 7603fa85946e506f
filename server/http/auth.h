#pragma once
// API keys: "Authorization: Bearer KEY" checked against the configured keys in constant time, so
// response timing does not reveal how much of a guess was right.

#include <string>
#include <string_view>
#include <vector>

namespace tandem::http {

// True when a and b are equal; the time taken depends only on their lengths, not on their contents.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when the Authorization header carries one of `keys` as a Bearer token. Every key is
// compared, whatever matched, so the time does not reveal which key was close.
bool authorized(std::string_view authorization_header, const std::vector<std::string>& keys);

}  // namespace tandem::http
