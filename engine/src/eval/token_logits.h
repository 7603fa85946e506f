#pragma once
// The logits of explicit token ids (`tandem eval logits`): one prompt pass over a fresh sequence,
// every position's row kept. Only the weights are loaded, never a tokenizer, so it runs the
// random-weight test models of llama.cpp's generator (tests/test-llama-archs.cpp), whose
// vocabulary is a stub, and it is the tool for comparing a port with llama.cpp position by
// position (tests/data/arch/ holds llama.cpp's answers in the same JSON shape).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tandem {
class Model;
}

namespace tandem::eval {

struct TopLogit {
  int32_t id = 0;
  float logit = 0.0f;
};

// "1,2,3" (spaces around the commas allowed) -> ids. Errors name --ids and the offending item.
Result<std::vector<int32_t>> parse_token_ids(std::string_view text);

// Checks ids against the model: not empty, each in [0, n_vocab), no more than n_ctx_max.
Status check_token_ids(std::span<const int32_t> ids, int32_t n_vocab, int32_t n_ctx_max);

// The k largest logits, largest first; equal logits in ascending id order, so that two tools
// that agree on the values agree on the list. k is clamped to the row's length.
std::vector<TopLogit> top_logits(std::span<const float> logits, int32_t k);

// Runs ids (checked as above against the model's n_vocab and training context) from position 0
// in one forward pass. Returns ids.size() rows of n_vocab floats; row i scores the token after
// ids[i]. n_threads: 0 = one per hardware thread.
Result<std::vector<std::vector<float>>> token_logits(const Model& model, std::span<const int32_t> ids,
                                                     int32_t n_threads);

// {"n_vocab": V, "ids": [...], "positions": [{"argmax": id, "top": [[id, logit], ...]}, ...]}
// Logits are written as the exact value of each float, so a reader loses nothing.
std::string top_logits_json(std::span<const int32_t> ids, int32_t n_vocab,
                            const std::vector<std::vector<TopLogit>>& positions);

}  // namespace tandem::eval
