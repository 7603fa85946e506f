#include "tandem/engine.h"

#include <algorithm>

#include "chat/chat_template.h"
#include "engine/sequence_batcher.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tandem {

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "?";
}

struct Engine::State {
  EngineOptions options;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  ChatTemplateSource template_source;
  std::string template_error;  // why chat_template is empty
  bool fallback_template = false;  // the model had none: EngineOptions::fallback_chat_template
  std::shared_ptr<const PromptFormatter> formatter;  // tokenizer and chat_template, shareable
  std::unique_ptr<KvCache> kv;
  std::unique_ptr<ForwardState> forward_state;
  std::unique_ptr<SequenceBatcher> batcher;
};

Engine::Engine(std::unique_ptr<State> state) : state_(std::move(state)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::load(const EngineOptions& options) {
  auto state = std::make_unique<State>();
  state->options = options;
  auto model = Model::load(options.model_path);
  if (!model) return Error{model.error()};
  state->model = std::move(model).value();
  auto tokenizer = Tokenizer::from_gguf(state->model->file());
  if (!tokenizer) return make_error(options.model_path + ": " + tokenizer.error());
  state->tokenizer = std::make_unique<Tokenizer>(std::move(tokenizer).value());
  const ModelConfig& c = state->model->config();
  if (state->tokenizer->n_vocab() != c.n_vocab) {
    return make_error(options.model_path + ": vocabulary has " + std::to_string(state->tokenizer->n_vocab()) +
                      " tokens but the model expects " + std::to_string(c.n_vocab));
  }
  // A model without a usable template still loads: completions work, chat reports why not.
  auto source = chat_template_from_gguf(state->model->file());
  if (source) state->template_source = std::move(source).value();
  if (!options.chat_template.empty()) state->template_source.source = options.chat_template;
  if (state->template_source.source.empty() && !options.fallback_chat_template.empty()) {
    state->template_source.source = options.fallback_chat_template;
    state->fallback_template = true;
  }
  if (state->template_source.source.empty()) {
    state->template_error = source ? "the chat template is empty" : source.error();
  } else if (auto parsed = ChatTemplate::parse(state->template_source.source)) {
    state->chat_template = std::move(parsed).value();
  } else {
    state->template_error = parsed.error();
  }
  state->formatter = std::make_shared<const PromptFormatter>(
      std::make_shared<const Tokenizer>(*state->tokenizer),
      state->chat_template ? std::make_shared<const ChatTemplate>(*state->chat_template) : nullptr,
      state->template_source.bos_token, state->template_source.eos_token, state->template_error);
  if (options.n_ctx <= 0 || options.n_batch <= 0 || options.n_seq <= 0) {
    return make_error("n_ctx, n_batch and n_seq must be positive");
  }
  const int32_t n_ctx = std::min(options.n_ctx, c.n_ctx_train);
  state->options.n_ctx = n_ctx;
  state->kv = std::make_unique<KvCache>(c.n_layer, n_ctx, c.kv_dim(), options.n_seq, recurrent_shape(c));
  // A step carries one token per decoding sequence plus prompt chunks: at least n_seq tokens.
  const int32_t max_tokens = std::max(std::min(options.n_batch, n_ctx), options.n_seq);
  state->forward_state = std::make_unique<ForwardState>(c, max_tokens, n_ctx, options.n_threads);
  state->batcher = std::make_unique<SequenceBatcher>(*state->model, *state->tokenizer, *state->kv,
                                                     *state->forward_state);
  return std::unique_ptr<Engine>(new Engine(std::move(state)));
}

const Tokenizer& Engine::tokenizer() const { return *state_->tokenizer; }
const ModelConfig& Engine::config() const { return state_->model->config(); }
const Model& Engine::model() const { return *state_->model; }
int32_t Engine::n_ctx() const { return state_->options.n_ctx; }

std::shared_ptr<const PromptFormatter> Engine::prompt_formatter() const { return state_->formatter; }

bool Engine::uses_fallback_chat_template() const { return state_->fallback_template; }

std::vector<int32_t> Engine::tokenize_prompt(std::string_view text) const {
  return state_->formatter->tokenize_prompt(text);
}

Result<std::string> Engine::apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                                const std::string& extra_vars_json) const {
  return state_->formatter->apply_chat_template(messages_json, add_generation_prompt, extra_vars_json);
}

