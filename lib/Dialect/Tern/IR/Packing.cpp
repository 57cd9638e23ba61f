//===- Packing.cpp - 2-bit ternary weight codes ---------------------------===//
#include "mfc/Dialect/Tern/Packing.h"

#include <cassert>

namespace mfc::tern {

void packTernaryRow(llvm::ArrayRef<int8_t> row, llvm::MutableArrayRef<uint8_t> out) {
  assert(out.size() == static_cast<size_t>(packedRowBytes(row.size())) &&
         "packed row has the wrong size");
  std::fill(out.begin(), out.end(), 0);
  for (size_t k = 0; k < row.size(); ++k) {
    assert(row[k] >= -1 && row[k] <= 1 && "weight is not ternary");
    uint8_t code = static_cast<uint8_t>(row[k]) & 0x3; // two's complement, 2 bits
    out[k / kWeightsPerByte] |= code << (2 * (k % kWeightsPerByte));
  }
}

std::optional<int8_t> unpackTernary(llvm::ArrayRef<uint8_t> packedRow, int64_t k) {
  uint8_t code = (packedRow[k / kWeightsPerByte] >> (2 * (k % kWeightsPerByte))) & 0x3;
  if (code == 0x2)
    return std::nullopt;
  return code == 0x3 ? int8_t(-1) : int8_t(code);
}

int64_t countNonzeroCodes(llvm::ArrayRef<uint8_t> packed) {
  int64_t count = 0;
  for (uint8_t byte : packed)
    for (int shift = 0; shift < 8; shift += 2)
      count += ((byte >> shift) & 0x3) != 0;
  return count;
}

} // namespace mfc::tern
