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

// The free slot whose cached tokens share the longest prefix with the prompt; among equals, the
// one used least recently, so that hot prefixes stay cached.
int32_t SequenceBatcher::pick_slot(const std::vector<int32_t>& prompt) const {
  int32_t best = -1;
  size_t best_prefix = 0;
  for (int32_t i = 0; i < n_slots(); ++i) {
    const Slot& s = slots_[static_cast<size_t>(i)];
    if (s.running) continue;
    const size_t prefix = common_prefix(s.cached, prompt);
    if (best < 0 || prefix > best_prefix ||
        (prefix == best_prefix && s.last_used < slots_[static_cast<size_t>(best)].last_used)) {
      best = i;
      best_prefix = prefix;
    }
  }
  return best;
}

void SequenceBatcher::begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) {
  const int32_t seq = pick_slot(request.prompt_tokens);
  TANDEM_CHECK(seq >= 0);
  Slot& slot = slots_[static_cast<size_t>(seq)];
  const auto& prompt = request.prompt_tokens;

  // Reuse cached keys and values: this slot's own, or a longer prefix copied from another slot.
  // The last prompt token is always recomputed, for its logits.
  const size_t limit = prompt.size() - 1;
  size_t reuse = std::min(common_prefix(slot.cached, prompt), limit);
  int32_t donor = -1;
  for (int32_t i = 0; i < n_slots(); ++i) {
    if (i == seq) continue;
    const size_t prefix = std::min(common_prefix(slots_[static_cast<size_t>(i)].cached, prompt), limit);
    if (prefix > reuse + 16) {  // copying pays only for more than a few tokens
      reuse = prefix;
      donor = i;
    }
  }
  if (donor >= 0) {
    kv_.copy_prefix(donor, seq, static_cast<int32_t>(reuse));
  } else {
    kv_.truncate(seq, static_cast<int32_t>(reuse));
  }
  slot.cached.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(reuse));
  slot.last_used = ++clock_;

  slot.running = std::make_unique<Running>(Running{request, std::move(observer),
                                                   Sampler(request.sampling, model_.config().n_vocab),
                                                   StopMatcher(request.sampling.stop), StreamingDetokenizer(tokenizer_),
                                                   prompt, reuse, std::nullopt, GenerationResult{}});
  Running& r = *slot.running;
  r.history.reserve(prompt.size() + static_cast<size_t>(std::max(0, request.max_tokens)));
  r.result.n_prompt_tokens = static_cast<int32_t>(prompt.size());
  r.result.n_reused_tokens = static_cast<int32_t>(reuse);
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
  for (int32_t seq = 0; seq < n_slots() && budget > 0; ++seq) {
    Running* r = slots_[static_cast<size_t>(seq)].running.get();
    if (!r || r->pending) continue;
    const auto& prompt = r->request.prompt_tokens;
    const size_t n = std::min(prompt.size() - r->n_prompt_done, static_cast<size_t>(budget));
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
    int32_t token = 0;
    if (r.request.top_logprobs >= 0) {
      top_scratch_.resize(static_cast<size_t>(kMaxTopLogprobs));
      const auto top = std::span<TokenLogprob>(top_scratch_).first(static_cast<size_t>(r.request.top_logprobs));
      const SampledToken sampled = r.sampler.sample_with_logprobs(logits, r.history, top);
      token = sampled.id;
      r.logprobs.token = TokenAlternative{token, tokenizer_.token_to_piece(token), sampled.logprob};
      r.logprobs.top.clear();
      for (size_t k = 0; k < sampled.n_top; ++k) {
        // Alternatives may be control tokens ("<|im_end|>"): shown by name, not as "".
        std::string text = tokenizer_.token_to_piece(top[k].id, /*render_special=*/true);
        r.logprobs.top.push_back(TokenAlternative{top[k].id, std::move(text), top[k].logprob});
      }
    } else {
      token = r.sampler.sample(logits, r.history);
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

void SequenceBatcher::forget_cache() {
  for (int32_t seq = 0; seq < n_slots(); ++seq) {
    Slot& slot = slots_[static_cast<size_t>(seq)];
    TANDEM_CHECK(!slot.running);
    slot.cached.clear();
    kv_.clear(seq);
  }
}

}  // namespace tandem
