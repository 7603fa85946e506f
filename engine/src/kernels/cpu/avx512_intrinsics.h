#pragma once
// <immintrin.h> for the files built with the AVX-512 flags (engine/CMakeLists.txt), and the one
// warning setting they all need: GCC 12 fills unused AVX-512 lanes with self-initialised
// "undefined" vectors and warns about them at every inlined call (a known false positive). The
// setting holds for the rest of the including file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
