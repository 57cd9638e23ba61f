/*===- ternary_matmul.c - int8 x packed ternary matmul micro-kernel -------===*
 *
 * y[m, n] = sum_k x[m, k] * T[n, k], T in {-1, 0, +1} packed 2 bits per weight as the
 * tern dialect lays it out (weight k of row n in byte k/4, bits 2(k%4)..2(k%4)+1,
 * 00 = 0, 01 = +1, 11 = -1). Exact int32 result.
 *
 * AVX-512 VNNI: per 256 weights (64 code bytes), a byte shuffle turns each code into
 * w + 1 in {0, 1, 2} and vpdpbusd sums (w + 1) * x in int32, four products a lane; the
 * row's sum of x is subtracted once. (The weight stays a 2-bit code in memory; the
 * instruction's multiplier sees 0, 1 or 2.) AVX-512BW without VNNI: the codes equal to
 * +1 and to -1 become lane masks, and masked adds and subtracts apply the activations.
 * AVX2: vpsignw turns each activation into x, -x or 0 by the weight's sign, then adds.
 * Per token, the activations are permuted once (widened to int16 for the latter two) so
 * that the 4 codes of a byte line up with 4 contiguous runs: with B code bytes per block
 * (64 or 32), code j of byte b pairs with x[4B*blk + 4b + j], stored at xp[4B*blk + Bj + b].
 * Rows (output channels) are split across the threads of thread_pool.c.
 *
 * Called from compiled models through MLIR's C interface for memrefs
 * (mfc-cpu-lower-to-ukernels, lib/Target/CPU).
 *===----------------------------------------------------------------------===*/
#include "thread_pool.h"

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

enum { kAvx2BlockBytes = 32, kAvx512BlockBytes = 64 };
/* Tokens whose products share one pass over the weights (prefill; VNNI only). */
enum { kMaxTokens = 8 };
/* Products of at least this many weights are split across threads. */
enum { kParallelCodes = 1 << 16 };
/* How far ahead of the block it decodes a kernel asks for weights: one thread's demand
   loads alone leave DRAM idle between a row's misses (streamed GEMVs ran at 0.5-0.6 of
   the read bandwidth without it, 0.85-0.9 with 4-16 KiB; bench/cpu_gemv.py). */
enum { kPrefetchBytes = 4096 };

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

/* Permutes one token's activations for blocks of `blockBytes` code bytes (see top),
 * into int16 (`wide`) or int8 elements. */
static void permute(const int8_t *x, int64_t blocks, int blockBytes, int wide, void *xp) {
  const int64_t block = 4 * (int64_t)blockBytes;
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int j = 0; j < 4; ++j)
      for (int b = 0; b < blockBytes; ++b) {
        int64_t to = blk * block + blockBytes * j + b;
        int8_t v = x[blk * block + 4 * b + j];
        if (wide)
          ((int16_t *)xp)[to] = v;
        else
          ((int8_t *)xp)[to] = v;
      }
}

#ifdef MFC_X86
/* sums[t] = sum over the blocks of (w + 1) * x_t for `count` tokens (at most
 * kMaxTokens) against one weight row, whose codes are decoded once for all of them; the
 * caller subtracts each token's sum of x. A nibble of a code byte indexes a shuffle
 * table that gives w + 1 for its low code (j = 0, 2) or its high one (j = 1, 3): three
 * masks and shifts and four shuffles per 64 bytes instead of a shift, mask and shuffle
 * per code. Each code position j has its own accumulator, so that the dot products of a
 * row do not wait on one another (vpdpbusd has a latency of several cycles). */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
