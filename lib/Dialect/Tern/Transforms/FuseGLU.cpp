//===- FuseGLU.cpp - silu(a) * b between ternary projections ---------------===//
//
// a * sigmoid(a) * b, a and b projections  =>  tern.glu(a, b)
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/Transforms.h"

#include "ElementExpr.h"
#include "Utils.h"

#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNFUSEGLU
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

/// `e` reads the result of a tern.matmul somewhere in its tree.
bool readsTernaryMatmul(const ElementExpr *e, llvm::SmallPtrSetImpl<const ElementExpr *> &seen) {
  if (!seen.insert(e).second)
    return false;
  if (e->kind == ElementExpr::Kind::Leaf)
    return bool(e->tensor.getDefiningOp<MatmulOp>());
  return llvm::any_of(e->operands, [&](const ElementExpr *operand) {
    return readsTernaryMatmul(operand, seen);
  });
}

/// `e` is a tern.matmul result rescaled: converted and multiplied or divided by factors
/// that read no other tern.matmul (sitofp(acc) * a / s). `1 - sigmoid(acc)` is not.
bool isRescaledMatmul(const ElementExpr *e) {
  llvm::SmallPtrSet<const ElementExpr *, 16> seen;
  auto free = [&](const ElementExpr *f) {
    seen.clear();
    return !readsTernaryMatmul(f, seen);
  };
  if (e->kind == ElementExpr::Kind::Leaf)
    return bool(e->tensor.getDefiningOp<MatmulOp>());
  if (e->is<arith::SIToFPOp>())
    return isRescaledMatmul(e->operand(0));
  if (e->is<arith::DivFOp>())
    return isRescaledMatmul(e->operand(0)) && free(e->operand(1));
  return matchCommutative<arith::MulFOp>(e, isRescaledMatmul, free);
}

/// `value` is the output of a ternary projection: a tern.bitlinear result, a rescaled
/// tern.matmul, or a slice (Split) or cast of one.
bool isProjection(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
      value = slice.getSource();
    else if (auto cast = dyn_cast<tensor::CastOp>(op))
      value = cast.getSource();
    else
      break;
  }
  if (value.getDefiningOp<BitLinearOp>() || value.getDefiningOp<MatmulOp>())
    return true;
  ElementExprBuilder builder;
  const ElementExpr *e = builder.build(value);
  return e && isRescaledMatmul(e);
}

bool isWholeTensor(const ElementExpr *e) { return e->tensor && e->map.isIdentity(); }

/// silu(a) = a * sigmoid(a); returns a.
const ElementExpr *matchSilu(const ElementExpr *e) {
  const ElementExpr *a = nullptr;
  bool matched = matchCommutative<arith::MulFOp>(
      e, [&](const ElementExpr *x) { return isWholeTensor(a = x); },
      [&](const ElementExpr *s) { return matchSigmoid(s) == a; });
  return matched ? a : nullptr;
}

} // namespace

FailureOr<GLUOp> mfc::tern::fuseGLU(RewriterBase &rewriter, linalg::GenericOp root) {
  if (root->getNumResults() != 1)
    return failure();
  Value result = root->getResult(0);
  Type type = result.getType();
  ElementExprBuilder builder;
  const ElementExpr *tree = builder.build(result);
  const ElementExpr *gate = nullptr, *value = nullptr;
  if (!tree || !matchCommutative<arith::MulFOp>(
                   tree, [&](const ElementExpr *s) { return bool(gate = matchSilu(s)); },
                   [&](const ElementExpr *v) { return isWholeTensor(value = v); }))
    return failure(); // not a candidate
  auto typeOf = [](const ElementExpr *e) { return e->tensor.getType(); };
  if (!isProjection(gate->tensor) || !isProjection(value->tensor) || typeOf(gate) != typeOf(value))
    return rewriter.notifyMatchFailure(
        root, "silu(a) * b does not multiply two ternary projections of one shape");
  rewriter.setInsertionPoint(root);
  auto glu = GLUOp::create(rewriter, root.getLoc(), gate->tensor.getType(), gate->tensor,
                           value->tensor);
  Value replacement = glu;
  if (replacement.getType() != type)
    replacement = tensor::CastOp::create(rewriter, root.getLoc(), type, replacement);
  rewriter.replaceAllUsesWith(result, replacement);
  eraseDeadProducers(rewriter, {result});
  return glu;
}

void mfc::tern::populateFuseGLUPatterns(RewritePatternSet &patterns) {
  patterns.add<FusionPattern<linalg::GenericOp, fuseGLU>>(patterns.getContext());
}

namespace {
struct FuseGLU : public mfc::tern::impl::TernFuseGLUBase<FuseGLU> {
  using Base::Base;

  void runOnOperation() override {
    RemarkListener listener("not fused into tern.glu: ", remarks, [](Operation *op) {
      if (isa<GLUOp>(op))
        mlir::emitRemark(op->getLoc()) << "fused into tern.glu";
    });
    RewritePatternSet patterns(&getContext());
    populateFuseGLUPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns), &listener);
  }
};
} // namespace
