#pragma once
// Gathers an importance matrix (quantize/imatrix_file.h) by running a model over a text: for
// every weight matrix, the sum over tokens of each input column's squared activation. Chunks are
// planned like llama-imatrix's: n_ctx tokens each, BOS first, every position counted.

#include <cstdint>
#include <functional>
#include <string>

#include "core/result.h"
#include "quantize/imatrix_file.h"

namespace tandem {
class Model;
class Tokenizer;
}  // namespace tandem

namespace tandem::eval {

struct ImatrixOptions {
  int32_t n_ctx = 512;
  int32_t max_chunks = -1;   // < 0: every whole chunk of the text
  int32_t n_threads = 0;     // 0 = one per hardware thread
  bool include_output = false;  // also the output projection (llama-imatrix --process-output)
  std::string dataset;       // recorded in imatrix.datasets (usually the text's file name)
};

struct ImatrixRun {
  quantize::Imatrix imatrix;
  double ppl = 0.0;  // perplexity over each chunk's second half, a sanity check of the run
  int32_t n_chunks = 0;
  int64_t n_tokens = 0;  // tokens evaluated
};

// on_chunk(done, total, ppl so far).
Result<ImatrixRun> collect_imatrix(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                   const ImatrixOptions& options,
                                   const std::function<void(int32_t, int32_t, double)>& on_chunk = {});

}  // namespace tandem::eval
