// Row kernels for CPUs with AVX-512 F/BW/VL/DQ + VNNI. Built with those instruction sets enabled (see
// engine/CMakeLists.txt); dot_kernels.cpp only calls in here when active_isa_level() allows it.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/dot_kernels.h"
#include "quant/block_layouts.h"

#if defined(__x86_64__)
#include "kernels/cpu/avx512_intrinsics.h"

#define TANDEM_VNNI 1
#define TANDEM_AVX512 1

namespace tandem::cpu {
namespace avx512 {
#include "kernels/cpu/vec_dot_x86.inc"
}  // namespace avx512

RowDotFn row_dot_kernel_avx512(GgmlType weight_type) { return avx512::kernel_for(weight_type); }

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
RowDotFn row_dot_kernel_avx512(GgmlType) { return nullptr; }
}  // namespace tandem::cpu

#endif
