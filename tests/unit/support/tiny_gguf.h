#pragma once
// What the tiny random-weight model writers (model/tiny_models.h, model/tiny_qwen3next.h) share:
// a weight matrix quantized row by row, norm weights near 1, and a file of the test process's own.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"
#include "quant/quantize.h"

namespace tandem::test {

// values: the matrix in ggml order (shape[0] is a row), quantized to `type` one row at a time.
inline void add_quantized(gguf::GgufWriter& w, const std::string& name, GgmlType type, std::vector<int64_t> shape,
                          const std::vector<float>& values) {
  const int64_t n_in = shape[0];
  const int64_t n_rows = static_cast<int64_t>(values.size()) / n_in;
  const size_t row_bytes = ggml_row_size(type, n_in);
  std::vector<uint8_t> data(row_bytes * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) quantize_row(type, values.data() + r * n_in, data.data() + r * row_bytes, n_in);
  w.add_tensor(name, type, std::move(shape), data.data(), data.size());
}

// An RMS norm's weights: uniform in [0.8, 1.2], so a layer neither vanishes nor blows up.
inline std::vector<float> norm_weights(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> u(0.8f, 1.2f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

// A path under the test's temp dir. Per process: ctest runs each test in its own process, in
// parallel, and one must not rewrite a file another has mapped (a bus error).
inline std::string temp_model_path(const std::string& file_name) {
  return ::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + file_name;
}

// Writes `w` to temp_model_path(file_name) and returns that path (a test failure if it cannot).
inline std::string write_temp_model(const gguf::GgufWriter& w, const std::string& file_name) {
  const std::string path = temp_model_path(file_name);
  const auto written = w.write(path);
  EXPECT_TRUE(written) << written.error();
  return path;
}

}  // namespace tandem::test
