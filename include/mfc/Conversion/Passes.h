//===- Passes.h - mfc conversion passes -------------------------*- C++ -*-===//
#ifndef MFC_CONVERSION_PASSES_H
#define MFC_CONVERSION_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mfc {

#define GEN_PASS_DECL
#include "Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Conversion/Passes.h.inc"

/// Whether mfc-split-reductions splits a reduced dim of `size` into `partials`: a static
/// multiple of them, larger than them.
inline bool splitsReducedDim(int64_t size, int64_t partials) {
  return !mlir::ShapedType::isDynamic(size) && size > partials && size % partials == 0;
}

/// The combiner (addf, maximumf, minimumf, maxnumf, minnumf) of `op` when
/// mfc-split-reductions splits it into `partials` strided partials: one input reduced
/// in loop order over its last dim, a static multiple of `partials` larger than them;
/// null otherwise.
mlir::Operation *splittableReduction(mlir::linalg::GenericOp op, int64_t partials);

/// A hash of the ops nested in `region`, in walk order: each op's name, attributes and
/// types, values by position only, locations ignored (equal for regions that
/// OperationEquivalence finds equivalent).
llvm::hash_code structuralHash(mlir::Region &region);

/// What mfc-merge-equivalent-functions does: each private function whose type,
/// attributes (the name aside) and body equal an earlier one's is erased and its uses name
/// that one. Returns how many were erased.
unsigned mergeEquivalentFunctions(mlir::ModuleOp module);

} // namespace mfc

#endif // MFC_CONVERSION_PASSES_H
