//===- FuseGLU.cpp - silu(a) * b between ternary projections ---------------===//
//
// a * sigmoid(a) * b, a and b projections  =>  tern.glu(a, b)
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "ElementExpr.h"

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

/// `value` is the output of a ternary projection: a tern.bitlinear result, a tensor
/// computed element-wise from a tern.matmul (its rescale), or a slice (Split) or cast of one.
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
  llvm::SmallPtrSet<const ElementExpr *, 16> seen;
  return e && readsTernaryMatmul(e, seen);
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

struct FuseGLU : public mfc::tern::impl::TernFuseGLUBase<FuseGLU> {
  using Base::Base;

  void runOnOperation() override {
    forEachF32Result(getOperation(), [&](linalg::GenericOp root, Value result) { fuse(root, result); });
  }

  void fuse(linalg::GenericOp root, Value result) {
    Type type = result.getType();
    ElementExprBuilder builder;
    const ElementExpr *tree = builder.build(result);
    const ElementExpr *gate = nullptr, *value = nullptr;
    if (!tree || !matchCommutative<arith::MulFOp>(
                     tree, [&](const ElementExpr *s) { return bool(gate = matchSilu(s)); },
                     [&](const ElementExpr *v) { return isWholeTensor(value = v); }))
      return;
    auto typeOf = [](const ElementExpr *e) { return e->tensor.getType(); };
    if (!isProjection(gate->tensor) || !isProjection(value->tensor) ||
        typeOf(gate) != typeOf(value)) {
      if (remarks)
        root.emitRemark() << "not fused into tern.glu: silu(a) * b does not multiply two "
                             "ternary projections of one shape";
      return;
    }
    OpBuilder b(root);
    Value glu = GLUOp::create(b, root.getLoc(), gate->tensor.getType(), gate->tensor, value->tensor);
    if (glu.getType() != type)
      glu = tensor::CastOp::create(b, root.getLoc(), type, glu);
    if (remarks)
      root.emitRemark() << "fused into tern.glu";
    result.replaceAllUsesWith(glu);
    eraseDeadProducers({result});
  }
};
} // namespace
