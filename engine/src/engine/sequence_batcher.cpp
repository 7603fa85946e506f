#include "engine/sequence_batcher.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {
namespace {

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Copying a prefix from another slot (or waiting for one) pays only for more than a few tokens.
constexpr size_t kMinSharedPrefix = 16;

}  // namespace

SequenceBatcher::SequenceBatcher(const Model& model, const Tokenizer& tokenizer, KvCache& kv,
                                 ForwardState& forward_state)
    : model_(model), tokenizer_(tokenizer), kv_(kv), forward_state_(forward_state), slots_(kv.n_seq()) {
  batches_.reserve(slots_.size());
  batch_seqs_.reserve(slots_.size());
}

int32_t SequenceBatcher::n_active() const {
  return static_cast<int32_t>(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.running != nullptr; }));
}

int64_t SequenceBatcher::n_cells_in_use() const {
  int64_t n = 0;
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    if (slots_[static_cast<size_t>(seq)].running) n += kv_.length(seq);
  }
  return n;
}

// The free slot a prompt overwrites. One whose last prompt the new one starts with (the same
// prompt again, the next turn of its chat) is extended, the longest such match first; otherwise
// the one used least recently, however long a head (a system prompt) the others share with it:
// begin() copies that head from any slot, while overwriting the best-matching slot would evict a
// whole cached prompt for it. So up to n_slots distinct prompts stay cached for their next turn.
int32_t SequenceBatcher::pick_slot(const std::vector<int32_t>& prompt) const {
  int32_t best = -1;
  size_t best_prefix = 0;
  int32_t lru = -1;
  for (int32_t i = 0; i < n_slots(); ++i) {
    const Slot& s = slots_[static_cast<size_t>(i)];
    if (s.running) continue;
    if (lru < 0 || s.last_used < slots_[static_cast<size_t>(lru)].last_used) lru = i;
    const size_t prefix = common_prefix(s.cached, prompt);
    const bool extends = prefix > 0 && prefix >= std::min(s.n_prompt, s.cached.size());
    if (extends && prefix > best_prefix) {
      best = i;
      best_prefix = prefix;
    }
  }
  return best >= 0 ? best : lru;
}

void SequenceBatcher::begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) {
  const int32_t seq = pick_slot(request.prompt_tokens);
  TANDEM_CHECK(seq >= 0);
  Slot& slot = slots_[static_cast<size_t>(seq)];
  const auto& prompt = request.prompt_tokens;

  // Reuse cached keys and values: this slot's own, or a longer prefix copied from another slot.
  // The last prompt token is always recomputed, for its logits. A hybrid model's recurrent state
  // is reused whole or not at all (KvCache::restorable_prefix).
  const size_t limit = prompt.size() - 1;
  auto restorable = [&](int32_t from, size_t n) {
    return static_cast<size_t>(kv_.restorable_prefix(from, static_cast<int32_t>(n)));
  };
  size_t reuse = restorable(seq, std::min(common_prefix(slot.cached, prompt), limit));
  int32_t donor = -1;
  for (int32_t i = 0; i < n_slots(); ++i) {
    if (i == seq) continue;
    const size_t prefix = restorable(i, std::min(common_prefix(slots_[static_cast<size_t>(i)].cached, prompt), limit));
    if (prefix > reuse + kMinSharedPrefix) {
      reuse = prefix;
      donor = i;
    }
  }
  // A running request still reading a longer shared prefix: wait for it rather than compute the
  // same keys and values beside it (waiters themselves compute nothing, so they are no donors).
  // Not with a recurrent state: the donor's would be past the shared prefix by then.
  int32_t wait_slot = -1;
  size_t wait_until = 0;
  for (int32_t i = 0; i < n_slots() && !kv_.has_recurrent(); ++i) {
    const Running* other = slots_[static_cast<size_t>(i)].running.get();
    if (i == seq || !other || other->wait_slot >= 0) continue;
    const size_t shared = std::min(common_prefix(other->request.prompt_tokens, prompt), limit);
    if (other->n_prompt_done < shared && shared > reuse + kMinSharedPrefix && shared > wait_until) {
      wait_slot = i;
      wait_until = shared;
    }
  }
  if (donor >= 0) {
    kv_.copy_prefix(donor, seq, static_cast<int32_t>(reuse));
  } else {
    kv_.truncate(seq, static_cast<int32_t>(reuse));
  }
  slot.cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(reuse));
  slot.n_prompt = prompt.size();
  slot.last_used = ++clock_;

  slot.running = std::make_unique<Running>(Running{request, std::move(observer),
                                                   Sampler(request.sampling, model_.config().n_vocab),
                                                   StopMatcher(request.sampling.stop),
                                                   StreamingDetokenizer(tokenizer_, request.visible_control_tokens),
                                                   prompt, reuse, std::nullopt, GenerationResult{}});
  Running& r = *slot.running;
  r.history.reserve(prompt.size() + static_cast<size_t>(std::max(0, request.max_tokens)));
  r.result.n_prompt_tokens = static_cast<int32_t>(prompt.size());
  r.result.n_reused_tokens = static_cast<int32_t>(reuse);
  if (request.sampling.grammar) {
    r.grammar = std::make_unique<grammar::GrammarMatcher>(request.sampling.grammar, token_trie());
  }
  r.id = clock_;
  if (wait_slot >= 0) {
    r.wait_slot = wait_slot;
    r.wait_id = slots_[static_cast<size_t>(wait_slot)].running->id;
    r.wait_until = wait_until;
  }
}

