#pragma once
// Models and files for the quantize and eval tests: the shared stories260K model, a synthetic
// F16 llama with row lengths that fit every block size (stories260K's 64 and 172 do not fit the
// K-quants' 256), temporary paths, and tensors read back as floats.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"

namespace tandem::test {

inline std::string stories_path() { return std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf"; }
inline std::string corpus_path() { return std::string(TANDEM_TEST_DATA) + "/eval/stories.txt"; }

// A fresh directory under the system's temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    static std::mt19937_64 rng{std::random_device{}()};
    path_ = std::filesystem::temp_directory_path() / ("tandem_quant_test_" + std::to_string(rng()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::vector<float> tensor_floats(const gguf::TensorInfo& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  dequantize_row(t.type, t.data, out.data(), t.n_elements());
  return out;
}

// A llama of n_layer layers with n_embd 256, n_ff 768, 4 heads of 64, random F16 matrices and the
// stories260K tokenizer (512 tokens), so that it loads and runs in the engine.
inline void write_wide_f16_model(const std::string& path, int n_layer = 4) {
  auto stories = gguf::GgufFile::open(stories_path());
  ASSERT_TRUE(stories) << stories.error();
  constexpr int64_t kEmbd = 256;
  constexpr int64_t kFf = 768;
  constexpr int64_t kVocab = 512;
  gguf::GgufWriter w;
  for (const auto& [key, value] : stories->metadata()) w.set(key, value);
  auto u32 = [](uint64_t v) { return gguf::Value::make_uint(gguf::ValueType::UINT32, v); };
  w.set("llama.embedding_length", u32(kEmbd));
  w.set("llama.feed_forward_length", u32(kFf));
  w.set("llama.attention.head_count", u32(4));
  w.set("llama.attention.head_count_kv", u32(4));
  w.set("llama.block_count", u32(static_cast<uint64_t>(n_layer)));
  w.set("llama.rope.dimension_count", u32(64));
  w.set("general.file_type", u32(1));
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  auto matrix = [&](const std::string& name, int64_t n_in, int64_t n_out) {
    std::vector<uint16_t> v(static_cast<size_t>(n_in * n_out));
    for (uint16_t& x : v) x = fp32_to_fp16(normal(rng));
    w.add_tensor(name, GgmlType::F16, {n_in, n_out}, v.data(), v.size() * sizeof(uint16_t));
  };
  auto norm = [&](const std::string& name) {
    std::vector<float> v(kEmbd, 1.0f);
    w.add_tensor(name, GgmlType::F32, {kEmbd}, v.data(), v.size() * sizeof(float));
  };
  matrix("token_embd.weight", kEmbd, kVocab);
  norm("output_norm.weight");
  matrix("output.weight", kEmbd, kVocab);
  for (int l = 0; l < n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    matrix(p + "attn_q.weight", kEmbd, kEmbd);
    matrix(p + "attn_k.weight", kEmbd, kEmbd);
    matrix(p + "attn_v.weight", kEmbd, kEmbd);
    matrix(p + "attn_output.weight", kEmbd, kEmbd);
    norm(p + "attn_norm.weight");
    matrix(p + "ffn_gate.weight", kEmbd, kFf);
    matrix(p + "ffn_down.weight", kFf, kEmbd);
    matrix(p + "ffn_up.weight", kEmbd, kFf);
    norm(p + "ffn_norm.weight");
  }
  auto ok = w.write(path);
  ASSERT_TRUE(ok) << ok.error();
}

}  // namespace tandem::test
