//===- Packing.h - 2-bit ternary weight codes -------------------*- C++ -*-===//
//
// The packed layout shared by the compiler and every back end: 4 ternary weights
// per byte, weight k of a row in bits [2*(k%4), 2*(k%4)+1] of byte k/4, as a 2-bit
// two's complement code (00 = 0, 01 = +1, 11 = -1; 10 is invalid).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_DIALECT_TERN_PACKING_H
#define MFC_DIALECT_TERN_PACKING_H

#include "llvm/ADT/ArrayRef.h"
#include <cstdint>
#include <optional>

namespace mfc::tern {

constexpr int64_t kWeightsPerByte = 4;

/// Bytes that hold one packed row of `k` ternary weights.
inline int64_t packedRowBytes(int64_t k) {
  return (k + kWeightsPerByte - 1) / kWeightsPerByte;
}

/// Packs `row` (values in {-1, 0, +1}) into `packedRowBytes(row.size())` bytes.
void packTernaryRow(llvm::ArrayRef<int8_t> row, llvm::MutableArrayRef<uint8_t> out);

/// Decodes weight `k` of a packed row; std::nullopt for the invalid code 0b10.
std::optional<int8_t> unpackTernary(llvm::ArrayRef<uint8_t> packedRow, int64_t k);

/// The nonzero codes among packed bytes in any order (padding codes are 0): the
/// additions and subtractions a product with them takes per token.
int64_t countNonzeroCodes(llvm::ArrayRef<uint8_t> packed);

} // namespace mfc::tern

#endif // MFC_DIALECT_TERN_PACKING_H
