//===- StridedCopyToLoops.cpp - strided memref.copy to linalg.copy --------===//
#include "mfc/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc {
#define GEN_PASS_DEF_STRIDEDCOPYTOLOOPS
#include "Conversion/Passes.h.inc"
} // namespace mfc

using namespace mlir;

namespace {
struct StridedCopyPattern : public OpRewritePattern<memref::CopyOp> {
  StridedCopyPattern(MLIRContext *context, bool all)
      : OpRewritePattern(context), all(all) {}

  LogicalResult matchAndRewrite(memref::CopyOp op, PatternRewriter &rewriter) const override {
    auto contiguous = [](Value v) {
      auto type = dyn_cast<MemRefType>(v.getType());
      return type && type.getLayout().isIdentity();
    };
    if (!all && contiguous(op.getSource()) && contiguous(op.getTarget()))
      return rewriter.notifyMatchFailure(op, "both sides are contiguous: memcpy");
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(), op.getTarget());
    return success();
  }

  bool all;
};

struct StridedCopyToLoops : public mfc::impl::StridedCopyToLoopsBase<StridedCopyToLoops> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<StridedCopyPattern>(&getContext(), all);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace
