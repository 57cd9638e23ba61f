//===- FuseElementwise.cpp - element-wise fusion with recomputation -------===//
//
// linalg element-wise fusion whose control also takes producers with several uses;
// see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDAFUSEELEMENTWISE
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
/// Inputs a fused kernel may reach by recomputing shared producers: a residual stream
/// is a chain of additions, and recomputing all of it in every consumer would make
/// kernels read every earlier layer's output (and exceed the kernel parameter space).
constexpr unsigned kMaxRecomputedInputs = 6;

/// Fuse a producer with one use always; one with several uses (recomputed) while the
/// fused op's inputs stay few.
bool shouldFuse(OpOperand *fused) {
  Operation *producer = fused->get().getDefiningOp();
  if (!producer || producer->hasOneUse())
    return true;
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  auto producerOp = dyn_cast<linalg::LinalgOp>(producer);
  return consumer && producerOp &&
         consumer.getNumDpsInputs() - 1 + producerOp.getNumDpsInputs() <= kMaxRecomputedInputs;
}

/// A fill of a tensor with several users becomes one fill per user: after
/// bufferization each user then fills its own buffer in place (a kernel the reduction
/// kernels fold away) instead of copying one shared filled buffer.
struct FillPerUse : public OpRewritePattern<linalg::FillOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::FillOp fill, PatternRewriter &rewriter) const override {
    if (!fill.hasPureTensorSemantics() || fill->hasOneUse() || fill->use_empty())
      return failure();
    SmallVector<OpOperand *> uses = llvm::map_to_vector(
        llvm::drop_begin(fill->getResult(0).getUses()), [](OpOperand &use) { return &use; });
    for (OpOperand *use : uses) {
      rewriter.setInsertionPoint(use->getOwner());
      Operation *clone = rewriter.clone(*fill);
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(clone->getResult(0)); });
    }
    return success();
  }
};

struct CUDAFuseElementwise
    : public mfc::cuda::impl::CUDAFuseElementwiseBase<CUDAFuseElementwise> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      [](OpOperand *) { return true; });
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    patterns.add<FillPerUse>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
