#pragma once
// The server's log: one line per event on stderr, "2025-01-01T12:00:00.123Z info [req-42] text".
// Quiet by default: requests are logged at debug; info has start-up, shutdown and model changes.
// Thread-safe.

#include <string>
#include <string_view>

namespace tandem::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// "error", "warn", "info", "debug"; anything else leaves the level unchanged and returns false.
bool set_level(std::string_view name);
void set_level(Level level);
bool enabled(Level level);

// `request_id` may be empty for events that belong to no request.
void write(Level level, std::string_view request_id, std::string_view message);

inline void error(std::string_view message, std::string_view request_id = {}) { write(Level::kError, request_id, message); }
inline void warn(std::string_view message, std::string_view request_id = {}) { write(Level::kWarn, request_id, message); }
inline void info(std::string_view message, std::string_view request_id = {}) { write(Level::kInfo, request_id, message); }
inline void debug(std::string_view message, std::string_view request_id = {}) { write(Level::kDebug, request_id, message); }

}  // namespace tandem::log
