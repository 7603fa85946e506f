#pragma once
// Continuous batching: requests occupy sequence slots of one KV cache, and every step() runs
// one forward pass over all of them: each decoding sequence contributes its newest token and
// sequences still reading their prompt contribute a chunk of it, within a token budget.
// Requests join between steps and leave as soon as they finish or are cancelled.
//
// A slot keeps its tokens' keys and values after its request ends, so a later request that
// starts with the same tokens (a system prompt, the earlier turns of a chat) reuses them; a new
// request may also copy a prefix from another slot. A request whose prompt shares a long prefix
// with one still being read (the n choices of one OpenAI request, a common system prompt) waits
// for that prefix to be computed once and copies it, rather than computing it again beside it.
//
// Not thread-safe: one thread calls begin() and step().

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/result.h"
#include "grammar/grammar_matcher.h"
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
  // KV cache positions held by the running sequences (cells idle slots keep for prefix reuse are
  // not counted: a new request takes them over at once).
  int64_t n_cells_in_use() const;

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
    std::unique_ptr<grammar::GrammarMatcher> grammar;  // when request.sampling.grammar is set
    uint64_t id = 0;         // tells this request from a later one in the same slot
    // Waiting for the prompt prefix [0, wait_until) to be computed by the request `wait_id` in
    // slot wait_slot (-1: not waiting); then it copies that prefix instead of computing it.
    int32_t wait_slot = -1;
    uint64_t wait_id = 0;
    size_t wait_until = 0;
  };
  struct Slot {
    std::vector<int32_t> cached;  // tokens whose keys and values are in this sequence of the cache
    size_t n_prompt = 0;          // the prompt length of the request that last ran here
    uint64_t last_used = 0;
    std::unique_ptr<Running> running;
  };

  int32_t pick_slot(const std::vector<int32_t>& prompt) const;
  // Starts the waiting sequences whose donor has computed the shared prefix (or has gone).
  void resume_waiting();
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
  std::vector<int32_t> prompt_order_;  // scratch: slots reading their prompts, oldest admission first
  std::vector<TokenLogprob> top_scratch_;  // [kMaxTopLogprobs]
  // The vocabulary as a trie for grammars (structured output), built for the first one.
  const std::shared_ptr<const grammar::TokenTrie>& token_trie();
  std::shared_ptr<const grammar::TokenTrie> trie_;
  std::vector<uint64_t> mask_;  // [mask_words(n_vocab)] the allowed tokens, scratch
};

}  // namespace tandem
