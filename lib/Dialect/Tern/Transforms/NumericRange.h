//===- NumericRange.h - what is known about the values of a tensor -*- C++ -*-===//
//
// Whether a float tensor holds integers, and between which bounds: an activation that
// a quantization chain already rounded and clamped to [-128, 127] can take the exact
// int8 path of tern.matmul. The analysis reads constants and element-wise generics
// (round, min/max clamps, sitofp), a few levels deep.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_LIB_DIALECT_TERN_TRANSFORMS_NUMERICRANGE_H
#define MFC_LIB_DIALECT_TERN_TRANSFORMS_NUMERICRANGE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <cmath>

namespace mfc::tern {

/// What is known about the values of a float scalar or tensor.
struct NumericRange {
  bool integral = false;
  double lo = -INFINITY, hi = INFINITY;
  bool fitsInt8() const { return integral && lo >= -128 && hi <= 127; }
};

/// Range of every element of `tensor`: a constant, or an element-wise generic (nothing
/// known past `depth` 8).
NumericRange rangeOfTensor(mlir::Value tensor, int depth = 0);

} // namespace mfc::tern

#endif // MFC_LIB_DIALECT_TERN_TRANSFORMS_NUMERICRANGE_H
