/*===- ternary_matmul.c - int8 x packed ternary matmul micro-kernel -------===*
 *
 * y[m, n] = sum_k x[m, k] * T[n, k], T in {-1, 0, +1} packed 2 bits per weight as the
 * tern dialect lays it out (weight k of row n in byte k/4, bits 2(k%4)..2(k%4)+1,
 * 00 = 0, 01 = +1, 11 = -1). Exact int32 result.
 *
 * No multiplies: the AVX2 path applies each weight with vpsignw (x, -x or 0 by the
 * weight's sign) and adds. Per token, the activations are widened to int16 once and
 * permuted so that the 4 codes of a byte line up with 4 contiguous 32-element runs:
 * code j of byte b in a 128-weight block pairs with x[128*blk + 4b + j], stored at
 * xp[128*blk + 32j + b]. Rows (output channels) are split across threads with OpenMP.
 *
 * Called from compiled models through MLIR's C interface for memrefs
 * (tern-lower-matmul{ukernels=true}).
 *===----------------------------------------------------------------------===*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MFC_X86 1
#endif

typedef struct {
  int8_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRefI8x2;

typedef struct {
  int32_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRefI32x2;

enum { kBlock = 128, kBlockBytes = kBlock / 4 };

static int8_t weightAt(const uint8_t *row, int64_t k) {
  int code = (row[k / 4] >> (2 * (k % 4))) & 3;
  return (int8_t)(code == 3 ? -1 : code);
}

/* Exact sum over [from, to) of x[k] * T[k], with adds and subtracts only. */
static int32_t scalarRow(const int8_t *x, const uint8_t *row, int64_t from, int64_t to) {
  int32_t acc = 0;
  for (int64_t k = from; k < to; ++k) {
    int8_t t = weightAt(row, k);
    acc = t > 0 ? acc + x[k] : t < 0 ? acc - x[k] : acc;
  }
  return acc;
}

#ifdef MFC_X86
__attribute__((target("avx2"))) static int32_t avx2Row(const int16_t *xp, const uint8_t *row,
                                                        int64_t blocks) {
  const __m256i three = _mm256_set1_epi8(3), two = _mm256_set1_epi8(2);
  __m256i acc32 = _mm256_setzero_si256();
  for (int64_t start = 0; start < blocks;) {
    /* int16 lanes gain at most 4 * 128 per block: flush to int32 every 32 blocks. */
    int64_t end = blocks - start > 32 ? start + 32 : blocks;
    __m256i acc16 = _mm256_setzero_si256();
    for (int64_t blk = start; blk < end; ++blk) {
      __m256i bytes = _mm256_loadu_si256((const __m256i *)(row + blk * kBlockBytes));
      const int16_t *xb = xp + blk * kBlock;
      for (int j = 0; j < 4; ++j) {
        __m256i code = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), three);
        /* 2-bit two's complement to int8: t = code - 2 * (code & 2) */
        __m256i high = _mm256_and_si256(code, two);
        __m256i t = _mm256_sub_epi8(code, _mm256_add_epi8(high, high));
        __m256i tLo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(t));
        __m256i tHi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(t, 1));
        __m256i xLo = _mm256_loadu_si256((const __m256i *)(xb + 32 * j));
        __m256i xHi = _mm256_loadu_si256((const __m256i *)(xb + 32 * j + 16));
        acc16 = _mm256_add_epi16(acc16, _mm256_sign_epi16(xLo, tLo));
        acc16 = _mm256_add_epi16(acc16, _mm256_sign_epi16(xHi, tHi));
      }
    }
    acc32 = _mm256_add_epi32(acc32, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc16)));
    acc32 = _mm256_add_epi32(acc32, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc16, 1)));
    start = end;
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc32), _mm256_extracti128_si256(acc32, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  return _mm_cvtsi128_si32(s);
}
#endif

void _mlir_ciface_mfc_ternary_matmul_i8(MemRefI8x2 *x, MemRefI8x2 *w, MemRefI32x2 *y) {
  const int64_t m = x->sizes[0], k = x->sizes[1], n = w->sizes[0];
  const int64_t blocks = k / kBlock, tail = blocks * kBlock;
#ifdef MFC_X86
  const int useAvx2 = __builtin_cpu_supports("avx2");
#else
  const int useAvx2 = 0;
#endif
  int8_t *xrow = malloc(k > 0 ? (size_t)k : 1);
  int16_t *xp = malloc((size_t)(tail > 0 ? tail : 1) * sizeof(int16_t));
  for (int64_t i = 0; i < m; ++i) {
    const int8_t *src = x->aligned + x->offset + i * x->strides[0];
    for (int64_t kk = 0; kk < k; ++kk)
      xrow[kk] = src[kk * x->strides[1]];
    for (int64_t blk = 0; blk < blocks; ++blk)
      for (int j = 0; j < 4; ++j)
        for (int b = 0; b < kBlockBytes; ++b)
          xp[blk * kBlock + 32 * j + b] = xrow[blk * kBlock + 4 * b + j];
    int32_t *out = y->aligned + y->offset + i * y->strides[0];
    /* Threads only for large matrices: for small ones the fork/join costs more than
       the work, and libgomp's spinning workers then compete with the serial code of
       the rest of the model (measured: 40x slower decode at a 2^16 threshold). */
#pragma omp parallel for schedule(static) if (n * k >= (1 << 22))
    for (int64_t r = 0; r < n; ++r) {
      const uint8_t *row = (const uint8_t *)(w->aligned + w->offset + r * w->strides[0]);
      int32_t acc;
#ifdef MFC_X86
      if (useAvx2)
        acc = avx2Row(xp, row, blocks) + scalarRow(xrow, row, tail, k);
      else
#endif
        acc = scalarRow(xrow, row, 0, k);
      out[r * y->strides[1]] = acc;
    }
  }
  free(xp);
  free(xrow);
}