vnniTokens(const int8_t *const *xs, int count, const uint8_t *row, int64_t blocks,
           int32_t *sums) {
  /* w + 1 by code: 00 -> 1, 01 -> 2, 10 (unused) -> 1, 11 -> 0; indexed by a nibble, of
     its low code and of its high code, in each 128-bit lane. */
  const __m512i lowCode = _mm512_broadcast_i32x4(
      _mm_setr_epi8(1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0));
  const __m512i highCode = _mm512_broadcast_i32x4(
      _mm_setr_epi8(1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0));
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  /* Accumulators per token: one per code position, two for more than four tokens (then
     the tokens' own chains are enough to keep vpdpbusd busy, and 32 would not fit in
     the 32 vector registers). */
  const int positions = count > 4 ? 2 : 4;
  __m512i acc[kMaxTokens][4];
  for (int t = 0; t < count; ++t)
    for (int j = 0; j < positions; ++j)
      acc[t][j] = _mm512_setzero_si512();
  for (int64_t blk = 0; blk < blocks; ++blk) {
    _mm_prefetch((const char *)(row + blk * kAvx512BlockBytes + kPrefetchBytes), _MM_HINT_T0);
    __m512i bytes = _mm512_loadu_si512((const void *)(row + blk * kAvx512BlockBytes));
    __m512i low = _mm512_and_si512(bytes, nibble);
    __m512i high = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), nibble);
    __m512i weightPlusOne[4] = {
        _mm512_shuffle_epi8(lowCode, low), _mm512_shuffle_epi8(highCode, low),
        _mm512_shuffle_epi8(lowCode, high), _mm512_shuffle_epi8(highCode, high)};
    for (int j = 0; j < 4; ++j)
      for (int t = 0; t < count; ++t)
        acc[t][j % positions] = _mm512_dpbusd_epi32(
            acc[t][j % positions], weightPlusOne[j],
            _mm512_loadu_si512((const void *)(xs[t] + blk * 4 * kAvx512BlockBytes + 64 * j)));
  }
  for (int t = 0; t < count; ++t) {
    __m512i total = _mm512_add_epi32(acc[t][0], acc[t][1]);
    if (positions == 4)
      total = _mm512_add_epi32(total, _mm512_add_epi32(acc[t][2], acc[t][3]));
    sums[t] = _mm512_reduce_add_epi32(total);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int32_t vnniRow(
    const void *activations, const uint8_t *row, int64_t blocks) {
  const int8_t *xs[1] = {(const int8_t *)activations};
  int32_t sum;
  vnniTokens(xs, 1, row, blocks, &sum);
  return sum;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void vnniRowsTokens(
    const int8_t *const *xs, const uint8_t *row, int64_t blocks, int32_t *sums) {
  vnniTokens(xs, kMaxTokens, row, blocks, sums);
}

__attribute__((target("avx512f,avx512bw"))) static int32_t avx512Row(const void *activations,
                                                                      const uint8_t *row,
                                                                      int64_t blocks) {
  const int16_t *xp = (const int16_t *)activations;
  const __m512i three = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
  __m512i acc32 = _mm512_setzero_si512();
  for (int64_t start = 0; start < blocks;) {
    /* An int16 lane gains at most 4 * 128 per block: flush to int32 every 32 blocks. */
    int64_t end = blocks - start > 32 ? start + 32 : blocks;
    __m512i accLo = _mm512_setzero_si512(), accHi = _mm512_setzero_si512();
    for (int64_t blk = start; blk < end; ++blk) {
      _mm_prefetch((const char *)(row + blk * kAvx512BlockBytes + kPrefetchBytes), _MM_HINT_T0);
      __m512i bytes = _mm512_loadu_si512((const void *)(row + blk * kAvx512BlockBytes));
      const int16_t *xb = xp + blk * 4 * kAvx512BlockBytes;
      for (int j = 0; j < 4; ++j) {
        __m512i code = _mm512_and_si512(_mm512_srli_epi16(bytes, 2 * j), three);
        __mmask64 plus = _mm512_cmpeq_epi8_mask(code, one);
        __mmask64 minus = _mm512_cmpeq_epi8_mask(code, three);
        __m512i xLo = _mm512_loadu_si512((const void *)(xb + 64 * j));
        __m512i xHi = _mm512_loadu_si512((const void *)(xb + 64 * j + 32));
        accLo = _mm512_mask_add_epi16(accLo, (__mmask32)plus, accLo, xLo);
        accLo = _mm512_mask_sub_epi16(accLo, (__mmask32)minus, accLo, xLo);
        accHi = _mm512_mask_add_epi16(accHi, (__mmask32)(plus >> 32), accHi, xHi);
        accHi = _mm512_mask_sub_epi16(accHi, (__mmask32)(minus >> 32), accHi, xHi);
      }
    }
    acc32 = _mm512_add_epi32(acc32, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(accLo)));
    acc32 = _mm512_add_epi32(acc32, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(accLo, 1)));
    acc32 = _mm512_add_epi32(acc32, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(accHi)));
    acc32 = _mm512_add_epi32(acc32, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(accHi, 1)));
    start = end;
  }
  return _mm512_reduce_add_epi32(acc32);
}

