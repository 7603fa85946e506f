// Row kernels for CPUs with AVX2 + FMA + F16C. Built with those instruction sets enabled (see
// engine/CMakeLists.txt); dot_kernels.cpp only calls in here when active_isa_level() allows it.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/dot_kernels.h"
#include "quant/block_layouts.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TANDEM_VNNI 0
#define TANDEM_AVX512 0

namespace tandem::cpu {
namespace avx2 {
#include "kernels/cpu/vec_dot_x86.inc"
}  // namespace avx2

RowDotFn row_dot_kernel_avx2(GgmlType weight_type) { return avx2::kernel_for(weight_type); }

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
RowDotFn row_dot_kernel_avx2(GgmlType) { return nullptr; }
}  // namespace tandem::cpu

#endif
