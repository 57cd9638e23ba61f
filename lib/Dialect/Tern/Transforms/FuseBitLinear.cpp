//===- FuseBitLinear.cpp - RMSNorm + quantize + matmul + rescale ----------===//
//
// q, s = tern.quantize_act(rmsnorm(x) * n); sitofp(tern.matmul(q, W)) * a / s
//   => tern.bitlinear(x, n, W, a)
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/Transforms.h"

#include "ElementExpr.h"
#include "Utils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNFUSEBITLINEAR
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

using Kind = ElementExpr::Kind;

/// A float32 vector read per feature of a rank-`rank` root, when `e` is one.
Value perFeatureVector(const ElementExpr *e, unsigned rank, int64_t size) {
  if (!e->tensor || e->kind == Kind::Op || !isPerFeatureMap(e->map, rank))
    return nullptr;
  auto type = cast<RankedTensorType>(e->tensor.getType());
  if (type.getRank() != 1 || !type.getElementType().isF32() || type.getDimSize(0) != size)
    return nullptr;
  return e->tensor;
}

struct RMSNorm {
  Value input;
  Value weight; ///< null: no weight (n = 1)
  double eps;
};

/// x / sqrt(mean(x^2) + eps) * n, or x * rsqrt(..) * n, over the last dim.
FailureOr<RMSNorm> matchRMSNorm(Value normed, std::string &why) {
  auto type = cast<RankedTensorType>(normed.getType());
  unsigned rank = type.getRank();
  int64_t k = type.getShape().back();
  ElementExprBuilder builder;
  const ElementExpr *e = builder.build(normed);
  why = "the quantized activation is not an RMSNorm over its last dim";
  if (!e || ShapedType::isDynamic(k))
    return failure();
  RMSNorm norm{};
  const ElementExpr *normalized = e;
  matchCommutative<arith::MulFOp>(
      e, [&](const ElementExpr *w) { return bool(norm.weight = perFeatureVector(w, rank, k)); },
      [&](const ElementExpr *rest) {
        normalized = rest;
        return true;
      });
  // x / sqrt(ms + eps) | x * rsqrt(ms + eps)
  const ElementExpr *x = nullptr, *shifted = nullptr;
  auto isInput = [&](const ElementExpr *v) { return (x = v)->tensor && v->map.isIdentity(); };
  if (normalized->is<arith::DivFOp>() && isInput(normalized->operand(0)) &&
      normalized->operand(1)->is<math::SqrtOp>()) {
    shifted = normalized->operand(1)->operand(0);
  } else if (!matchCommutative<arith::MulFOp>(normalized, isInput, [&](const ElementExpr *r) {
               return r->is<math::RsqrtOp>() && (shifted = r->operand(0));
             })) {
    return failure();
  }
  // ms + eps, ms = sum / K | sum * (1/K); or ms alone (eps = 0: torch's dynamo exporter
  // drops an epsilon below 1e-7 as a no-op addition)
  const ElementExpr *meanSquare = shifted;
  norm.eps = 0;
  matchCommutative<arith::AddFOp>(
      shifted, [&](const ElementExpr *m) { return bool(meanSquare = m); },
      [&](const ElementExpr *c) {
        norm.eps = c->constant;
        return c->kind == Kind::Constant && c->constant > 0;
      });
  if (norm.eps <= 0)
    meanSquare = shifted;
  const ElementExpr *sum = nullptr;
  bool isMean =
      (meanSquare->is<arith::DivFOp>() && meanSquare->operand(1)->isConstant(double(k)) &&
       (sum = meanSquare->operand(0))) ||
      matchCommutative<arith::MulFOp>(
          meanSquare, [&](const ElementExpr *s) { return bool(sum = s); },
          [&](const ElementExpr *c) { return c->isConstant(double(1.0f / float(k))); });
  if (!isMean || sum->kind != Kind::Leaf || !isPerTokenMap(sum->map, rank))
    return failure();
  // sum = reduce_add over the last dim of x*x | x^2, from 0
  const ElementExpr *body = builder.buildReduction(sum->tensor);
  std::optional<double> init = reductionInit(sum->tensor);
  auto isSquareOfX = [&](const ElementExpr *sq) {
    if (sq->is<arith::MulFOp>())
      return sq->operand(0) == sq->operand(1) && sq->operand(0)->isElementOf(x->tensor);
    return sq->is<math::PowFOp>() && sq->operand(1)->isConstant(2.0) &&
           sq->operand(0)->isElementOf(x->tensor);
  };
  if (!body || !init || *init != 0.0 ||
      !matchCommutative<arith::AddFOp>(
          body, [](const ElementExpr *acc) { return acc->kind == Kind::Accumulator; },
          isSquareOfX))
    return failure();
  // Parts of the norm may be shared (CSE merges the norms of projections reading the same
  // x): the fused op recomputes them, O(K) per token next to the O(N*K) product.
  norm.input = x->tensor;
  why.clear();
  return norm;
}

struct Rescale {
  MatmulOp matmul;
  Value weightScale; ///< tensor<1xf32> or tensor<Nxf32>; null: build one from `scalar`
  double scalar = 1.0;
};

