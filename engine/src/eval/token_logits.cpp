#include "eval/token_logits.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/model.h"

namespace tandem::eval {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<int32_t>> parse_token_ids(std::string_view text) {
  std::vector<int32_t> ids;
  if (trim(text).empty()) return make_error("--ids is empty: give token ids separated by commas, e.g. --ids 1,2,3");
  size_t start = 0;
  for (int32_t index = 0;; ++index) {
    const size_t comma = text.find(',', start);
    const std::string item(trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                     : comma - start)));
    char* end = nullptr;
    errno = 0;
    const long long v = item.empty() ? 0 : std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || end != item.c_str() + item.size() || errno == ERANGE || v < 0 || v > INT32_MAX) {
      return make_error("--ids item " + std::to_string(index) + " (\"" + item +
                        "\") is not a token id: give non-negative integers separated by commas, e.g. --ids 1,2,3");
    }
    ids.push_back(static_cast<int32_t>(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ids;
}

Status check_token_ids(std::span<const int32_t> ids, int32_t n_vocab, int32_t n_ctx_max) {
  if (ids.empty()) return make_error("--ids is empty: give at least one token id");
  if (static_cast<int64_t>(ids.size()) > n_ctx_max) {
    return make_error("--ids has " + std::to_string(ids.size()) + " tokens but the model's context is " +
                      std::to_string(n_ctx_max) + " tokens: give fewer ids");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= n_vocab) {
      return make_error("--ids item " + std::to_string(i) + " is token id " + std::to_string(ids[i]) +
                        ", outside the model's vocabulary of " + std::to_string(n_vocab) + " tokens (ids 0 to " +
                        std::to_string(n_vocab - 1) + ")");
    }
  }
  return ok_status();
}

std::vector<TopLogit> top_logits(std::span<const float> logits, int32_t k) {
  const size_t n = std::min(logits.size(), static_cast<size_t>(std::max(k, 0)));
  std::vector<TopLogit> all(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) all[i] = {static_cast<int32_t>(i), logits[i]};
  const auto before = [](const TopLogit& a, const TopLogit& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
  };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), before);
  all.resize(n);
  return all;
}

Result<std::vector<std::vector<float>>> token_logits(const Model& model, std::span<const int32_t> ids,
                                                     int32_t n_threads) {
  const ModelConfig& c = model.config();
  if (auto ok = check_token_ids(ids, c.n_vocab, c.n_ctx_train); !ok) return Error{ok.error()};
  const auto n = static_cast<int32_t>(ids.size());
  // Sized for exactly this prompt so that it runs as one pass, as a prompt does in llama.cpp.
  KvCache kv(c.n_layer, n, c.kv_dim(), /*n_seq=*/1, recurrent_shape(c));
  ForwardState state(c, /*max_tokens=*/n, /*n_ctx=*/n, n_threads);
  forward(model, kv, /*seq=*/0, ids, state, /*all_logits=*/true);
  std::vector<std::vector<float>> rows;
  rows.reserve(ids.size());
  for (int32_t r = 0; r < n; ++r) {
    const auto row = state.logits(r);
    rows.emplace_back(row.begin(), row.end());
  }
  return rows;
}

std::string top_logits_json(std::span<const int32_t> ids, int32_t n_vocab,
                            const std::vector<std::vector<TopLogit>>& positions) {
  nlohmann::json out;
  out["n_vocab"] = n_vocab;
  out["ids"] = std::vector<int32_t>(ids.begin(), ids.end());
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& top : positions) {
    nlohmann::json pairs = nlohmann::json::array();
    // A float widened to double prints its exact value (shortest round trip of the double).
    for (const auto& t : top) pairs.push_back({t.id, static_cast<double>(t.logit)});
    nlohmann::json row;
    row["argmax"] = top.empty() ? -1 : top.front().id;
    row["top"] = std::move(pairs);
    rows.push_back(std::move(row));
  }
  out["positions"] = std::move(rows);
  return out.dump();
}

}  // namespace tandem::eval
