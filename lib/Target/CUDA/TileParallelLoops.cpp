//===- TileParallelLoops.cpp - parallel loops into thread blocks ----------===//
//
// outermost scf.parallel over (..., n) => blocks over (..., n / threads), threads within
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDATILEPARALLELLOOPS
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
struct CUDATileParallelLoops
    : public mfc::cuda::impl::CUDATileParallelLoopsBase<CUDATileParallelLoops> {
  using Base::Base;

  void runOnOperation() override {
    if (threads < 1) {
      getOperation().emitError("threads must be positive");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      SmallVector<int64_t> tileSizes(loop.getNumLoops(), 1);
      tileSizes.back() = threads;
      scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/false);
    }
  }
};
} // namespace
