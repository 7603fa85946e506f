// ModelBackend over tandem::Engine: the real model.

#include "model/model_config.h"
#include "scheduler/model_backend.h"

namespace tandem::server {
namespace {

class EngineBackend : public ModelBackend {
 public:
  explicit EngineBackend(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

  int32_t n_ctx() const override { return engine_->n_ctx(); }
  int32_t n_vocab() const override { return engine_->config().n_vocab; }
  std::vector<int32_t> tokenize(std::string_view prompt) const override { return engine_->tokenize_prompt(prompt); }
  Result<std::string> render_chat(const std::string& messages_json) const override {
    return engine_->apply_chat_template(messages_json, /*add_generation_prompt=*/true);
  }
  bool has_free_slot() const override { return engine_->has_free_slot(); }
  int32_t n_active() const override { return engine_->n_active(); }
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) override {
    return engine_->begin(request, std::move(observer));
  }
  void step() override { engine_->step(); }

 private:
  std::unique_ptr<Engine> engine_;
};

}  // namespace

BackendLoader engine_backend_loader(EngineOptions options) {
  return [options](const std::string& path) -> Result<std::unique_ptr<ModelBackend>> {
    EngineOptions o = options;
    o.model_path = path;
    auto engine = Engine::load(o);
    if (!engine) return Error{engine.error()};
    return std::unique_ptr<ModelBackend>(std::make_unique<EngineBackend>(std::move(engine).value()));
  };
}

}  // namespace tandem::server