/// sitofp(tern.matmul(q, W)) [* a] / s at the root of rank `rank`, s the scale of `quant`.
FailureOr<Rescale> matchRescale(Value root, QuantizeActOp quant, std::string &why) {
  auto type = cast<RankedTensorType>(root.getType());
  unsigned rank = type.getRank();
  ElementExprBuilder builder;
  const ElementExpr *e = builder.build(root);
  if (!e || !e->is<arith::DivFOp>())
    return failure();
  const ElementExpr *s = e->operand(1), *product = e->operand(0);
  if (s->kind != Kind::Leaf || s->tensor != quant.getScale() || !isPerTokenMap(s->map, rank))
    return failure(); // not a dequantization by this scale: not a candidate
  why = "the dequantized value is not sitofp(tern.matmul(q, W)) * a of the quantized q";
  Rescale rescale{};
  auto isAccumulator = [&](const ElementExpr *c) {
    if (!c->is<arith::SIToFPOp>() || c->operand(0)->kind != Kind::Leaf ||
        !c->operand(0)->map.isIdentity())
      return false;
    rescale.matmul = c->operand(0)->tensor.getDefiningOp<MatmulOp>();
    return rescale.matmul && rescale.matmul.getInput() == quant.getQuantized();
  };
  if (!isAccumulator(product) &&
      !matchCommutative<arith::MulFOp>(product, isAccumulator, [&](const ElementExpr *a) {
        int64_t n = type.getShape().back();
        if (a->kind == Kind::Constant) {
          rescale.scalar = a->constant;
          return true;
        }
        rescale.weightScale = perFeatureVector(a, rank, n);
        return rescale.weightScale && matchPattern(rescale.weightScale, m_Constant());
      }))
    return failure();
  SmallVector<Value> boundaries{rescale.matmul.getTensorResult(), quant.getScale()};
  llvm::DenseSet<Operation *> chain = chainOf(root, boundaries);
  // Every value between the quantization and the rescale feeds this rescale alone, or the
  // quantization would stay alive next to the fused op.
  if (!quant.getQuantized().hasOneUse() || !rescale.matmul->hasOneUse() ||
      escapingValue(chain, root, {}) ||
      !llvm::all_of(quant.getScale().getUsers(),
                    [&](Operation *user) { return chain.contains(user); })) {
    why = "a value between the quantization and the rescale has a user outside the chain";
    return failure();
  }
  why.clear();
  return rescale;
}

} // namespace

FailureOr<BitLinearOp> mfc::tern::fuseBitLinear(RewriterBase &rewriter, QuantizeActOp quant,
                                               linalg::GenericOp root) {
  if (root->getNumResults() != 1)
    return failure();
  std::string why;
  FailureOr<Rescale> rescale = matchRescale(root->getResult(0), quant, why);
  if (failed(rescale))
    return why.empty() ? failure() : rewriter.notifyMatchFailure(root, why);
  FailureOr<RMSNorm> norm = matchRMSNorm(quant.getInput(), why);
  if (failed(norm))
    return rewriter.notifyMatchFailure(root, why);
  rewriter.setInsertionPoint(root);
  Location loc = rescale->matmul.getLoc();
  auto inputType = cast<RankedTensorType>(norm->input.getType());
  int64_t k = inputType.getShape().back();
  Value normWeight = norm->weight;
  if (!normWeight)
    normWeight = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({k}, rewriter.getF32Type()), 1.0f));
  Value weightScale = rescale->weightScale;
  if (!weightScale)
    weightScale = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({1}, rewriter.getF32Type()),
                               float(rescale->scalar)));
  Value result = root->getResult(0);
  auto resultType = cast<RankedTensorType>(result.getType());
  Value weights = rescale->matmul.getWeights();
  PackedAttr layout = rescale->matmul.getLayout();
  Value init = emptyProductInit(rewriter, loc, norm->input, weights, layout,
                                rewriter.getF32Type());
  auto fused = BitLinearOp::create(rewriter, loc, norm->input, normWeight, weights, weightScale,
                                   init, rewriter.getF32FloatAttr(norm->eps), quant.getEpsAttr(),
                                   layout);
  Value replacement = fused.getTensorResult();
  if (replacement.getType() != resultType)
    replacement = tensor::CastOp::create(rewriter, loc, resultType, replacement);
  rewriter.replaceAllUsesWith(result, replacement);
  eraseDeadProducers(rewriter, {result});
  return fused;
}

namespace {
/// Rooted at the rescale: a generic reading the scale of a tern.quantize_act.
struct FuseBitLinearPattern : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp root, PatternRewriter &rewriter) const override {
    for (Value input : root.getDpsInputs())
      if (auto quant = input.getDefiningOp<QuantizeActOp>();
          quant && input == quant.getScale())
        return fuseBitLinear(rewriter, quant, root);
    return failure();
  }
};

struct FuseBitLinear : public mfc::tern::impl::TernFuseBitLinearBase<FuseBitLinear> {
  using Base::Base;

  void runOnOperation() override {
    RemarkListener listener("not fused into tern.bitlinear: ", remarks, [](Operation *op) {
      if (auto fused = dyn_cast<BitLinearOp>(op))
        mlir::emitRemark(fused.getLoc()) << "fused into tern.bitlinear (RMSNorm eps = "
                           << double(fused.getEps().convertToFloat()) << ", "
                           << (isOneSplat(fused.getNormWeight()) ? "without" : "with")
                           << " norm weight)";
    });
    RewritePatternSet patterns(&getContext());
    populateFuseBitLinearPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns), &listener);
  }

  static bool isOneSplat(Value v) {
    DenseElementsAttr attr;
    return matchPattern(v, m_Constant(&attr)) && attr.isSplat() &&
           attr.getSplatValue<float>() == 1.0f;
  }
};
} // namespace

void mfc::tern::populateFuseBitLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseBitLinearPattern>(patterns.getContext());
}
