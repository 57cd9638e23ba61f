//===- ExpandOps.cpp - tern ops other than tern.matmul to linalg/scf ------===//
//
// tern.bitlinear    => rms norm, tern.quantize_act, tern.matmul, rescale
// tern.quantize_act => per-token absmax reduction, scale, round/clamp to int8
// tern.mlgru_scan   => scf.for over the sequence with an element-wise step
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/Transforms.h"

#include "Utils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNEXPANDOPS
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {
Value fconst(OpBuilder &b, Location loc, Type type, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
}

/// 1 / (1 + exp(-v)), as the importer writes ONNX Sigmoid.
Value sigmoid(OpBuilder &b, Location loc, Value v) {
  Value one = fconst(b, loc, v.getType(), 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

/// v * sigmoid(v)
Value silu(OpBuilder &b, Location loc, Value v) {
  return arith::MulFOp::create(b, loc, v, sigmoid(b, loc, v));
}

} // namespace

std::pair<Value, Value> mfc::tern::buildMLGRUGates(OpBuilder &b, Location loc, Value candidate,
                                                   Value forget, Value lowerBound, bool ungated) {
  if (ungated) // h = f * h + c
    return {forget, candidate};
  Value one = fconst(b, loc, candidate.getType(), 1.0);
  Value f = sigmoid(b, loc, forget);
  if (lowerBound) // lb + (1 - lb) * f
    f = arith::AddFOp::create(
        b, loc, lowerBound,
        arith::MulFOp::create(b, loc, arith::SubFOp::create(b, loc, one, lowerBound), f));
  Value c = arith::MulFOp::create(b, loc, silu(b, loc, candidate),
                                  arith::SubFOp::create(b, loc, one, f));
  return {f, c};
}

Value mfc::tern::buildMLGRUStep(OpBuilder &b, Location loc, Value candidate, Value forget,
                                Value state, Value lowerBound, bool ungated) {
  auto [f, c] = buildMLGRUGates(b, loc, candidate, forget, lowerBound, ungated);
  return arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, f, state), c);
}

namespace {
/// sum or max over the last dim of `x`, kept as a size-1 dim.
Value reduceLastDim(OpBuilder &b, Location loc, Value x, double init, ScalarFn combine) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = 1;
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < rank; ++d)
    outExprs.push_back(d == rank - 1 ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(d));
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              AffineMap::get(rank, 0, outExprs, b.getContext())};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return generic(b, loc, RankedTensorType::get(shape, type.getElementType()), x, x, maps,
                 iterators, init, combine);
}

struct ExpandQuantizeAct : public OpRewritePattern<QuantizeActOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeActOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    Type f = type.getElementType();
    int64_t rank = type.getRank();
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    Value absmax = reduceLastDim(b, loc, x, 0.0, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return arith::MaximumFOp::create(nb, l, math::AbsFOp::create(nb, l, a[0]), a[1]);
    });
    double eps = op.getEps().convertToDouble();
    auto scaleType = cast<RankedTensorType>(op.getScale().getType());
    Value scale = generic(b, loc, scaleType, absmax, absmax,
                          elementwiseMaps(b.getContext(), rank, {Operand::Full}), parallel,
                          std::nullopt, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            Value floor = arith::MaximumFOp::create(nb, l, a[0], fconst(nb, l, f, eps));
                            return arith::DivFOp::create(nb, l, fconst(nb, l, f, 127.0), floor);
                          });
    Value q = generic(b, loc, cast<RankedTensorType>(op.getQuantized().getType()), x,
                      ValueRange{x, scale},
                      elementwiseMaps(b.getContext(), rank, {Operand::Full, Operand::PerToken}),
                      parallel, std::nullopt, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value v = math::RoundEvenOp::create(nb, l, arith::MulFOp::create(nb, l, a[0], a[1]));
                        v = arith::MaximumFOp::create(nb, l, v, fconst(nb, l, f, -128.0));
                        v = arith::MinimumFOp::create(nb, l, v, fconst(nb, l, f, 127.0));
                        return arith::FPToSIOp::create(nb, l, nb.getI8Type(), v);
                      });
    b.replaceOp(op, {q, scale});
    return success();
  }
};

