#include "scheduler/model_backend.h"

#include "log/log.h"

namespace tandem::server {

Status ModelBackend::begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) {
  if (!has_free_slot()) return make_error("the backend is busy");
  pending_request_ = request;
  pending_observer_ = std::move(observer);
  return ok_status();
}

void ModelBackend::step() {
  if (!pending_request_) return;
  GenerationRequest request = std::move(*pending_request_);
  std::shared_ptr<SequenceObserver> observer = std::move(pending_observer_);
  pending_request_.reset();
  running_ = true;
  auto result = generate(request, [&observer](std::string_view piece) {
    return !observer->cancelled() && observer->on_text(piece);
  });
  running_ = false;
  if (!result) {
    log::error("generation failed: " + result.error());
    GenerationResult failed;
    failed.n_prompt_tokens = static_cast<int32_t>(request.prompt_tokens.size());
    failed.finish = FinishReason::kCancelled;
    return observer->on_finish(failed);
  }
  observer->on_finish(*result);
}

}  // namespace tandem::server
