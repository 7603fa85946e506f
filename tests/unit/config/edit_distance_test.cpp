#include "config/edit_distance.h"

#include <gtest/gtest.h>

namespace tandem::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(EditDistance, SuggestsOnlyCloseCandidates) {
  const std::vector<std::string> known = {"network.port", "network.bind_address", "model.path"};
  EXPECT_EQ(closest_match("network.prot", known), "network.port");
  EXPECT_EQ(closest_match("netwrk.port", known), "network.port");
  EXPECT_EQ(closest_match("model.pth", known), "model.path");
  EXPECT_EQ(closest_match("completely.different", known), "");
}

}  // namespace
}  // namespace tandem::config
