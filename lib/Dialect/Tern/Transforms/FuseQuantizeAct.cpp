//===- FuseQuantizeAct.cpp - absmax int8 chains into tern.quantize_act ----===//
//
// clamp(round(x * 127 / max(max_k |x|, eps)), -128, 127)  =>  sitofp(tern.quantize_act(x))
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/Transforms.h"

#include "ElementExpr.h"
#include "Utils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNFUSEQUANTIZEACT
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

bool isMax(const ElementExpr *e) { return e->is<arith::MaximumFOp, arith::MaxNumFOp>(); }
bool isMin(const ElementExpr *e) { return e->is<arith::MinimumFOp, arith::MinNumFOp>(); }

/// `e` = clamp(roundeven(m), -128, 127), as min(max(.)) or max(min(.)); returns m.
const ElementExpr *matchInt8ClampOfRound(const ElementExpr *e) {
  const ElementExpr *rounded = nullptr;
  auto bound = [](double v) { return [v](const ElementExpr *c) { return c->isConstant(v); }; };
  auto innerClamp = [&](bool innerIsMax) {
    return [&, innerIsMax](const ElementExpr *inner) {
      if (innerIsMax ? !isMax(inner) : !isMin(inner))
        return false;
      return matchCommutative<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp,
                              arith::MinNumFOp>(
          inner, bound(innerIsMax ? -128.0 : 127.0), [&](const ElementExpr *r) {
            rounded = r;
            return true;
          });
    };
  };
  bool clamped = (isMin(e) && matchCommutative<arith::MinimumFOp, arith::MinNumFOp>(
                                  e, bound(127.0), innerClamp(/*innerIsMax=*/true))) ||
                 (isMax(e) && matchCommutative<arith::MaximumFOp, arith::MaxNumFOp>(
                                  e, bound(-128.0), innerClamp(/*innerIsMax=*/false)));
  if (!clamped || !rounded->is<math::RoundEvenOp>())
    return nullptr;
  return rounded->operand(0);
}

struct QuantizeChain {
  Value input; ///< x
  Value scale; ///< s = 127 / max(absmax, eps), [..., 1]; null when internal to a body
  double eps;
};

/// Matches `m` = x * s (the operand of the clamp-of-round at the root of rank `rank`).
FailureOr<QuantizeChain> matchScaledInput(const ElementExpr *m, unsigned rank,
                                          ElementExprBuilder &builder, std::string &why) {
  const ElementExpr *x = nullptr, *s = nullptr;
  if (!matchCommutative<arith::MulFOp>(
          m, [&](const ElementExpr *e) { return (x = e)->tensor && e->map.isIdentity(); },
          [&](const ElementExpr *e) {
            // s is a per-token tensor, or computed in the same body as the product.
            return !(s = e)->tensor || isPerTokenMap(e->map, rank);
          })) {
    why = "the rounded value is not x * s with a per-token scale s";
    return failure();
  }
  // s = 127 / max(absmax, eps)
  const ElementExpr *absmax = nullptr;
  double eps = 0;
  bool scaleMatches =
      s->is<arith::DivFOp>() && s->operand(0)->isConstant(127.0) &&
      matchCommutative<arith::MaximumFOp, arith::MaxNumFOp>(
          s->operand(1), [&](const ElementExpr *e) { return (absmax = e)->kind == ElementExpr::Kind::Leaf; },
          [&](const ElementExpr *e) {
            eps = e->constant;
            return e->kind == ElementExpr::Kind::Constant && eps > 0;
          });
  if (!scaleMatches || !isPerTokenMap(absmax->map, rank)) {
    why = "the scale is not 127 / max(absmax, eps) with a positive constant eps";
    return failure();
  }
  // absmax = max over the last dim of |x|, from a start no larger than any |x|
  const ElementExpr *body = builder.buildReduction(absmax->tensor);
  std::optional<double> init = reductionInit(absmax->tensor);
  bool reducesAbsX = body && isMax(body) &&
                     matchCommutative<arith::MaximumFOp, arith::MaxNumFOp>(
                         body, [](const ElementExpr *e) { return e->kind == ElementExpr::Kind::Accumulator; },
                         [&](const ElementExpr *e) {
                           return e->is<math::AbsFOp>() && e->operand(0)->isElementOf(x->tensor);
                         });
  if (!reducesAbsX || !init || *init > 0) {
    why = "absmax is not a max over the last dim of |x| starting from 0";
    return failure();
  }
  return QuantizeChain{x->tensor, s->tensor, eps};
}

} // namespace

