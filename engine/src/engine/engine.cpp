#include "tandem/engine.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/model.h"
#include "sampling/sampler.h"
#include "sampling/stop_matcher.h"
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
  std::unique_ptr<KvCache> kv;
  std::unique_ptr<ForwardState> forward_state;
  std::vector<int32_t> cached_tokens;  // tokens whose keys and values are in sequence 0
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
  if (state->template_source.source.empty()) {
    state->template_error = source ? "the chat template is empty" : source.error();
  } else if (auto parsed = ChatTemplate::parse(state->template_source.source)) {
    state->chat_template = std::move(parsed).value();
  } else {
    state->template_error = parsed.error();
  }
  if (options.n_ctx <= 0 || options.n_batch <= 0) return make_error("n_ctx and n_batch must be positive");
  const int32_t n_ctx = std::min(options.n_ctx, c.n_ctx_train);
  state->options.n_ctx = n_ctx;
  state->kv = std::make_unique<KvCache>(c.n_layer, n_ctx, c.kv_dim(), 1);
  state->forward_state = std::make_unique<ForwardState>(c, std::min(options.n_batch, n_ctx), n_ctx, options.n_threads);
  return std::unique_ptr<Engine>(new Engine(std::move(state)));
}

const Tokenizer& Engine::tokenizer() const { return *state_->tokenizer; }
const ModelConfig& Engine::config() const { return state_->model->config(); }
const Model& Engine::model() const { return *state_->model; }
int32_t Engine::n_ctx() const { return state_->options.n_ctx; }

std::vector<int32_t> Engine::tokenize_prompt(std::string_view text) const {
  std::vector<int32_t> tokens = state_->tokenizer->encode(text, /*add_special=*/true, /*parse_special=*/true);
  // A chat template that writes the BOS text itself, on a model that also adds BOS, would give two.
  const int32_t bos = state_->tokenizer->bos_id();
  if (tokens.size() >= 2 && bos >= 0 && tokens[0] == bos && tokens[1] == bos) tokens.erase(tokens.begin());
  return tokens;
}

Result<std::string> Engine::apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                                const std::string& extra_vars_json) const {
  if (!state_->chat_template) return make_error(state_->template_error);
  // Ordered JSON keeps the client's key order, which templates print with |tojson.
  auto messages = nlohmann::ordered_json::parse(messages_json, nullptr, /*allow_exceptions=*/false);
  if (!messages.is_array()) return make_error("messages must be a JSON array");
  auto context = nlohmann::ordered_json::parse(extra_vars_json, nullptr, /*allow_exceptions=*/false);
  if (!context.is_object()) return make_error("template variables must be a JSON object");
  context["messages"] = std::move(messages);
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = state_->template_source.bos_token;
  context["eos_token"] = state_->template_source.eos_token;
  return state_->chat_template->render(context);
}

namespace {

// Feeds tokens through the model in chunks of at most the state's batch size.
void prefill(const Model& model, KvCache& kv, ForwardState& fs, std::span<const int32_t> tokens, bool all_logits,
             std::vector<std::vector<float>>* rows) {
  size_t done = 0;
  while (done < tokens.size()) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(fs.max_tokens()));
    forward(model, kv, 0, tokens.subspan(done, n), fs, all_logits);
    if (rows) {
      for (size_t r = 0; r < n; ++r) {
        auto logits = fs.logits(static_cast<int32_t>(r));
        rows->emplace_back(logits.begin(), logits.end());
      }
    }
    done += n;
  }
}

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

}  // namespace

Result<GenerationResult> Engine::generate(const GenerationRequest& request, const TextCallback& on_text) {
  State& st = *state_;
  const ModelConfig& c = st.model->config();
  if (auto ok = check_tokens(request.prompt_tokens, c.n_vocab, n_ctx()); !ok) return Error{ok.error()};
  if (auto ok = validate(request.sampling); !ok) return Error{ok.error()};
  if (auto ok = validate_logit_bias(request.sampling, c.n_vocab); !ok) return Error{ok.error()};
  if (request.max_tokens < 0) return make_error("max_tokens must not be negative");

  GenerationResult result;
  result.n_prompt_tokens = static_cast<int32_t>(request.prompt_tokens.size());

  // Prefix reuse: keep the cached keys/values of the longest common prefix, but recompute at
  // least the last prompt token so that its logits are fresh.
  const auto& prompt = request.prompt_tokens;
  size_t common = 0;
  while (common < st.cached_tokens.size() && common < prompt.size() && st.cached_tokens[common] == prompt[common]) {
    ++common;
  }
  common = std::min(common, prompt.size() - 1);
  st.kv->truncate(0, static_cast<int32_t>(common));
  st.cached_tokens.resize(common);
  result.n_reused_tokens = static_cast<int32_t>(common);
  prefill(*st.model, *st.kv, *st.forward_state, std::span(prompt).subspan(common), false, nullptr);
  st.cached_tokens.insert(st.cached_tokens.end(), prompt.begin() + static_cast<std::ptrdiff_t>(common), prompt.end());

  Sampler sampler(request.sampling, c.n_vocab);
  StopMatcher stops(request.sampling.stop);
  StreamingDetokenizer detok(*st.tokenizer);
  std::vector<int32_t> history = prompt;
  history.reserve(prompt.size() + static_cast<size_t>(request.max_tokens));
  auto emit = [&](const std::string& piece) {
    if (piece.empty()) return true;
    result.text += piece;
    return on_text ? on_text(piece) : true;
  };

  result.finish = FinishReason::kLength;
  bool finished = false;
  while (!finished && static_cast<int32_t>(result.tokens.size()) < request.max_tokens) {
    const int32_t token = sampler.sample(st.forward_state->logits(0), history);
    if (st.tokenizer->is_end_of_generation(token)) {
      result.finish = FinishReason::kStop;
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    StopMatcher::Step step = stops.push(detok.push(token));
    if (!emit(step.text)) {
      result.finish = FinishReason::kCancelled;
      finished = true;
    } else if (step.stopped) {
      result.finish = FinishReason::kStop;
      finished = true;
    }
    if (!finished && static_cast<int32_t>(result.tokens.size()) < request.max_tokens) {
      if (st.kv->length(0) + 1 >= n_ctx()) break;  // context full: ends as "length"
      const int32_t one[1] = {token};
      forward(*st.model, *st.kv, 0, std::span<const int32_t>(one, 1), *st.forward_state, false);
      st.cached_tokens.push_back(token);
    }
  }
  if (result.finish != FinishReason::kCancelled && !stops.stopped()) {
    emit(stops.push(detok.flush()).text);
    emit(stops.flush());
  }
  return result;
}

Result<std::vector<std::vector<float>>> Engine::evaluate(const std::vector<int32_t>& tokens) {
  State& st = *state_;
  if (auto ok = check_tokens(tokens, st.model->config().n_vocab, n_ctx() + 1); !ok) return Error{ok.error()};
  st.kv->clear(0);
  st.cached_tokens.clear();
  std::vector<std::vector<float>> rows;
  rows.reserve(tokens.size());
  prefill(*st.model, *st.kv, *st.forward_state, tokens, true, &rows);
  st.cached_tokens = tokens;
  return rows;
}

}  // namespace tandem
