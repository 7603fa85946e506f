#pragma once
// A conversation as the web UI keeps it, and the checks on what a client sends. The JSON shape
// (also the export/import format, a list of these under "conversations"):
//   {"id": "9f2c...", "title": "...", "created": 1733492000123, "updated": ...,   (ms since epoch)
//    "settings": {"system": "...", "model": "...", "temperature": 0.7, "top_p": 1, "max_tokens": 512},
//    "messages": [{"role": "user"|"assistant"|"system", "content": "...", "meta": {...}}]}
// "meta" holds what the page shows under a reply (ttft_ms, tokens_per_s, tokens, link, error):
// an object of at most 16 scalar fields, stored as given.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"

namespace tandem::gateway {

struct ConversationLimits {
  size_t max_title_chars = 200;
  size_t max_messages = 2000;
  size_t max_system_chars = 64 * 1024;
};

// Checks a client's conversation (from PUT, POST or an import) and returns it normalised: only
// the known fields, defaults filled in ("New chat", empty settings). `at` prefixes field names in
// errors ("conversations[2].messages[4].role"). The id and times are not read: the store sets them.
Result<nlohmann::json> validated_conversation(const nlohmann::json& body, const std::string& at = "",
                                              const ConversationLimits& limits = {});

// Ids are 1..64 characters of [A-Za-z0-9_-] (the store makes 16 hex digits).
bool valid_conversation_id(std::string_view id);

}  // namespace tandem::gateway
