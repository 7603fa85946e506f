#pragma once
// Float-to-integer rounding exactly as ggml's reference quantizers do it; the K-quant searches
// depend on these tie-breaking rules to pick the same levels as llama.cpp.

#include <bit>
#include <cstdint>

namespace tandem {

// Round to nearest, ties to even, for |x| <= 2^22 (every caller scales to a few hundred at most).
// Adding 1.5 * 2^23 pushes the fraction out of the float so the FPU's own rounding does the work,
// independent of the current rounding-mode setting of library calls.
inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007FFFFFu) - 0x00400000;
}

}  // namespace tandem
