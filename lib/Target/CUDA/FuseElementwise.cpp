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
struct CUDAFuseElementwise
    : public mfc::cuda::impl::CUDAFuseElementwiseBase<CUDAFuseElementwise> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn always = [](OpOperand *) { return true; };
    linalg::populateElementwiseOpsFusionPatterns(patterns, always);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, always);
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
