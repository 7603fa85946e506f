#include "kernels/cpu/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TANDEM_X86 1
#endif

namespace tandem::cpu {
namespace {

#ifdef TANDEM_X86
struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

// XCR0: which register states the OS saves on a context switch. A CPU with AVX-512 under an OS
// that does not save ZMM state must not use it.
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool bit(uint32_t reg, int n) { return (reg >> n) & 1u; }

CpuFeatures detect() {
  CpuFeatures f;
  const uint32_t max_leaf = cpuid(0, 0).eax;
  if (max_leaf < 7) return f;
  const CpuidRegs l1 = cpuid(1, 0);
  const bool osxsave = bit(l1.ecx, 27);
  if (!osxsave) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;       // SSE and AVX state
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;     // plus opmask and both ZMM halves
  const bool amx_state = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
  const CpuidRegs l7 = cpuid(7, 0);
  const CpuidRegs l7_1 = cpuid(7, 1);
  if (ymm_state) {
    f.avx2 = bit(l7.ebx, 5);
    f.fma = bit(l1.ecx, 12);
    f.f16c = bit(l1.ecx, 29);
    f.avx_vnni = bit(l7_1.eax, 4);
  }
  if (zmm_state) {
    f.avx512f = bit(l7.ebx, 16);
    f.avx512dq = bit(l7.ebx, 17);
    f.avx512bw = bit(l7.ebx, 30);
    f.avx512vl = bit(l7.ebx, 31);
    f.avx512_vnni = bit(l7.ecx, 11);
    f.avx512_bf16 = bit(l7_1.eax, 5);
  }
  if (amx_state) {
    f.amx_bf16 = bit(l7.edx, 22);
    f.amx_tile = bit(l7.edx, 24);
    f.amx_int8 = bit(l7.edx, 25);
  }
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

IsaLevel requested_level(IsaLevel best) {
  const char* env = std::getenv("TANDEM_ISA");
  if (!env) return best;
  IsaLevel want = best;
  if (std::strcmp(env, "scalar") == 0) want = IsaLevel::kScalar;
  if (std::strcmp(env, "avx2") == 0) want = IsaLevel::kAvx2;
  if (std::strcmp(env, "avx512") == 0) want = IsaLevel::kAvx512Vnni;
  return want < best ? want : best;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

IsaLevel best_isa_level() {
  const CpuFeatures& f = cpu_features();
  if (!(f.avx2 && f.fma && f.f16c)) return IsaLevel::kScalar;
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_vnni) return IsaLevel::kAvx512Vnni;
  return IsaLevel::kAvx2;
}

IsaLevel active_isa_level() {
  static const IsaLevel level = requested_level(best_isa_level());
  return level;
}

const char* isa_level_name(IsaLevel level) {
  switch (level) {
    case IsaLevel::kScalar: return "scalar";
    case IsaLevel::kAvx2: return "avx2";
    case IsaLevel::kAvx512Vnni: return "avx512-vnni";
  }
  return "?";
}

std::string cpu_features_string() {
  const CpuFeatures& f = cpu_features();
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx_vnni, "avx_vnni");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.amx_tile, "amx_tile");
  add(f.amx_int8, "amx_int8");
  add(f.amx_bf16, "amx_bf16");
  return out;
}

}  // namespace tandem::cpu
