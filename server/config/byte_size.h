#pragma once
// Byte sizes as people write them: 1048576, "4GB" (SI: 4 * 10^9), "512MiB" (IEC: 512 * 2^20).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tandem::config {

// A byte count, written in a config as 4096, "4GB" (SI, 10^9) or "512MiB" (IEC, 2^20).
struct ByteSize {
  uint64_t bytes = 0;
  bool operator==(const ByteSize&) const = default;
};

// Accepts a non-negative number (decimals allowed: "1.5GiB") and an optional unit, case-insensitive:
// B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of 1024), and K/M/G/T (powers of 1024,
// as most tools read them). Whitespace between number and unit is allowed.
Result<uint64_t> parse_byte_size(std::string_view text);

// "4 GiB", "512 MiB", "100 B": the largest IEC unit that keeps one decimal.
std::string format_byte_size(uint64_t bytes);

}  // namespace tandem::config