void SequenceBatcher::resume_waiting() {
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    Slot& slot = slots_[static_cast<size_t>(seq)];
    Running* r = slot.running.get();
    if (!r || r->wait_slot < 0) continue;
    const Slot& donor = slots_[static_cast<size_t>(r->wait_slot)];
    if (donor.running && donor.running->id == r->wait_id && donor.running->n_prompt_done < r->wait_until) continue;
    // The donor computed the prefix, or ended (cancelled, even) and left what it had in its slot.
    const auto& prompt = r->request.prompt_tokens;
    size_t prefix = std::min(common_prefix(donor.cached, prompt), prompt.size() - 1);
    // A hybrid model's recurrent state is copied whole or not at all.
    prefix = static_cast<size_t>(kv_.restorable_prefix(r->wait_slot, static_cast<int32_t>(prefix)));
    if (prefix > r->n_prompt_done) {
      kv_.copy_prefix(r->wait_slot, seq, static_cast<int32_t>(prefix));
      slot.cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(prefix));
      r->n_prompt_done = prefix;
      r->result.n_reused_tokens = static_cast<int32_t>(prefix);
    }
    r->wait_slot = -1;
  }
}

void SequenceBatcher::step() {
  // Leavers first: cancelled requests and sequences whose context is full.
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    Running* r = slots_[static_cast<size_t>(seq)].running.get();
    if (!r) continue;
    if (r->observer->cancelled()) {
      finish(seq, FinishReason::kCancelled);
    } else if (r->pending && kv_.length(seq) + 1 > kv_.n_ctx()) {
      finish(seq, FinishReason::kLength);
    }
  }
  resume_waiting();

  // Decoding sequences take one token each; prompts share what is left of the token budget.
  batches_.clear();
  batch_seqs_.clear();
  int32_t budget = forward_state_.max_tokens();
  for (int32_t seq = 0; seq < n_slots() && budget > 0; ++seq) {
    Running* r = slots_[static_cast<size_t>(seq)].running.get();
    if (!r || !r->pending) continue;
    batches_.push_back(SequenceTokens{seq, std::span<const int32_t>(&*r->pending, 1)});
    batch_seqs_.push_back(seq);
    --budget;
  }
  // Only where a chunk fits beside every decoding sequence (else a prompt could wait long).
  const bool align_prompts =
      kv_.has_recurrent() && forward_state_.max_tokens() >= kDeltaNetChunkTokens + n_slots();
  // Prompts take the budget in the order they were admitted, not in slot order: in slot order a
  // long prompt in a high slot waited while newer prompts in lower slots took the budget.
  prompt_order_.clear();
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    const Running* r = slots_[static_cast<size_t>(seq)].running.get();
    if (r && !r->pending && r->wait_slot < 0) prompt_order_.push_back(seq);
  }
  std::sort(prompt_order_.begin(), prompt_order_.end(), [&](int32_t a, int32_t b) {
    return slots_[static_cast<size_t>(a)].running->id < slots_[static_cast<size_t>(b)].running->id;
  });
  for (const int32_t seq : prompt_order_) {
    if (budget <= 0) break;
    Running* r = slots_[static_cast<size_t>(seq)].running.get();
    const auto& prompt = r->request.prompt_tokens;
    size_t n = std::min(prompt.size() - r->n_prompt_done, static_cast<size_t>(budget));
    if (align_prompts && r->n_prompt_done + n < prompt.size()) {
      // A recurrent layer's chunks start at fixed positions (model/layers/deltanet.h): a piece
      // that does not finish the prompt ends at one, so the prompt gives the same bits however
      // the budget splits it. Short of one, wait for a step with more room, unless nothing else
      // runs in this one.
      const size_t end = (r->n_prompt_done + n) / kDeltaNetChunkTokens * kDeltaNetChunkTokens;
      if (end > r->n_prompt_done) {
        n = end - r->n_prompt_done;
      } else if (!batches_.empty()) {
        continue;
      }
    }
    batches_.push_back(SequenceTokens{seq, std::span<const int32_t>(prompt).subspan(r->n_prompt_done, n)});
    batch_seqs_.push_back(seq);
    budget -= static_cast<int32_t>(n);
  }
  if (batches_.empty()) return;

  forward_batch(model_, kv_, batches_, forward_state_, /*all_logits=*/false);

  for (size_t i = 0; i < batches_.size(); ++i) {
    const int32_t seq = batch_seqs_[i];
    Slot& slot = slots_[static_cast<size_t>(seq)];
    Running& r = *slot.running;
    slot.cached.insert(slot.cached.end(), batches_[i].tokens.begin(), batches_[i].tokens.end());
    if (!r.pending) {
      r.n_prompt_done += batches_[i].tokens.size();
      if (r.n_prompt_done < r.request.prompt_tokens.size()) continue;  // more prompt next step
      if (r.request.max_tokens == 0) {
        finish(seq, FinishReason::kLength);
        continue;
      }
    }
    r.pending.reset();
    const auto logits = forward_state_.logits(static_cast<int32_t>(i));
    std::span<const uint64_t> allowed;
    if (r.grammar) {
      mask_.resize(grammar::mask_words(model_.config().n_vocab));
      if (r.grammar->fill_mask(mask_) == 0) {  // no token can spell what must come next
        finish(seq, FinishReason::kStop);
        continue;
      }
      allowed = mask_;
    }
    int32_t token = 0;
    if (r.request.top_logprobs >= 0) {
      top_scratch_.resize(static_cast<size_t>(kMaxTopLogprobs));
      const auto top = std::span<TokenLogprob>(top_scratch_).first(static_cast<size_t>(r.request.top_logprobs));
      const SampledToken sampled = r.sampler.sample_with_logprobs(logits, r.history, top, allowed);
      token = sampled.id;
      r.logprobs.token = TokenAlternative{token, tokenizer_.token_to_piece(token), sampled.logprob};
      r.logprobs.top.clear();
      for (size_t k = 0; k < sampled.n_top; ++k) {
        // Alternatives may be control tokens ("<|im_end|>"): shown by name, not as "".
        std::string text = tokenizer_.token_to_piece(top[k].id, /*render_special=*/true);
        r.logprobs.top.push_back(TokenAlternative{top[k].id, std::move(text), top[k].logprob});
      }
    } else {
      token = r.sampler.sample(logits, r.history, allowed);
    }
    if (accept(seq, token)) r.pending = token;
  }
}

