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
  std::string arch = "llama";  // llama | qwen3moe | qwen3next
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
  int32_t head_dim = 0;          // 0: n_embd / n_head
  int32_t n_vocab = 0;           // pad the vocabulary file's tokens to this many (0: as it is)
  // Mixture of experts (qwen3moe).
  int32_t n_expert = 0;
  int32_t n_expert_used = 0;
  int32_t n_ff_exp = 0;
  int32_t n_ff_shexp = 0;  // shared expert width, gated by a sigmoid (qwen3next); 0: none
  int32_t n_rot = 0;       // rotated dimensions of each head (0: all); Qwen3-Next rotates a quarter
  // Qwen3-Next: every full_attention_interval-th layer is gated attention, the others gated
  // DeltaNet with these sizes (llama.cpp's ssm.* keys).
  int32_t full_attention_interval = 0;
  int32_t ssm_d_conv = 0;     // ssm.conv_kernel
  int32_t ssm_n_k_heads = 0;  // ssm.group_count: query/key heads
  int32_t ssm_n_v_heads = 0;  // ssm.time_step_rank: value heads
  int32_t ssm_d_k = 0;        // ssm.state_size: query/key head width
  int32_t ssm_d_v = 0;        // value head width (ssm.inner_size = n_v_heads * d_v)
};

// tinyllama-1.1b, smollm2-135m, llama-8b, qwen3moe-30b-a3b, qwen3next-80b-a3b.
const std::vector<SynthShape>& synth_presets();

struct SynthOptions {
  std::string preset;
  std::string type;        // q4_0 | q8_0 | q4_k_m | f16: the file's weight type mix, as llama-quantize makes it
  std::string vocab_path;  // GGUF with tokenizer.* metadata; empty = the preset's file in vocab_dir
  std::string vocab_dir;   // where the shared tokenizer files live
  uint64_t seed = 1;
  int32_t n_threads = 0;   // quantization threads; 0 = all
  int32_t n_layers = 0;    // keep the preset's layer shapes with this many layers; 0 = all of them
};

// Writes the model to out_path, tensor by tensor (a file larger than memory is fine). Errors name
// the preset, type or vocabulary problem.
Status write_synthetic_model(const SynthOptions& options, const std::string& out_path);

}  // namespace tandem
