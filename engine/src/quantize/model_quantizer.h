#pragma once
// Quantizes a whole GGUF model following a QuantPlan, streaming: tensors are read from the
// memory-mapped input a slab of rows at a time, converted by a team of threads and appended to the
// output, so memory stays bounded whatever the model's size. Metadata is copied, with
// general.file_type and general.quantization_version set as llama.cpp sets them.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "gguf/gguf_reader.h"
#include "quantize/imatrix_file.h"
#include "quantize/quant_plan.h"

namespace tandem::quantize {

struct QuantizeOptions {
  std::string output_path;
  const Imatrix* imatrix = nullptr;  // importance for the weighted quantizers, or null
  int32_t n_threads = 0;             // 0 = one per hardware thread
};

struct QuantizeProgress {
  uint64_t done_bytes = 0;   // input bytes processed so far
  uint64_t total_bytes = 0;  // input bytes of all tensors
  size_t tensor_index = 0;   // the tensor being processed (0-based)
  size_t n_tensors = 0;
  std::string_view tensor_name;
};
// Called from the calling thread, at least once per tensor and once per slab of a large one.
using ProgressFn = std::function<void(const QuantizeProgress&)>;

struct QuantizeReport {
  uint64_t input_bytes = 0;   // file sizes
  uint64_t output_bytes = 0;
  int32_t n_converted = 0;        // tensors whose type changed
  int32_t n_with_importance = 0;  // of those, quantized with imatrix weights
  std::vector<std::string> notes;  // e.g. matrices the imatrix does not cover
  double seconds = 0.0;
};

// Writes `plan` applied to `input` to options.output_path. Refuses (with a message naming the
// problem) an output path that is the input, and an imatrix whose entry does not match a
// tensor's width or that covers none of the model's matrices.
Result<QuantizeReport> quantize_model(const gguf::GgufFile& input, const std::string& input_path,
                                      const QuantPlan& plan, const QuantizeOptions& options,
                                      const ProgressFn& progress = {});

}  // namespace tandem::quantize
