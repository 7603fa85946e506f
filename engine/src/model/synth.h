#pragma once
// Synthetic models: GGUF files with a real model's shapes and a real vocabulary but random
// weights, so that speed can be measured (and compared with llama.cpp on the same file) for
// models that cannot be downloaded here. The weights are scaled like a trained model's
// (N(0, 0.02)), which keeps activations finite; the text they produce is noise.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace tandem {

struct SynthShape {
  std::string name;        // preset name
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t n_ff = 0;
  int32_t n_ctx_train = 0;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: the embedding is reused (SmolLM2)
  std::string vocab_file;        // file name under the shared tokenizer folder
};

// tinyllama-1.1b, smollm2-135m, llama-8b.
const std::vector<SynthShape>& synth_presets();

struct SynthOptions {
  std::string preset;
  std::string type;        // q4_0 | q8_0 | q4_k_m | f16: the file's weight type mix, as llama-quantize makes it
  std::string vocab_path;  // GGUF with tokenizer.* metadata; empty = the preset's file in vocab_dir
  std::string vocab_dir;   // where the shared tokenizer files live
  uint64_t seed = 1;
  int32_t n_threads = 0;   // quantization threads; 0 = all
};

// Writes the model to out_path. Errors name the preset, type or vocabulary problem.
Status write_synthetic_model(const SynthOptions& options, const std::string& out_path);

}  // namespace tandem
