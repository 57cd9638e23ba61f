//===- LoopAnalysis.cpp - what the HLS passes ask of a loop ---------------===//
#include "LoopAnalysis.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;

void mfc::hls::forEachAccess(Operation *op,
                             function_ref<void(Operation *, Value, ValueRange)> access) {
  op->walk([&](Operation *inner) {
    if (auto load = dyn_cast<memref::LoadOp>(inner))
      access(inner, load.getMemRef(), load.getIndices());
    else if (auto store = dyn_cast<memref::StoreOp>(inner))
      access(inner, store.getMemRef(), store.getIndices());
  });
}

bool mfc::hls::hasIndependentIterations(scf::ForOp loop) {
  bool sideEffects = loop.getBody()
                         ->walk([](Operation *op) {
                           bool access = isa<memref::LoadOp, memref::StoreOp>(op);
                           return !access && op->getNumRegions() == 0 && !isMemoryEffectFree(op)
                                      ? WalkResult::interrupt()
                                      : WalkResult::advance();
                         })
                         .wasInterrupted();
  if (sideEffects || loop.getNumResults() != 0)
    return false;
  Value iv = loop.getInductionVar();
  // Per buffer, the dims every access indexes with `iv`.
  llvm::MapVector<Value, llvm::SmallBitVector> ivDims;
  llvm::SetVector<Value> written;
  forEachAccess(loop, [&](Operation *op, Value buffer, ValueRange indices) {
    if (isa<memref::StoreOp>(op))
      written.insert(buffer);
    llvm::SmallBitVector dims(indices.size());
    for (auto [dim, index] : llvm::enumerate(indices))
      dims[dim] = index == iv;
    auto [it, inserted] = ivDims.try_emplace(buffer, dims);
    if (!inserted)
      it->second &= dims;
  });
  return llvm::all_of(written, [&](Value buffer) { return ivDims[buffer].any(); });
}

bool mfc::hls::movesIn(Value index, scf::ForOp loop) {
  if (auto arg = dyn_cast<BlockArgument>(index))
    return loop->isAncestor(arg.getOwner()->getParentOp());
  Operation *def = index.getDefiningOp();
  return loop->isAncestor(def) &&
         llvm::any_of(def->getOperands(), [&](Value operand) { return movesIn(operand, loop); });
}
