#pragma once
// Tandem's engine API: what the frontends (CLI, server, tools) use to run a model.
// An Engine owns one loaded model, its tokenizer and chat template, and a KV cache.
// Not thread-safe: one generate() at a time (the server's scheduler serialises access).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sampling/sampling_params.h"
#include "tandem/prompt_formatter.h"

namespace tandem {

class Tokenizer;
class Model;
struct ModelConfig;

struct EngineOptions {
  std::string model_path;
  int32_t n_ctx = 4096;   // context window in tokens; capped at the model's training context
  int32_t n_batch = 256;  // prompt tokens per forward step
  int32_t n_threads = 0;  // 0 = choose from the machine (used by the parallel kernels)
  std::string chat_template;  // Jinja source replacing the model's tokenizer.chat_template
  // Jinja source used when chat_template is empty and the model ships no template (ChatML in the
  // server); Engine::uses_fallback_chat_template() then says so, for a warning.
  std::string fallback_chat_template;
  int32_t n_seq = 1;      // sequences generated together (continuous batching); each gets n_ctx of KV cache
};

enum class FinishReason { kStop, kLength, kCancelled };
std::string_view finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled"

struct GenerationRequest {
  std::vector<int32_t> prompt_tokens;  // already tokenized (BOS included where the model wants it)
  SamplingParams sampling;
  int32_t max_tokens = 128;  // generated tokens at most; stops earlier at end-of-generation or a stop string
  // -1: no log-probabilities. 0..kMaxTopLogprobs: SequenceObserver::on_token hears each generated
  // token's logprob and this many most likely alternatives (see Sampler::sample_with_logprobs).
  int32_t top_logprobs = -1;
  // Control tokens, by vocabulary text, whose text goes into the generated text (all others give
  // none): a reply format's markers ("[TOOL_CALLS]", "<|python_tag|>") that a parser must see.
  std::vector<std::string> visible_control_tokens;
};

inline constexpr int32_t kMaxTopLogprobs = 20;  // OpenAI's limit

// One generated token's log-probabilities (GenerationRequest::top_logprobs >= 0).
struct TokenAlternative {
  int32_t id = 0;
  std::string text;  // the token's bytes; may be part of a UTF-8 character
  float logprob = 0.0f;
};
struct TokenLogprobs {
  TokenAlternative token;
  std::vector<TokenAlternative> top;  // most likely first
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids (the end-of-generation token excluded)
  std::string text;             // their text, cut before a stop string
  FinishReason finish = FinishReason::kLength;
  int32_t n_prompt_tokens = 0;
  int32_t n_reused_tokens = 0;  // prompt tokens whose KV came from the previous call (prefix reuse)
};

// Called with each piece of text as soon as it is safe to show (complete UTF-8, not part of a
// possible stop string). Returning false cancels the generation.
using TextCallback = std::function<bool(std::string_view piece)>;

// Hears one request's progress in the continuous-batching API (Engine::begin / Engine::step).
// Called on the thread that calls step().
class SequenceObserver {
 public:
  virtual ~SequenceObserver() = default;
  // A piece of text safe to show; returning false cancels the request.
  virtual bool on_text(std::string_view piece) = 0;
  // The request ended (stop, length or cancelled); its slot is free again.
  virtual void on_finish(const GenerationResult& result) = 0;
  // Each generated token (end-of-generation excluded) with its log-probabilities, before the text
  // it completes reaches on_text; only for requests with top_logprobs >= 0.
  virtual void on_token(const TokenLogprobs& token) { (void)token; }
  // Polled before every step: a client that went away frees its sequence within one step.
  virtual bool cancelled() const { return false; }
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> load(const EngineOptions& options);
  ~Engine();

  const Tokenizer& tokenizer() const;
  const ModelConfig& config() const;
  const Model& model() const;
  int32_t n_ctx() const;

  // The tokenizer and chat template, shareable beyond this Engine and usable from any thread.
  std::shared_ptr<const PromptFormatter> prompt_formatter() const;
  // True when the model had no chat template and EngineOptions::fallback_chat_template is in use.
  bool uses_fallback_chat_template() const;
  // Tokenizes text the way a completion prompt is: BOS per the model, special tokens parsed.
  std::vector<int32_t> tokenize_prompt(std::string_view text) const;
  // Renders messages (OpenAI-style JSON array) through the model's chat template.
  // extra_vars_json: a JSON object of further template variables (tools, enable_thinking, ...).
  Result<std::string> apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                          const std::string& extra_vars_json = "{}") const;

  // One request from start to end (the other active sequences, if any, advance with it).
  Result<GenerationResult> generate(const GenerationRequest& request, const TextCallback& on_text = {});

  // Continuous batching: begin() validates a request and places it in a free sequence slot
  // (an error when the request is invalid or no slot is free); step() then advances every
  // active sequence by one forward pass until each has finished.
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer);
  void step();
  int32_t n_active() const;
  bool has_free_slot() const;
  // KV cache positions ("cells") the running sequences hold, and all there are (n_seq * n_ctx).
  struct KvCacheUse {
    int64_t used_cells = 0;
    int64_t total_cells = 0;
  };
  KvCacheUse kv_cache_use() const;
  // Checks a request without starting it (the same checks begin() makes).
  Status validate_request(const GenerationRequest& request) const;

  // Teacher forcing: logits for every position of `tokens` ([n][n_vocab], row i predicts token i+1).
  Result<std::vector<std::vector<float>>> evaluate(const std::vector<int32_t>& tokens);

 private:
  struct State;
  explicit Engine(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tandem
