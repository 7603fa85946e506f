// libFuzzer target: any bytes (invalid UTF-8 included) through the byte-level BPE and
// SentencePiece tokenizers of real vocabularies, and back through the detokenizer.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace {

std::unique_ptr<tandem::Tokenizer> load(const char* name) {
  auto file = tandem::gguf::GgufFile::open(std::string(TANDEM_SHARED_DIR) + "/reference/tokenizer/" + name);
  if (!file) return nullptr;
  auto tok = tandem::Tokenizer::from_gguf(*file);
  return tok ? std::make_unique<tandem::Tokenizer>(std::move(tok).value()) : nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto bpe = load("ggml-vocab-gpt-2.gguf");
  static const auto spm = load("ggml-vocab-llama-spm.gguf");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto* tok : {bpe.get(), spm.get()}) {
    if (!tok) continue;
    auto ids = tok->encode(text, /*add_special=*/true, /*parse_special=*/true);
    (void)tok->decode(ids);
  }
  return 0;
}
