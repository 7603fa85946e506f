// ModelBackend over tandem::Engine: the real model.

#include <fstream>
#include <sstream>

#include "chat/chatml_template.h"
#include "log/log.h"
#include "model/model_config.h"
#include "scheduler/model_backend.h"

namespace tandem::server {
namespace {

// The engine's PromptFormatter is immutable and shared: safe beside step(), and alive after an unload.
class EnginePreparer : public PromptPreparer {
 public:
  EnginePreparer(std::shared_ptr<const PromptFormatter> formatter, bool special_tokens_in_content)
      : formatter_(std::move(formatter)), special_tokens_in_content_(special_tokens_in_content) {}

  std::vector<int32_t> tokenize(std::string_view prompt) const override { return formatter_->tokenize_prompt(prompt); }
  Result<std::vector<int32_t>> tokenize_chat(const std::string& messages_json) const override {
    return formatter_->tokenize_chat(messages_json, /*add_generation_prompt=*/true, special_tokens_in_content_);
  }

 private:
  std::shared_ptr<const PromptFormatter> formatter_;
  bool special_tokens_in_content_;
};

class EngineBackend : public ModelBackend {
 public:
  EngineBackend(std::unique_ptr<Engine> engine, EngineBackendOptions options)
      : engine_(std::move(engine)),
        preparer_(std::make_shared<EnginePreparer>(engine_->prompt_formatter(), options.special_tokens_in_content)) {}

  int32_t n_ctx() const override { return engine_->n_ctx(); }
  int32_t n_vocab() const override { return engine_->config().n_vocab; }
  std::shared_ptr<const PromptPreparer> preparer() const override { return preparer_; }
  bool has_free_slot() const override { return engine_->has_free_slot(); }
  int32_t n_active() const override { return engine_->n_active(); }
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) override {
    return engine_->begin(request, std::move(observer));
  }
  void step() override { engine_->step(); }

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
    return std::unique_ptr<ModelBackend>(std::make_unique<EngineBackend>(std::move(engine).value(), backend));
  };
}

}  // namespace tandem::server