FailureOr<QuantizeActOp> mfc::tern::fuseQuantizeAct(RewriterBase &rewriter,
                                                   linalg::GenericOp root) {
  if (root->getNumResults() != 1)
    return failure();
  Value result = root->getResult(0);
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.getElementType().isF32())
    return failure();
  ElementExprBuilder builder;
  const ElementExpr *tree = builder.build(result);
  const ElementExpr *scaled = tree ? matchInt8ClampOfRound(tree) : nullptr;
  if (!scaled)
    return failure(); // not a candidate
  std::string why;
  FailureOr<QuantizeChain> chain = matchScaledInput(scaled, type.getRank(), builder, why);
  SmallVector<Value> replaced;
  if (succeeded(chain) && chain->scale)
    replaced.push_back(chain->scale);
  if (succeeded(chain) && escapingValue(chainOf(result, {chain->input}), result, replaced))
    why = "an intermediate value of the chain has a user outside it";
  if (!why.empty())
    return rewriter.notifyMatchFailure(root, why);
  Value x = chain->input, s = chain->scale;
  auto xType = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> tokenShape(xType.getShape());
  tokenShape.back() = 1;
  // Before the scale's producer (or the root): x is available there and every user of s
  // comes later.
  rewriter.setInsertionPoint(s ? s.getDefiningOp() : root.getOperation());
  Location loc = root.getLoc();
  auto quant = QuantizeActOp::create(
      rewriter, loc, RankedTensorType::get(xType.getShape(), rewriter.getI8Type()),
      RankedTensorType::get(tokenShape, rewriter.getF32Type()), x,
      rewriter.getF32FloatAttr(chain->eps));
  rewriter.setInsertionPoint(root);
  Value values = mapElements(rewriter, loc, quant.getQuantized(), rewriter.getF32Type(),
                             [](OpBuilder &nb, Location l, Value q) -> Value {
                               return arith::SIToFPOp::create(nb, l, nb.getF32Type(), q);
                             },
                             /*sizedLike=*/x);
  auto castTo = [&](Value v, Type t) -> Value {
    return v.getType() == t ? v : tensor::CastOp::create(rewriter, loc, t, v).getResult();
  };
  rewriter.replaceAllUsesWith(result, castTo(values, result.getType()));
  if (s) {
    rewriter.setInsertionPointAfter(quant);
    rewriter.replaceAllUsesWith(s, castTo(quant.getScale(), s.getType()));
  }
  replaced.push_back(result);
  eraseDeadProducers(rewriter, replaced);
  return quant;
}

void mfc::tern::populateFuseQuantizeActPatterns(RewritePatternSet &patterns) {
  patterns.add<FusionPattern<linalg::GenericOp, fuseQuantizeAct>>(patterns.getContext());
}

namespace {
struct FuseQuantizeAct : public mfc::tern::impl::TernFuseQuantizeActBase<FuseQuantizeAct> {
  using Base::Base;

  void runOnOperation() override {
    RemarkListener listener("not fused into tern.quantize_act: ", remarks, [](Operation *op) {
      if (auto quant = dyn_cast<QuantizeActOp>(op))
        mlir::emitRemark(quant.getLoc()) << "fused into tern.quantize_act (eps = "
                           << double(quant.getEps().convertToFloat()) << ")";
    });
    RewritePatternSet patterns(&getContext());
    populateFuseQuantizeActPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns), &listener);
  }
};
} // namespace
