#pragma once
// Reads the binary fixtures written by scripts/make_quant_fixtures.py.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tandem::test {

inline std::string quant_fixture_path(const std::string& name) {
  return std::string(TANDEM_TEST_DATA) + "/quant/" + name;
}

inline std::vector<uint8_t> read_bytes(const std::string& name) {
  std::ifstream in(quant_fixture_path(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << quant_fixture_path(name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<float> read_floats(const std::string& name) {
  const std::vector<uint8_t> bytes = read_bytes(name);
  std::vector<float> out(bytes.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

}  // namespace tandem::test
