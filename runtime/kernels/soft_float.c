/*===- soft_float.c - conversions LLVM calls where the CPU has no instruction ===//
 *
 * LLVM lowers an f32 -> bf16 truncation on a CPU without AVX-512 BF16 (Zen 3, most
 * AVX2 parts) to a call of the compiler builtin __truncsfbf2, which GCC 12's libgcc
 * (the model libraries are linked by `cc`) does not have; model libraries get it from
 * here. bf16 is returned in the low 16 bits of xmm0, as _Float16 is: GCC 12 has no
 * arithmetic __bf16 type, so the bits travel in a _Float16.
 *
 *===----------------------------------------------------------------------===*/
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
/* Round to nearest even; a NaN stays a (quiet) NaN with its sign. */
__attribute__((visibility("hidden"))) _Float16 __truncsfbf2(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  uint16_t result;
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    result = (uint16_t)((bits >> 16) | 0x0040u);
  else
    result = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  _Float16 half;
  memcpy(&half, &result, sizeof half);
  return half;
}
#endif
