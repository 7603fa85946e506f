#include "gateway/history/conversation_store.h"

#include <sqlite3.h>

#include <chrono>
#include <random>

namespace tandem::gateway {
namespace {

using nlohmann::json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// What search looks through: the title and every message's text.
std::string search_text(const json& c) {
  std::string text = c.value("title", "");
  for (const auto& m : c["messages"]) {
    text += '\n';
    text += m["content"].get_ref<const std::string&>();
  }
  return lower(text);
}

// One prepared statement, finalised on every path out.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  std::string error() const { return sqlite3_errmsg(db_); }
  void bind(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))) : std::string();
  }
  int64_t integer(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Error db_error(sqlite3* db, const std::string& what) {
  return make_error("conversation history: " + what + " failed: " + sqlite3_errmsg(db));
}

json row_summary(Statement& s) {
  return {{"id", s.text(0)}, {"title", s.text(1)}, {"created", s.integer(2)}, {"updated", s.integer(3)}};
}

// id, title, created, updated, settings, messages -> the whole conversation.
json row_whole(Statement& s) {
  json c = row_summary(s);
  c["settings"] = json::parse(s.text(4), nullptr, false);
  c["messages"] = json::parse(s.text(5), nullptr, false);
  if (!c["settings"].is_object()) c["settings"] = json::object();
  if (!c["messages"].is_array()) c["messages"] = json::array();
  return c;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<std::unique_ptr<ConversationStore>> ConversationStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  const std::string file = path.empty() ? ":memory:" : path;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("history.path: cannot open \"" + path + "\": " + why +
                      "; give a writable file path (its folder must exist)");
  }
  std::unique_ptr<ConversationStore> store(new ConversationStore(db));
  sqlite3_busy_timeout(db, 2000);
  if (auto s = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                           "CREATE TABLE IF NOT EXISTS conversations ("
                           " id TEXT PRIMARY KEY, title TEXT NOT NULL, created INTEGER NOT NULL,"
                           " updated INTEGER NOT NULL, settings TEXT NOT NULL, messages TEXT NOT NULL,"
                           " search TEXT NOT NULL);"
                           "CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated DESC);");
      !s) {
    return make_error("history.path: \"" + path + "\" is not a usable history file: " + s.error());
  }
  return store;
}

ConversationStore::~ConversationStore() { sqlite3_close(db_); }

Status ConversationStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    return make_error(why);
  }
  return ok_status();
}

std::string ConversationStore::new_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Result<json> ConversationStore::list(const std::string& query, size_t limit) {
  std::lock_guard lock(mutex_);
  // LIKE with its wildcards escaped, so "50%" searches for "50%".
  std::string pattern = "%";
  for (char c : lower(query)) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += "%";
  Statement s(db_, "SELECT id, title, created, updated, json_array_length(messages) FROM conversations"
                   " WHERE search LIKE ?1 ESCAPE '\\' ORDER BY updated DESC LIMIT ?2");
  if (!s.ok()) return db_error(db_, "listing");
  s.bind(1, pattern);
  s.bind(2, static_cast<int64_t>(limit));
  json out = json::array();
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    json c = row_summary(s);
    c["messages"] = s.integer(4);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "listing");
  return out;
}

Result<std::optional<json>> ConversationStore::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT id, title, created, updated, settings, messages FROM conversations WHERE id = ?1");
  if (!s.ok()) return db_error(db_, "reading");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<json>(row_whole(s));
  if (rc != SQLITE_DONE) return db_error(db_, "reading");
  return std::optional<json>();
}

Result<json> ConversationStore::create(const json& c, bool keep_times) {
  std::lock_guard lock(mutex_);
  const int64_t now = now_ms();
  int64_t created = now, updated = now;
  if (keep_times) {
    if (c.contains("created") && c["created"].is_number_integer()) created = c["created"].get<int64_t>();
    if (c.contains("updated") && c["updated"].is_number_integer()) updated = c["updated"].get<int64_t>();
  }
  Statement s(db_, "INSERT INTO conversations (id, title, created, updated, settings, messages, search)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!s.ok()) return db_error(db_, "saving");
  const std::string id = new_id();
  s.bind(1, id);
  s.bind(2, c["title"].get<std::string>());
  s.bind(3, created);
  s.bind(4, updated);
  s.bind(5, dump(c["settings"]));
  s.bind(6, dump(c["messages"]));
  s.bind(7, search_text(c));
  if (s.step() != SQLITE_DONE) return db_error(db_, "saving");
  json out = c;
  out["id"] = id;
  out["created"] = created;
  out["updated"] = updated;
  return out;
}

Result<bool> ConversationStore::replace(const std::string& id, const json& c) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE conversations SET title = ?2, updated = ?3, settings = ?4, messages = ?5, search = ?6"
                   " WHERE id = ?1");
  if (!s.ok()) return db_error(db_, "saving");
  s.bind(1, id);
  s.bind(2, c["title"].get<std::string>());
  s.bind(3, now_ms());
  s.bind(4, dump(c["settings"]));
  s.bind(5, dump(c["messages"]));
  s.bind(6, search_text(c));
  if (s.step() != SQLITE_DONE) return db_error(db_, "saving");
  return sqlite3_changes(db_) > 0;
}

Result<bool> ConversationStore::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM conversations WHERE id = ?1");
  if (!s.ok()) return db_error(db_, "deleting");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return db_error(db_, "deleting");
  return sqlite3_changes(db_) > 0;
}

Result<json> ConversationStore::all() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT id, title, created, updated, settings, messages FROM conversations ORDER BY updated DESC");
  if (!s.ok()) return db_error(db_, "exporting");
  json out = json::array();
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(row_whole(s));
  if (rc != SQLITE_DONE) return db_error(db_, "exporting");
  return out;
}

}  // namespace tandem::gateway
