// libFuzzer target: any bytes through the GGUF reader must give a file or an error, never a crash.
// Built by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).

#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/gguf_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = tandem::gguf::GgufFile::parse(std::span<const uint8_t>(data, size));
  if (file) {
    // Touch what a loader would: every value's rendering and every tensor's bytes.
    for (const auto& [key, value] : file->metadata()) (void)value.to_display_string();
    volatile uint8_t sink = 0;
    for (const auto& t : file->tensors()) {
      if (t.n_bytes > 0) sink = static_cast<uint8_t>(sink ^ t.data[0] ^ t.data[t.n_bytes - 1]);
    }
  }
  return 0;
}
