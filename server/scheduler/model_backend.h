#pragma once
// What the scheduler needs from a loaded model: the engine behind a small interface, so
// the scheduler's queueing, cancellation and shutdown can be tested without model weights.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "tandem/engine.h"

namespace tandem::server {

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  virtual int32_t n_ctx() const = 0;
  virtual int32_t n_vocab() const = 0;
  virtual std::vector<int32_t> tokenize(std::string_view prompt) const = 0;
  virtual Result<std::string> render_chat(const std::string& messages_json) const = 0;

  // Continuous batching: begin() places a checked request beside the running ones (callers check
  // has_free_slot() first) and step() advances them all by one forward pass.
  virtual bool has_free_slot() const = 0;
  virtual int32_t n_active() const = 0;
  virtual Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) = 0;
  virtual void step() = 0;
};

using BackendLoader = std::function<Result<std::unique_ptr<ModelBackend>>(const std::string& path)>;

// Loads a tandem::Engine with these options (model_path is replaced by the loader's argument).
BackendLoader engine_backend_loader(EngineOptions options);

}  // namespace tandem::server
