//===- LoopAnalysis.h - what the HLS passes ask of a loop -------*- C++ -*-===//
#ifndef MFC_LIB_TARGET_HLS_LOOPANALYSIS_H
#define MFC_LIB_TARGET_HLS_LOOPANALYSIS_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mfc::hls {

/// Calls `access(op, buffer, indices)` for each memref.load and memref.store in `op`.
void forEachAccess(mlir::Operation *op,
                   llvm::function_ref<void(mlir::Operation *, mlir::Value, mlir::ValueRange)>
                       access);

/// Whether the iterations of `loop` touch disjoint memory: each buffer it writes is
/// accessed in it only with the induction variable as the index of one dim, and nothing
/// else in it has a side effect. Then its iterations may run side by side (unrolled,
/// or jammed with the loops inside) and compute what running them in order does.
bool hasIndependentIterations(mlir::scf::ForOp loop);

/// Whether `index` changes from one iteration of `loop` to the next: it is computed in
/// the loop from an induction variable of the loop or of one nested in it.
bool movesIn(mlir::Value index, mlir::scf::ForOp loop);

} // namespace mfc::hls

#endif // MFC_LIB_TARGET_HLS_LOOPANALYSIS_H
