#pragma once
// Continuous batching: requests occupy sequence slots of one KV cache, and every step() runs
// one forward pass over all of them: each decoding sequence contributes its newest token and
// sequences still reading their prompt contribute a chunk of it, within a token budget.
// Requests join between steps and leave as soon as they finish or are cancelled.
//
// A slot keeps its tokens' keys and values after its request ends, so a later request that
// starts with the same tokens (a system prompt, the earlier turns of a chat) reuses them; a new
// request may also copy a prefix from another slot.
//
// Not thread-safe: one thread calls begin() and step().

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/result.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "sampling/stop_matcher.h"
#include "tandem/engine.h"
#include "tokenizer/tokenizer.h"

namespace tandem {

class SequenceBatcher {
 public:
  SequenceBatcher(const Model& model, const Tokenizer& tokenizer, KvCache& kv, ForwardState& forward_state);

  int32_t n_slots() const { return static_cast<int32_t>(slots_.size()); }
  int32_t n_active() const;
  bool has_free_slot() const { return n_active() < n_slots(); }

  // Places a validated request in a free slot (checked: has_free_slot()).
  void begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer);

  // One forward pass over every active sequence; observers hear text and endings from here.
  void step();

  // Drops every slot's cached tokens (before the KV cache is used some other way).
  void forget_cache();

 private:
  struct Running {
    GenerationRequest request;
    std::shared_ptr<SequenceObserver> observer;
    Sampler sampler;
    StopMatcher stops;
    StreamingDetokenizer detokenizer;
    std::vector<int32_t> history;   // prompt + generated, for the penalties
    size_t n_prompt_done = 0;       // prompt tokens whose keys and values are in the cache
    std::optional<int32_t> pending;  // sampled token not yet fed to the model
    GenerationResult result;
    TokenLogprobs logprobs;  // of the token being accepted, when request.top_logprobs >= 0
  };
  struct Slot {
    std::vector<int32_t> cached;  // tokens whose keys and values are in this sequence of the cache
    uint64_t last_used = 0;
    std::unique_ptr<Running> running;
  };

  int32_t pick_slot(const std::vector<int32_t>& prompt) const;
  // Handles the token sampled for a sequence; false when the sequence has finished.
  bool accept(int32_t seq, int32_t token);
  void finish(int32_t seq, FinishReason reason);

  const Model& model_;
  const Tokenizer& tokenizer_;
  KvCache& kv_;
  ForwardState& forward_state_;
  std::vector<Slot> slots_;
  uint64_t clock_ = 0;
  std::vector<SequenceTokens> batches_;   // scratch, reused every step
  std::vector<int32_t> batch_seqs_;
  std::vector<TokenLogprob> top_scratch_;  // [kMaxTopLogprobs]
};

}  // namespace tandem
