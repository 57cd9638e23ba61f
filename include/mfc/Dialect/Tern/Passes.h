//===- Passes.h - tern passes -----------------------------------*- C++ -*-===//
#ifndef MFC_DIALECT_TERN_PASSES_H
#define MFC_DIALECT_TERN_PASSES_H

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace mfc::tern {

/// The rewrites of tern-normalize-elementwise (x + (y - x) => y, x + 0 => x,
/// a * (1 / b) => a / b on element-wise generics).
void populateNormalizeElementwisePatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_DECL
#include "Tern/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Tern/Passes.h.inc"

} // namespace mfc::tern

#endif // MFC_DIALECT_TERN_PASSES_H