__attribute__((target("avx2"))) static int32_t avx2Row(const void *activations,
                                                        const uint8_t *row, int64_t blocks) {
  const int16_t *xp = (const int16_t *)activations;
  const __m256i three = _mm256_set1_epi8(3), two = _mm256_set1_epi8(2);
  __m256i acc32 = _mm256_setzero_si256();
  for (int64_t start = 0; start < blocks;) {
    /* An int16 lane gains at most 8 * 128 per block: flush to int32 every 16 blocks. */
    int64_t end = blocks - start > 16 ? start + 16 : blocks;
    __m256i acc16 = _mm256_setzero_si256();
    for (int64_t blk = start; blk < end; ++blk) {
      _mm_prefetch((const char *)(row + blk * kAvx2BlockBytes + kPrefetchBytes), _MM_HINT_T0);
      __m256i bytes = _mm256_loadu_si256((const __m256i *)(row + blk * kAvx2BlockBytes));
      const int16_t *xb = xp + blk * 4 * kAvx2BlockBytes;
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

typedef int32_t (*RowKernel)(const void *xp, const uint8_t *row, int64_t blocks);
typedef void (*TokensKernel)(const int8_t *const *xps, const uint8_t *row, int64_t blocks,
                             int32_t *sums);

/* Up to kMaxTokens token rows of the product: their activations (as read and as
 * permuted) against the weight rows [begin, end). */
typedef struct {
  RowKernel kernel;
  TokensKernel tokensKernel; /* all kMaxTokens tokens at once, when `tokens` is that */
  int tokens;
  const void *xp[kMaxTokens];
  const int8_t *xrow[kMaxTokens];
  int32_t *out[kMaxTokens];
  int32_t bias[kMaxTokens]; /* added to each row's kernel result */
  const MemRefI8x2 *w;
  int64_t outStride, blocks, tail, k;
} TokenRows;

static void productRows(void *context, int64_t begin, int64_t end) {
  const TokenRows *t = (const TokenRows *)context;
  int32_t sums[kMaxTokens] = {0};
  for (int64_t r = begin; r < end; ++r) {
    const uint8_t *row = (const uint8_t *)(t->w->aligned + t->w->offset + r * t->w->strides[0]);
    if (t->tokens == kMaxTokens && t->tokensKernel)
      t->tokensKernel((const int8_t *const *)t->xp, row, t->blocks, sums);
    else if (t->kernel)
      sums[0] = t->kernel(t->xp[0], row, t->blocks);
    for (int i = 0; i < t->tokens; ++i)
      t->out[i][r * t->outStride] =
          sums[i] + t->bias[i] + scalarRow(t->xrow[i], row, t->tail, t->k);
  }
}

void _mlir_ciface_mfc_ternary_matmul_i8(MemRefI8x2 *x, MemRefI8x2 *w, MemRefI32x2 *y) {
  const int64_t m = x->sizes[0], k = x->sizes[1], n = w->sizes[0];
  /* The widest vector code the CPU runs, chosen at run time; the first subtracts the
     sum of x from each row (see vnniTokens) and takes tokens kMaxTokens at a time. */
  RowKernel kernel = 0;
  TokensKernel tokensKernel = 0;
  int blockBytes = 0, wide = 1, subtractSum = 0;
#ifdef MFC_X86
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) {
    kernel = vnniRow;
    tokensKernel = vnniRowsTokens;
    blockBytes = kAvx512BlockBytes;
    wide = 0;
    subtractSum = 1;
  } else if (__builtin_cpu_supports("avx512bw")) {
    kernel = avx512Row;
    blockBytes = kAvx512BlockBytes;
  } else if (__builtin_cpu_supports("avx2")) {
    kernel = avx2Row;
    blockBytes = kAvx2BlockBytes;
  }
#endif
  const int64_t blocks = kernel ? k / (4 * blockBytes) : 0, tail = blocks * 4 * blockBytes;
  const size_t xpBytes = (size_t)(tail > 0 ? tail : 1) * (wide ? sizeof(int16_t) : 1);
  int8_t *xrows = malloc((size_t)kMaxTokens * (size_t)(k > 0 ? k : 1));
  char *xps = malloc(kMaxTokens * xpBytes);
  for (int64_t i = 0; i < m;) {
    TokenRows rows = {kernel, tokensKernel, tokensKernel && m - i >= kMaxTokens ? kMaxTokens : 1,
                      {0}, {0}, {0}, {0}, w, y->strides[1], blocks, tail, k};
    for (int t = 0; t < rows.tokens; ++t, ++i) {
      const int8_t *src = x->aligned + x->offset + i * x->strides[0];
      int8_t *xrow = xrows + (size_t)t * (size_t)(k > 0 ? k : 1);
      int32_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        xrow[kk] = src[kk * x->strides[1]];
      for (int64_t kk = 0; kk < tail; ++kk)
        sum += xrow[kk];
      permute(xrow, blocks, blockBytes, wide, xps + t * xpBytes);
      rows.xrow[t] = xrow;
      rows.xp[t] = xps + t * xpBytes;
      rows.out[t] = y->aligned + y->offset + i * y->strides[0];
      rows.bias[t] = subtractSum ? -sum : 0;
    }
    /* Threads where the product outweighs a hand-off (about a microsecond). */
    if (n * k >= kParallelCodes)
      mfc_parallel_for(n, productRows, &rows);
    else
      productRows(&rows, 0, n);
  }
  free(xps);
  free(xrows);
}