namespace {

Status check_tokens(const std::vector<int32_t>& tokens, int32_t n_vocab, int32_t n_ctx) {
  if (tokens.empty()) return make_error("the prompt is empty");
  if (static_cast<int64_t>(tokens.size()) >= n_ctx) {
    return make_error("the prompt has " + std::to_string(tokens.size()) + " tokens, which does not fit the context of " +
                      std::to_string(n_ctx) + " tokens");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) return make_error("token id " + std::to_string(t) + " is outside the vocabulary");
  }
  return ok_status();
}

// Collects one request's text and result for generate().
class CallbackObserver : public SequenceObserver {
 public:
  explicit CallbackObserver(const TextCallback& on_text) : on_text_(on_text) {}
  bool on_text(std::string_view piece) override { return on_text_ ? on_text_(piece) : true; }
  void on_finish(const GenerationResult& result) override { result_ = result; }
  const std::optional<GenerationResult>& result() const { return result_; }

 private:
  const TextCallback& on_text_;
  std::optional<GenerationResult> result_;
};

}  // namespace

Status Engine::validate_request(const GenerationRequest& request) const {
  const ModelConfig& c = state_->model->config();
  if (auto ok = check_tokens(request.prompt_tokens, c.n_vocab, n_ctx()); !ok) return ok;
  if (auto ok = validate(request.sampling); !ok) return ok;
  if (auto ok = validate_logit_bias(request.sampling, c.n_vocab); !ok) return ok;
  if (request.max_tokens < 0) return make_error("max_tokens must not be negative");
  if (request.top_logprobs > kMaxTopLogprobs) {
    return make_error("top_logprobs must be at most " + std::to_string(kMaxTopLogprobs));
  }
  return ok_status();
}

Status Engine::begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) {
  if (auto ok = validate_request(request); !ok) return ok;
  if (!state_->batcher->has_free_slot()) {
    return make_error("all " + std::to_string(state_->batcher->n_slots()) + " sequence slots are busy");
  }
  state_->batcher->begin(request, std::move(observer));
  return ok_status();
}

void Engine::step() { state_->batcher->step(); }
int32_t Engine::n_active() const { return state_->batcher->n_active(); }
bool Engine::has_free_slot() const { return state_->batcher->has_free_slot(); }
Engine::KvCacheUse Engine::kv_cache_use() const {
  return {state_->batcher->n_cells_in_use(), static_cast<int64_t>(state_->kv->n_seq()) * state_->kv->n_ctx()};
}

Result<GenerationResult> Engine::generate(const GenerationRequest& request, const TextCallback& on_text) {
  auto observer = std::make_shared<CallbackObserver>(on_text);
  if (auto ok = begin(request, observer); !ok) return Error{ok.error()};
  while (!observer->result()) step();
  return *observer->result();
}

Result<std::vector<std::vector<float>>> Engine::evaluate(const std::vector<int32_t>& tokens) {
  State& st = *state_;
  if (auto ok = check_tokens(tokens, st.model->config().n_vocab, n_ctx() + 1); !ok) return Error{ok.error()};
  if (st.batcher->n_active() > 0) return make_error("evaluate() needs an idle engine");
  st.batcher->forget_cache();
  std::vector<std::vector<float>> rows;
  rows.reserve(tokens.size());
  ForwardState& fs = *st.forward_state;
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(fs.max_tokens()));
    forward(*st.model, *st.kv, 0, std::span(tokens).subspan(done, n), fs, /*all_logits=*/true);
    for (size_t r = 0; r < n; ++r) {
      auto logits = fs.logits(static_cast<int32_t>(r));
      rows.emplace_back(logits.begin(), logits.end());
    }
    done += n;
  }
  st.batcher->forget_cache();
  return rows;
}

}  // namespace tandem
