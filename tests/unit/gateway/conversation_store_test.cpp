#include <gtest/gtest.h>

#include <filesystem>

#include "gateway/history/conversation.h"
#include "gateway/history/conversation_store.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;

json valid(const json& body) {
  auto c = validated_conversation(body);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
  return c.ok() ? *c : json();
}

TEST(Conversation, FillsDefaultsAndKeepsOnlyKnownFields) {
  const json c = valid({{"messages", {{{"role", "user"}, {"content", "hi"}, {"extra", 1}}}}});
  EXPECT_EQ(c["title"], "New chat");
  EXPECT_EQ(c["settings"], json::object());
  EXPECT_EQ(c["messages"], json::parse(R"([{"role": "user", "content": "hi"}])"));
}

TEST(Conversation, RefusesBadInputNamingTheField) {
  struct Case {
    json body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {json::array(), "body"},
      {{{"title", 5}}, "title"},
      {{{"title", std::string(201, 'x')}}, "title"},
      {{{"messages", "hi"}}, "messages"},
      {{{"messages", {{{"role", "robot"}, {"content", "x"}}}}}, "messages[0].role"},
      {{{"messages", {{{"role", "user"}}}}}, "messages[0].content"},
      {{{"messages", {{{"role", "user"}, {"content", "x"}, {"meta", {{"a", json::array()}}}}}}}, "messages[0].meta.a"},
      {{{"settings", {{"temperature", 3}}}}, "settings.temperature"},
      {{{"settings", {{"top_p", "high"}}}}, "settings.top_p"},
      {{{"settings", {{"max_tokens", 0}}}}, "settings.max_tokens"},
      {{{"settings", {{"colour", "red"}}}}, "settings.colour"},
  };
  for (const auto& c : cases) {
    auto r = validated_conversation(c.body);
    ASSERT_FALSE(r.ok()) << c.body.dump();
    EXPECT_EQ(r.error().rfind(c.field, 0), 0u) << r.error();
  }
  ConversationLimits small;
  small.max_messages = 1;
  auto r = validated_conversation({{"messages", {{{"role", "user"}, {"content", "a"}}, {{"role", "user"}, {"content", "b"}}}}},
                                  "conversations[3]", small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("conversations[3].messages"), std::string::npos) << r.error();
}

TEST(Conversation, Ids) {
  EXPECT_TRUE(valid_conversation_id("0123abcd_-X"));
  EXPECT_FALSE(valid_conversation_id(""));
  EXPECT_FALSE(valid_conversation_id("../etc"));
  EXPECT_FALSE(valid_conversation_id("a b"));
  EXPECT_FALSE(valid_conversation_id(std::string(65, 'a')));
}

TEST(ConversationStore, CreateGetReplaceListDelete) {
  auto store = ConversationStore::open("");
  ASSERT_TRUE(store.ok()) << store.error();
  auto& s = **store;
  auto a = s.create(valid({{"title", "Cooking"}, {"messages", {{{"role", "user"}, {"content", "Pasta al 50% dente"}}}}}));
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = s.create(valid({{"title", "Travel"}, {"settings", {{"temperature", 0.5}}}}));
  ASSERT_TRUE(b.ok());
  const std::string id = (*a)["id"];
  EXPECT_TRUE(valid_conversation_id(id));
  EXPECT_NE(id, (*b)["id"].get<std::string>());

  auto got = s.get(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got)["messages"][0]["content"], "Pasta al 50% dente");
  EXPECT_EQ((**got)["title"], "Cooking");

  // Search: message text, case-insensitively; LIKE's wildcards are literal.
  auto hits = s.list("PASTA");
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0]["id"], id);
  EXPECT_EQ((*hits)[0]["messages"], 1);
  EXPECT_EQ(s.list("50%")->size(), 1u);
  EXPECT_EQ(s.list("5_%")->size(), 0u);
  EXPECT_EQ(s.list("")->size(), 2u);

  // Replacing moves it to the top of the list (newest first).
  ASSERT_TRUE(s.replace(id, valid({{"title", "Cooking, renamed"}})).value());
  auto all = s.list();
  EXPECT_EQ((*all)[0]["id"], id);
  EXPECT_EQ((*all)[0]["title"], "Cooking, renamed");
  EXPECT_FALSE(s.replace("nope", valid(json::object())).value());

  EXPECT_TRUE(s.remove(id).value());
  EXPECT_FALSE(s.remove(id).value());
  EXPECT_FALSE(s.get(id)->has_value());
  EXPECT_EQ(s.all()->size(), 1u);
}

TEST(ConversationStore, PersistsInItsFileAndNamesABadPath) {
  const auto dir = std::filesystem::temp_directory_path() / ("tandem-history-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "h.sqlite").string();
  std::string id;
  {
    auto store = ConversationStore::open(path);
    ASSERT_TRUE(store.ok()) << store.error();
    auto created = (*store)->create(valid({{"title", "kept"}}));
    ASSERT_TRUE(created.ok());
    id = (*created)["id"];
  }
  {
    auto store = ConversationStore::open(path);
    ASSERT_TRUE(store.ok());
    auto got = (*store)->get(id);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((**got)["title"], "kept");
  }
  auto bad = ConversationStore::open((dir / "missing-folder" / "h.sqlite").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("history.path"), std::string::npos) << bad.error();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::gateway
