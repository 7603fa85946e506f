#include "quantize/model_quantizer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/check.h"
#include "gguf/gguf_writer.h"
#include "quant/dequantize.h"
#include "quantize/weighted_quantize.h"

namespace tandem::quantize {
namespace {

// Input bytes of rows handled per slab: bounds the output buffer and paces the progress bar.
constexpr uint64_t kSlabBytes = 64ull << 20;
// Rows a thread takes at a time: enough work to amortise the shared counter.
constexpr int64_t kRowsPerGrab = 16;

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec)) return true;
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

// Converts rows [row0, row0 + n_rows) of one tensor into dst, on n_threads threads.
void convert_rows(const gguf::TensorInfo& t, GgmlType to, const float* importance, int64_t rows_per_matrix,
                  int64_t row0, int64_t n_rows, uint8_t* dst, int n_threads) {
  const int64_t n_in = t.shape[0];
  const size_t src_row = ggml_row_size(t.type, n_in);
  const size_t dst_row = ggml_row_size(to, n_in);
  std::atomic<int64_t> next{0};
  auto work = [&] {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (;;) {
      const int64_t begin = next.fetch_add(kRowsPerGrab);
      if (begin >= n_rows) return;
      const int64_t end = std::min(n_rows, begin + kRowsPerGrab);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t global = row0 + r;
        dequantize_row(t.type, t.data + static_cast<size_t>(global) * src_row, row.data(), n_in);
        const float* imp = importance ? importance + (global / rows_per_matrix) * n_in : nullptr;
        quantize_row_weighted(to, row.data(), dst + static_cast<size_t>(r) * dst_row, n_in, imp);
      }
    }
  };
  const int helpers = static_cast<int>(std::min<int64_t>(n_threads - 1, (n_rows - 1) / kRowsPerGrab));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(std::max(helpers, 0)));
  for (int i = 0; i < helpers; ++i) threads.emplace_back(work);
  work();
  for (std::thread& th : threads) th.join();
}

}  // namespace

Result<QuantizeReport> quantize_model(const gguf::GgufFile& input, const std::string& input_path,
                                      const QuantPlan& plan, const QuantizeOptions& options,
                                      const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (same_file(input_path, options.output_path)) {
    return make_error("the output " + options.output_path + " is the input file; choose another path");
  }
  const auto& infos = input.tensors();
  TANDEM_CHECK(plan.tensors.size() == infos.size());
  QuantizeReport report;

  // Importance per converted tensor, checked before anything is written.
  std::vector<std::vector<float>> importance(infos.size());
  if (options.imatrix) {
    int n_matched = 0;
    for (size_t i = 0; i < infos.size(); ++i) {
      const gguf::TensorInfo& t = infos[i];
      const TensorPlan& tp = plan.tensors[i];
      std::vector<float> imp = options.imatrix->importance(t.name);
      if (!imp.empty()) ++n_matched;
      if (tp.to == tp.from || !uses_importance(tp.to)) continue;
      if (imp.empty()) {
        report.notes.push_back(t.name + ": not in the imatrix, quantized without importance");
        continue;
      }
      const int64_t n_mat = t.shape.size() > 2 ? t.n_elements() / (t.shape[0] * t.shape[1]) : 1;
      if (static_cast<int64_t>(imp.size()) != t.shape[0] && static_cast<int64_t>(imp.size()) != t.shape[0] * n_mat) {
        return make_error("the imatrix entry for " + t.name + " has " + std::to_string(imp.size()) +
                          " values but the tensor has " + std::to_string(t.shape[0]) +
                          " columns: was the imatrix computed on another model?");
      }
      importance[i] = std::move(imp);
    }
    if (n_matched == 0) {
      return make_error("none of the imatrix's " + std::to_string(options.imatrix->entries.size()) +
                        " entries names a tensor of this model: was it computed on another model?");
    }
  }

  gguf::GgufWriter writer;
  for (const auto& [key, value] : input.metadata()) writer.set(key, value);
  writer.set("general.quantization_version", gguf::Value::make_uint(gguf::ValueType::UINT32, kQuantizationVersion));
  writer.set("general.file_type", gguf::Value::make_uint(gguf::ValueType::UINT32, plan.target.file_type));
  for (const TensorPlan& tp : plan.tensors) writer.add_tensor_info(tp.name, tp.to, tp.shape);
  if (auto ok = writer.open(options.output_path); !ok) return Error{ok.error()};

  const int n_threads =
      options.n_threads > 0 ? options.n_threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : infos) total += t.n_bytes;
  QuantizeProgress state{0, total, 0, infos.size(), {}};
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < infos.size(); ++i) {
    const gguf::TensorInfo& t = infos[i];
    const TensorPlan& tp = plan.tensors[i];
    state.tensor_index = i;
    state.tensor_name = t.name;
    if (progress) progress(state);
    if (tp.to == tp.from) {
      // Same type: the bytes go through untouched, in slabs.
      for (uint64_t off = 0; off < t.n_bytes; off += kSlabBytes) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kSlabBytes, t.n_bytes - off));
        if (auto ok = writer.write_tensor_data(t.data + off, n); !ok) return Error{ok.error()};
        state.done_bytes += n;
        if (progress) progress(state);
      }
      if (t.n_bytes == 0) {
        if (auto ok = writer.write_tensor_data(nullptr, 0); !ok) return Error{ok.error()};
      }
      continue;
    }
    ++report.n_converted;
    const float* imp = importance[i].empty() ? nullptr : importance[i].data();
    if (imp) ++report.n_with_importance;
    const int64_t n_in = t.shape[0];
    const int64_t n_rows = t.n_rows();
    const int64_t rows_per_matrix =
        importance[i].size() > static_cast<size_t>(n_in) ? t.shape[1] : std::max<int64_t>(n_rows, 1);
    const size_t src_row = ggml_row_size(t.type, n_in);
    const size_t dst_row = ggml_row_size(tp.to, n_in);
    const int64_t slab_rows = std::max<int64_t>(1, static_cast<int64_t>(kSlabBytes / std::max<size_t>(src_row, 1)));
    for (int64_t row0 = 0; row0 < n_rows; row0 += slab_rows) {
      const int64_t rows = std::min(slab_rows, n_rows - row0);
      buffer.resize(static_cast<size_t>(rows) * dst_row);
      convert_rows(t, tp.to, imp, rows_per_matrix, row0, rows, buffer.data(), n_threads);
      if (auto ok = writer.write_tensor_data(buffer.data(), buffer.size()); !ok) return Error{ok.error()};
      state.done_bytes += static_cast<uint64_t>(rows) * src_row;
      if (progress) progress(state);
    }
  }
  if (auto ok = writer.finish(); !ok) return Error{ok.error()};
  state.done_bytes = total;
  if (progress) progress(state);

  std::error_code ec;
  report.input_bytes = std::filesystem::file_size(input_path, ec);
  report.output_bytes = std::filesystem::file_size(options.output_path, ec);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tandem::quantize