struct ExpandBitLinear : public OpRewritePattern<BitLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BitLinearOp op, PatternRewriter &b) const override {
    if (!op.hasPureTensorSemantics())
      return b.notifyMatchFailure(op, "expands on tensors");
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    Type f = type.getElementType();
    int64_t rank = type.getRank(), k = type.getShape().back();
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    MLIRContext *ctx = b.getContext();
    // x / sqrt(mean(x^2) + eps) * n, as RMSNorm is written in ONNX (and the numpy reference)
    Value sumSquares = reduceLastDim(b, loc, x, 0.0, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, a[0], a[0]), a[1]);
    });
    double eps = op.getEps().convertToDouble();
    Value normed = generic(
        b, loc, type, x, ValueRange{x, sumSquares, op.getNormWeight()},
        elementwiseMaps(ctx, rank, {Operand::Full, Operand::PerToken, Operand::PerFeature}),
        parallel, std::nullopt, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value mean = arith::DivFOp::create(nb, l, a[1], fconst(nb, l, f, double(k)));
          Value rms = math::SqrtOp::create(nb, l, arith::AddFOp::create(nb, l, mean, fconst(nb, l, f, eps)));
          return arith::MulFOp::create(nb, l, arith::DivFOp::create(nb, l, a[0], rms), a[2]);
        });
    SmallVector<int64_t> tokenShape(type.getShape());
    tokenShape.back() = 1;
    auto quant = QuantizeActOp::create(b, loc, RankedTensorType::get(type.getShape(), b.getI8Type()),
                                       RankedTensorType::get(tokenShape, f), normed,
                                       op.getActEpsAttr());
    auto resultType = cast<RankedTensorType>(op.getTensorResult().getType());
    Value acc = createMatmul(b, loc, quant.getQuantized(), op.getWeights(), b.getI32Type(),
                             op.getLayout())
                    .getTensorResult();
    // acc * a / s_x, once per output element
    bool perChannel = cast<RankedTensorType>(op.getWeightScale().getType()).getDimSize(0) != 1;
    SmallVector<AffineMap> maps = elementwiseMaps(
        ctx, rank, {Operand::Full, Operand::PerToken, perChannel ? Operand::PerFeature : Operand::Full});
    if (!perChannel)
      maps[2] = AffineMap::get(rank, 0, b.getAffineConstantExpr(0));
    Value y = generic(b, loc, resultType, acc, ValueRange{acc, quant.getScale(), op.getWeightScale()},
                      maps, parallel, std::nullopt,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value sum = arith::SIToFPOp::create(nb, l, f, a[0]);
                        return arith::DivFOp::create(nb, l, arith::MulFOp::create(nb, l, sum, a[2]), a[1]);
                      });
    b.replaceOp(op, y);
    return success();
  }
};

struct ExpandMLGRUScan : public OpRewritePattern<MLGRUScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MLGRUScanOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value candidate = op.getCandidate(), forget = op.getForget(), lowerBound = op.getLowerBound();
    bool ungated = op.getUngated();
    auto seqType = cast<RankedTensorType>(candidate.getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    Type f = seqType.getElementType();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value length = tensor::DimOp::create(b, loc, candidate, 1);
    auto hiddenType = cast<RankedTensorType>(op.getHidden().getType());
    Value hidden = emptyLike(b, loc, candidate, hiddenType.getShape(), f);
    auto loop = scf::ForOp::create(
        b, loc, zero, length, one, ValueRange{op.getInitialState(), hidden},
        [&](OpBuilder &lb, Location l, Value t, ValueRange carried) {
          auto stepSlice = [&](Value seq) {
            SmallVector<OpFoldResult> offsets{lb.getIndexAttr(0), t, lb.getIndexAttr(0)};
            SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(lb, l, seq);
            sizes[1] = lb.getIndexAttr(1);
            SmallVector<OpFoldResult> strides(3, lb.getIndexAttr(1));
            return std::make_tuple(offsets, sizes, strides);
          };
          auto [offsets, sizes, strides] = stepSlice(candidate);
          auto stepType = RankedTensorType::get({seqType.getDimSize(0), seqType.getDimSize(2)}, f);
          Value i = tensor::ExtractSliceOp::create(lb, l, stepType, candidate, offsets, sizes, strides);
          Value fPre = tensor::ExtractSliceOp::create(lb, l, stepType, forget, offsets, sizes, strides);
          SmallVector<Value> inputs{i, fPre, carried[0]};
          SmallVector<Operand> kinds{Operand::Full, Operand::Full, Operand::Full};
          if (lowerBound) {
            inputs.push_back(lowerBound);
            kinds.push_back(Operand::PerFeature);
          }
          Value h = generic(
              lb, l, stateType, carried[0], inputs, elementwiseMaps(lb.getContext(), 2, kinds),
              {utils::IteratorType::parallel, utils::IteratorType::parallel}, std::nullopt,
              [&](OpBuilder &nb, Location el, ValueRange a) -> Value {
                return buildMLGRUStep(nb, el, a[0], a[1], a[2], lowerBound ? a[3] : Value(),
                                      ungated);
              });
          auto [outOffsets, outSizes, outStrides] = stepSlice(carried[1]);
          Value hs = tensor::InsertSliceOp::create(lb, l, h, carried[1], outOffsets, outSizes, outStrides);
          scf::YieldOp::create(lb, l, ValueRange{h, hs});
        });
    b.replaceOp(op, {loop.getResult(1), loop.getResult(0)});
    return success();
  }
};

struct ExpandGLU : public OpRewritePattern<GLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GLUOp op, PatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    Value y = generic(b, op.getLoc(), type, op.getGate(), ValueRange{op.getGate(), op.getValue()},
                      elementwiseMaps(b.getContext(), rank, {Operand::Full, Operand::Full}),
                      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                      std::nullopt, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::MulFOp::create(nb, l, silu(nb, l, a[0]), a[1]);
                      });
    b.replaceOp(op, y);
    return success();
  }
};

struct ExpandOps : public mfc::tern::impl::TernExpandOpsBase<ExpandOps> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandQuantizeAct, ExpandMLGRUScan, ExpandGLU>(&getContext());
    if (!keepBitLinear)
      patterns.add<ExpandBitLinear>(&getContext());
    // Greedy: expanding tern.bitlinear creates a tern.quantize_act to expand in turn.
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