bool SequenceBatcher::accept(int32_t seq, int32_t token) {
  Running& r = *slots_[static_cast<size_t>(seq)].running;
  if (tokenizer_.is_end_of_generation(token)) {
    finish(seq, FinishReason::kStop);
    return false;
  }
  if (r.grammar && !r.grammar->accept_token(token)) {  // only when the mask left nothing sampleable
    finish(seq, FinishReason::kStop);
    return false;
  }
  r.result.tokens.push_back(token);
  r.history.push_back(token);
  if (r.request.top_logprobs >= 0) r.observer->on_token(r.logprobs);
  StopMatcher::Step piece = r.stops.push(r.detokenizer.push(token));
  if (!piece.text.empty()) {
    r.result.text += piece.text;
    if (!r.observer->on_text(piece.text)) {
      finish(seq, FinishReason::kCancelled);
      return false;
    }
  }
  if (piece.stopped) {
    finish(seq, FinishReason::kStop);
    return false;
  }
  if (static_cast<int32_t>(r.result.tokens.size()) >= r.request.max_tokens) {
    finish(seq, FinishReason::kLength);
    return false;
  }
  return true;
}

void SequenceBatcher::finish(int32_t seq, FinishReason reason) {
  Slot& slot = slots_[static_cast<size_t>(seq)];
  std::unique_ptr<Running> r = std::move(slot.running);
  r->result.finish = reason;
  if (reason != FinishReason::kCancelled && !r->stops.stopped()) {
    // Text held back for a possible stop string or an incomplete character is released now.
    std::string tail = r->stops.push(r->detokenizer.flush()).text;
    if (!r->stops.stopped()) tail += r->stops.flush();
    if (!tail.empty()) {
      r->result.text += tail;
      r->observer->on_text(tail);
    }
  }
  slot.last_used = ++clock_;
  r->observer->on_finish(r->result);
}

const std::shared_ptr<const grammar::TokenTrie>& SequenceBatcher::token_trie() {
  if (!trie_) {
    const int32_t n_vocab = tokenizer_.n_vocab();
    std::vector<std::string> texts(static_cast<size_t>(n_vocab));
    std::vector<int32_t> end_tokens;
    for (int32_t id = 0; id < n_vocab; ++id) {
      texts[static_cast<size_t>(id)] = tokenizer_.token_to_piece(id);
      if (tokenizer_.is_end_of_generation(id)) end_tokens.push_back(id);
    }
    trie_ = std::make_shared<const grammar::TokenTrie>(texts, std::move(end_tokens));
  }
  return trie_;
}

void SequenceBatcher::forget_cache() {
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    Slot& slot = slots_[static_cast<size_t>(seq)];
    TANDEM_CHECK(!slot.running);
    slot.cached.clear();
    slot.n_prompt = 0;
    kv_.clear(seq);
  }
}

}  // namespace tandem
