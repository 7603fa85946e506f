#pragma once
// The gateway's conversations in one SQLite file (history.path; "" keeps them in memory until the
// gateway stops). One table: a row per conversation with its messages as JSON text, plus a
// lower-cased copy of the title and message text for search. Thread-safe: one mutex around the
// connection. A call can block (up to the 2 s busy timeout while another process holds the file's
// lock), so the gateway makes them on its history thread (app/ui_routes.h), not on HTTP I/O threads.

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/result.h"

struct sqlite3;

namespace tandem::gateway {

class ConversationStore {
 public:
  // Opens (creating if needed) the file; the error names the path and the reason.
  static Result<std::unique_ptr<ConversationStore>> open(const std::string& path);
  ~ConversationStore();
  ConversationStore(const ConversationStore&) = delete;
  ConversationStore& operator=(const ConversationStore&) = delete;

  // [{"id", "title", "created", "updated", "messages": N}], newest first; `query` ("" = all)
  // matches titles and message text, case-insensitively.
  Result<nlohmann::json> list(const std::string& query = "", size_t limit = 500);
  // The whole conversation, or nullopt when there is none with that id.
  Result<std::optional<nlohmann::json>> get(const std::string& id);
  // Stores a validated conversation (conversation.h) under a new id; returns it whole. With
  // `keep_times`, "created"/"updated" from `c` are kept when present (imports).
  Result<nlohmann::json> create(const nlohmann::json& c, bool keep_times = false);
  // Replaces title, settings and messages; false when there is no such conversation.
  Result<bool> replace(const std::string& id, const nlohmann::json& c);
  Result<bool> remove(const std::string& id);
  // Every conversation whole, newest first (the export).
  Result<nlohmann::json> all();

 private:
  explicit ConversationStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  std::string new_id();

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
};

}  // namespace tandem::gateway
