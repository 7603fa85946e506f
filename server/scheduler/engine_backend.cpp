// ModelBackend over tandem::Engine: the real model.

#include <fstream>
#include <sstream>

#include "chat/chat_template.h"
#include "chat/chatml_template.h"
#include "log/log.h"
#include "model/model.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"
#include "scheduler/model_backend.h"

namespace tandem::server {
namespace {

// The engine's PromptFormatter is immutable and shared: safe beside step(), and alive after an unload.
class EnginePreparer : public PromptPreparer {
 public:
  EnginePreparer(std::shared_ptr<const PromptFormatter> formatter, bool special_tokens_in_content,
                 std::string chat_template_source)
      : formatter_(std::move(formatter)),
        special_tokens_in_content_(special_tokens_in_content),
        chat_template_source_(std::move(chat_template_source)) {}

  std::vector<int32_t> tokenize(std::string_view prompt) const override { return formatter_->tokenize_prompt(prompt); }
  Result<std::vector<int32_t>> tokenize_chat(const std::string& messages_json, const std::string& template_vars_json,
                                             std::string_view reply_prefix) const override {
    auto tokens = formatter_->tokenize_chat(messages_json, /*add_generation_prompt=*/true, special_tokens_in_content_,
                                            template_vars_json);
    if (!tokens || reply_prefix.empty()) return tokens;
    const std::vector<int32_t> prefix =
        formatter_->tokenizer().encode(reply_prefix, /*add_special=*/false, /*parse_special=*/true);
    tokens->insert(tokens->end(), prefix.begin(), prefix.end());
    return tokens;
  }
  std::string chat_template_source() const override { return chat_template_source_; }

 private:
  std::shared_ptr<const PromptFormatter> formatter_;
  bool special_tokens_in_content_;
  std::string chat_template_source_;
};

// The template the engine renders with: the configured file's, else the model's, else ChatML.
std::string chat_template_source(const Engine& engine, const EngineOptions& options) {
  if (!options.chat_template.empty()) return options.chat_template;
  if (engine.uses_fallback_chat_template()) return options.fallback_chat_template;
  auto source = chat_template_from_gguf(engine.model().file());
  return source ? source->source : "";
}

class EngineBackend : public ModelBackend {
 public:
  EngineBackend(std::unique_ptr<Engine> engine, EngineBackendOptions options, std::string chat_template)
      : engine_(std::move(engine)),
        preparer_(std::make_shared<EnginePreparer>(engine_->prompt_formatter(), options.special_tokens_in_content,
                                                   std::move(chat_template))) {}

  int32_t n_ctx() const override { return engine_->n_ctx(); }
  int32_t n_vocab() const override { return engine_->config().n_vocab; }
  std::shared_ptr<const PromptPreparer> preparer() const override { return preparer_; }
  bool has_free_slot() const override { return engine_->has_free_slot(); }
  int32_t n_active() const override { return engine_->n_active(); }
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) override {
    return engine_->begin(request, std::move(observer));
  }
  void step() override { engine_->step(); }
  std::pair<int64_t, int64_t> kv_cells() const override {
    const Engine::KvCacheUse use = engine_->kv_cache_use();
    return {use.used_cells, use.total_cells};
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<const PromptPreparer> preparer_;
};

}  // namespace

BackendLoader engine_backend_loader(EngineOptions options, EngineBackendOptions backend) {
  return [options, backend](const std::string& path) -> Result<std::unique_ptr<ModelBackend>> {
    EngineOptions o = options;
    o.model_path = path;
    if (!backend.chat_template_file.empty()) {
      std::ifstream in(backend.chat_template_file, std::ios::binary);
      std::ostringstream text;
      if (in) text << in.rdbuf();
      if (!in || text.str().empty()) {
        return make_error("model.chat_template_file " + backend.chat_template_file +
                          " cannot be read or is empty; fix the path or set it to \"\" to use the model's template");
      }
      o.chat_template = text.str();
    }
    o.fallback_chat_template = std::string(kChatmlTemplate);
    auto engine = Engine::load(o);
    if (!engine) return Error{engine.error()};
    if ((*engine)->uses_fallback_chat_template()) {
      log::warn(path + " ships no chat template: chat requests use ChatML, which this model may not have been "
                       "trained on; set model.chat_template_file to the model's own format");
    }
    std::string source = chat_template_source(**engine, o);
    return std::unique_ptr<ModelBackend>(
        std::make_unique<EngineBackend>(std::move(engine).value(), backend, std::move(source)));
  };
}

}  // namespace tandem::server
