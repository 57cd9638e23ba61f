//===- TileParallelLoops.cpp - parallel loops into thread blocks ----------===//
//
// outermost scf.parallel over (..., n) => blocks over (..., n / threads), threads within
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "KernelBuilding.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDATILEPARALLELLOOPS
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
/// `loop`'s dims on `processors` in order (dims past them sequential).
LogicalResult mapLoop(scf::ParallelOp loop, ArrayRef<gpu::Processor> processors) {
  MLIRContext *ctx = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  for (unsigned d = 0; d < loop.getNumLoops(); ++d)
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(
        ctx, d < processors.size() ? processors[d] : gpu::Processor::Sequential, identity,
        identity));
  return gpu::setMappingAttr(loop, mapping);
}

struct CUDATileParallelLoops
    : public mfc::cuda::impl::CUDATileParallelLoopsBase<CUDATileParallelLoops> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(mfc::cuda::checkThreadsPerBlock(getOperation(), "mfc-cuda-tile-parallel-loops",
                                               threads)))
      return signalPassFailure();
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    using gpu::Processor;
    for (scf::ParallelOp loop : outermost) {
      unsigned rank = loop.getNumLoops();
      SmallVector<int64_t> tileSizes(rank, 1);
      tileSizes.back() = threads;
      auto [blocks, inTile] = scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/false);
      // Tiles of the innermost dim on block x (up to 2^31 - 1), the next dims on y and z,
      // the rest sequential; within a tile, the innermost dim on thread x.
      SmallVector<Processor> blockDims(rank, Processor::Sequential);
      blockDims[rank - 1] = Processor::BlockX;
      if (rank >= 2)
        blockDims[rank - 2] = Processor::BlockY;
      if (rank >= 3)
        blockDims[rank - 3] = Processor::BlockZ;
      SmallVector<Processor> threadDims(rank, Processor::Sequential);
      threadDims[rank - 1] = Processor::ThreadX;
      if (failed(mapLoop(blocks, blockDims)) || failed(mapLoop(inTile, threadDims)))
        return signalPassFailure();
      // Parallel loops nested in a kernel run sequentially in each thread.
      inTile.getBody()->walk([&](scf::ParallelOp nested) {
        (void)mapLoop(nested, {});
      });
    }
    // Fold the tile sizes into the thread loops' bounds min(threads, n - j), so that they
    // have the static upper bound a launch needs. Not a full canonicalization: that
    // would inline loops of one iteration and leave their bodies on the host.
    RewritePatternSet patterns(&getContext());
    affine::AffineMinOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
