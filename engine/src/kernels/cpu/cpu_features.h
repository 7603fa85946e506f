#pragma once
// What the CPU we run on can do, read once with CPUID/XGETBV, and the instruction-set level the
// kernels dispatch on. The build targets baseline x86-64; faster kernels live in files compiled
// for their ISA and are only called when the running CPU (and the OS, for the wider registers)
// supports them.

#include <string>

namespace tandem::cpu {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;
  bool amx_tile = false;
  bool amx_int8 = false;
  bool amx_bf16 = false;
};

// Kernel families, each a superset of the previous one.
enum class IsaLevel {
  kScalar,      // portable C++: the references
  kAvx2,        // AVX2 + FMA + F16C
  kAvx512Vnni,  // AVX-512 F/BW/VL/DQ + VNNI (int8 dot products in one instruction)
};

const CpuFeatures& cpu_features();

// The best level this CPU supports.
IsaLevel best_isa_level();

// The level the kernels use: best_isa_level(), lowered by the environment variable TANDEM_ISA
// (scalar | avx2 | avx512) so that every path can be tested and benchmarked on one machine. A
// request above what the CPU supports is ignored.
IsaLevel active_isa_level();

const char* isa_level_name(IsaLevel level);

// "avx2 fma f16c avx512f ..." for logs and benchmark reports.
std::string cpu_features_string();

}  // namespace tandem::cpu
