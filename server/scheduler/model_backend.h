#pragma once
// What the scheduler needs from a loaded model: the engine behind a small interface, so
// the scheduler's queueing, cancellation and shutdown can be tested without model weights.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "tandem/engine.h"

namespace tandem::server {

// Turns a request's text into prompt tokens with the loaded model's tokenizer and chat template.
// Thread contract: immutable, so it may be called from any thread while the model steps; shared,
// so a request being prepared keeps it alive through an unload (it holds no weights).
class PromptPreparer {
 public:
  virtual ~PromptPreparer() = default;
  // A completion prompt: BOS per the model, special tokens parsed (the client wrote all of it).
  virtual std::vector<int32_t> tokenize(std::string_view prompt) const = 0;
  // Messages (a validated OpenAI array) through the chat template with further variables (a JSON
  // object), then reply_prefix (the server's own text: its markup may be control tokens); fails
  // when the template does.
  virtual Result<std::vector<int32_t>> tokenize_chat(const std::string& messages_json,
                                                     const std::string& template_vars_json,
                                                     std::string_view reply_prefix) const = 0;
  // The chat template's Jinja source ("" when the model has none that works).
  virtual std::string chat_template_source() const { return ""; }
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  virtual int32_t n_ctx() const = 0;
  virtual int32_t n_vocab() const = 0;
  virtual std::shared_ptr<const PromptPreparer> preparer() const = 0;

  // Continuous batching: begin() places a checked request beside the running ones (callers check
  // has_free_slot() first) and step() advances them all by one forward pass. These belong to the
  // scheduler's thread alone.
  virtual bool has_free_slot() const = 0;
  virtual int32_t n_active() const = 0;
  virtual Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) = 0;
  virtual void step() = 0;
  // KV cache positions the running sequences hold, and all there are (0, 0: not known).
  virtual std::pair<int64_t, int64_t> kv_cells() const { return {0, 0}; }
};

using BackendLoader = std::function<Result<std::unique_ptr<ModelBackend>>(const std::string& path)>;

struct EngineBackendOptions {
  // true: special-token text inside chat messages ("<|im_end|>") becomes control tokens, as the
  // template's own markup does; false: it stays plain text, so a user cannot forge chat turns.
  bool special_tokens_in_content = false;
  // Absolute path of a Jinja chat template replacing the model's own, read at every load; empty =
  // the model's, or ChatML with a warning for a model that ships none.
  std::string chat_template_file;
};

// Loads a tandem::Engine with these options (model_path is replaced by the loader's argument).
BackendLoader engine_backend_loader(EngineOptions options, EngineBackendOptions backend = {});

}  // namespace tandem::server
