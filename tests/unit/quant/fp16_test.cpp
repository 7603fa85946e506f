#include "quant/fp16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tandem {
namespace {

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = fp16_to_fp32(bits);
    const bool is_nan = (bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      // The payload survives; a signalling NaN comes back quiet, as with F16C.
      ASSERT_EQ(fp32_to_fp16(f), bits | 0x200) << std::hex << h;
    } else {
      ASSERT_EQ(fp32_to_fp16(f), bits) << std::hex << h;
    }
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(fp16_to_fp32(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xC000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7BFF), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(std::bit_cast<uint32_t>(fp16_to_fp32(0x8000)), 0x80000000u);
  EXPECT_EQ(fp16_to_fp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xFC00), -std::numeric_limits<float>::infinity());
}

TEST(Fp16, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa.
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3C01);
  EXPECT_EQ(fp32_to_fp16(-(1.0f + std::ldexp(1.0f, -11))), 0xBC00);
  // Subnormal ties: 2^-25 is halfway between 0 and 2^-24, 3 * 2^-25 between 2^-24 and 2^-23.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -30)), 0x0000);
  // Rounding up out of the subnormals into the smallest normal.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400);
}

TEST(Fp16, OverflowInfAndNan) {
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65519.99f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);  // the tie with 65536 rounds to even: inf
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  const uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x3FF, 0);
  // A NaN whose payload lives only in the low mantissa bits must not collapse to inf.
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::bit_cast<float>(0x7F800001u)))));
}

TEST(Fp16, MatchesDoubleRoundingOnASweep) {
  // Every float in a dense sweep converts to the half nearest to it (ties to even), judged in double.
  for (uint32_t bits = 0x33000000u; bits < 0x477FF000u; bits += 0x1F3u) {
    const float f = std::bit_cast<float>(bits);
    const uint16_t h = fp32_to_fp16(f);
    const double got = fp16_to_fp32(h);
    const double below = fp16_to_fp32(static_cast<uint16_t>(h - (h > 0 ? 1 : 0)));
    const double above = fp16_to_fp32(static_cast<uint16_t>(h + 1));
    ASSERT_LE(std::fabs(got - f), std::fabs(below - f)) << std::hex << bits;
    if (std::isfinite(above)) {
      ASSERT_LE(std::fabs(got - f), std::fabs(above - f)) << std::hex << bits;
    }
  }
}

TEST(Bf16, ConversionsAndRounding) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = bf16_to_fp32(bits);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(f)))) << std::hex << h;
    } else {
      ASSERT_EQ(fp32_to_bf16(f), bits) << std::hex << h;
    }
  }
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
  // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: to even (1); 1 + 3 * 2^-8: to even (1 + 2^-6).
  EXPECT_EQ(fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3F81);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(fp32_to_bf16(3.4e38f), 0x7F80);  // rounds past the largest bf16
  // NaN stays NaN even when only low payload bits are set (plain rounding would give inf).
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::bit_cast<float>(0xFFFFFFFFu)))));
}

}  // namespace
}  // namespace tandem
