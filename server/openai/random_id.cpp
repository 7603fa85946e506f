#include "openai/random_id.h"

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>

namespace tandem::openai {
namespace {

std::mutex g_mutex;
std::mt19937_64 g_rng{std::random_device{}()};

}  // namespace

std::string random_id(std::string_view prefix) {
  uint64_t a = 0, b = 0;
  {
    std::lock_guard lock(g_mutex);
    a = g_rng();
    b = g_rng();
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b & 0xffffffffull));
  return std::string(prefix) + buf;
}

std::string random_alphanumeric(size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id(length, 'a');
  std::lock_guard lock(g_mutex);
  for (char& c : id) c = kAlphabet[g_rng() % kAlphabet.size()];
  return id;
}

}  // namespace tandem::openai
