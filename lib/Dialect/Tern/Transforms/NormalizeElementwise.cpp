//===- NormalizeElementwise.cpp - one spelling per element-wise computation ===//
//
// Exporters spell the same computation differently; the fusion passes match one form.
// On the scalar tree of an element-wise generic (ElementExpr):
//   x + (y - x)          => y          (straight-through estimator, `x + (q(x) - x).detach()`)
//   x + 0                => x
//   a * (1 / b)          => a / b      (Reciprocal: `127 * Reciprocal(m)`, `x * Reciprocal(sqrt(v))`)
//   generic(constants)   => constant   (small float results: a lower bound's CumSum)
//   extract_slice(constant) => constant (small: one layer's row of the lower bounds)
// The first two drop an addition whose only effect is float rounding; the third rounds
// once instead of twice. Each is a pattern on the root generic, driven greedily.
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "ConstantEval.h"
#include "ElementExpr.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNNORMALIZEELEMENTWISE
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

/// The single float result of an element-wise generic, if `op` is one.
Value elementwiseResult(linalg::GenericOp op) {
  if (op->getNumResults() != 1 || op.getNumParallelLoops() != op.getNumLoops() ||
      !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())))
    return nullptr;
  return op->getResult(0);
}

/// `e` is a whole tensor of `type` (up to which dims are known statically) read at the
/// root's own index.
bool isWholeTensorOf(const ElementExpr *e, Type type) {
  return e->tensor && e->map && e->map.isIdentity() &&
         getElementTypeOrSelf(e->tensor.getType()) == getElementTypeOrSelf(type) &&
         succeeded(verifyCompatibleShape(e->tensor.getType(), type));
}

/// x + (y - x) => y and x + 0 => x: the root's value is one of its operands' tensors.
struct DropNoOpAddition : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    Value result = elementwiseResult(op);
    if (!result)
      return rewriter.notifyMatchFailure(op, "not an element-wise float generic");
    ElementExprBuilder builder;
    const ElementExpr *tree = builder.build(result);
    Type type = result.getType();
    Value replacement;
    matchCommutative<arith::AddFOp>(
        tree, [](const ElementExpr *) { return true; },
        [&](const ElementExpr *other) {
          const ElementExpr *x = tree->operand(0) == other ? tree->operand(1) : tree->operand(0);
          if (other->isConstant(0.0) && isWholeTensorOf(x, type)) {
            replacement = x->tensor;
            return true;
          }
          if (other->is<arith::SubFOp>() && other->operand(1) == x &&
              isWholeTensorOf(other->operand(0), type)) {
            replacement = other->operand(0)->tensor;
            return true;
          }
          return false;
        });
    if (!replacement)
      return rewriter.notifyMatchFailure(op, "not x + (y - x) or x + 0");
    if (replacement.getType() != type)
      replacement = tensor::CastOp::create(rewriter, op.getLoc(), type, replacement);
    rewriter.replaceOp(op, replacement);
    return success();
  }
};

/// a * (1 / b) => a / b, with a and b read as the root reads them.
struct ReciprocalToDivision : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    Value result = elementwiseResult(op);
    if (!result)
      return rewriter.notifyMatchFailure(op, "not an element-wise float generic");
    ElementExprBuilder builder;
    const ElementExpr *tree = builder.build(result);
    // A factor must be materializable: a tensor read through a map, or a constant.
    auto operandOf = [](const ElementExpr *e) {
      return e->kind == ElementExpr::Kind::Constant || (e->tensor && e->map);
    };
    const ElementExpr *numerator = nullptr, *denominator = nullptr;
    if (!matchCommutative<arith::MulFOp>(
            tree, [&](const ElementExpr *a) { return operandOf(numerator = a); },
            [&](const ElementExpr *r) {
              return r->is<arith::DivFOp>() && r->operand(0)->isConstant(1.0) &&
                     operandOf(denominator = r->operand(1));
            }))
      return rewriter.notifyMatchFailure(op, "not a * (1 / b)");
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (const ElementExpr *e : {numerator, denominator})
      if (e->kind != ElementExpr::Kind::Constant) {
        inputs.push_back(e->tensor);
        maps.push_back(e->map);
      }
    maps.push_back(op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
    Type elem = getElementTypeOrSelf(result.getType());
    auto division = linalg::GenericOp::create(
        rewriter, op.getLoc(), result.getType(), inputs, op.getDpsInits(), maps,
        op.getIteratorTypesArray(), [&](OpBuilder &b, Location loc, ValueRange args) {
          unsigned next = 0;
          auto scalar = [&](const ElementExpr *e) -> Value {
            if (e->kind == ElementExpr::Kind::Constant)
              return arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, e->constant));
            return args[next++];
          };
          Value a = scalar(numerator);
          Value d = scalar(denominator);
          linalg::YieldOp::create(b, loc, arith::DivFOp::create(b, loc, a, d).getResult());
        });
    rewriter.replaceOp(op, division.getResult(0));
    return success();
  }
};

/// A small float generic computed from constants alone (torch's lower bound: CumSum of
/// a folded softmax) => its values, so that matchers read per-unit constants. Large ones
/// (weights) are left to tern-detect-ternary-matmul, which packs them without ever
/// holding them as attributes.
struct FoldSmallConstantGeneric : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  static constexpr int64_t kMaxElements = 1 << 16;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1)
      return rewriter.notifyMatchFailure(op, "not one result");
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getNumElements() > kMaxElements)
      return rewriter.notifyMatchFailure(op, "not a small static float32 result");
    if (!llvm::all_of(op.getDpsInputs(), [](Value v) { return constantValues(v).has_value(); }))
      return rewriter.notifyMatchFailure(op, "an input is not a constant");
    ConstantEvaluator evaluator;
    Matched<const std::vector<double> *> values = evaluator.evaluate(op->getResult(0));
    if (auto *m = std::get_if<Mismatch>(&values))
      return rewriter.notifyMatchFailure(op, m->reason);
    const std::vector<double> &doubles = *std::get<const std::vector<double> *>(values);
    SmallVector<float> floats(doubles.begin(), doubles.end());
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, DenseElementsAttr::get(type, ArrayRef<float>(floats)));
    return success();
  }
};

struct NormalizeElementwise
    : public mfc::tern::impl::TernNormalizeElementwiseBase<NormalizeElementwise> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateNormalizeElementwisePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mfc::tern::populateNormalizeElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<DropNoOpAddition, ReciprocalToDivision, FoldSmallConstantGeneric>(
      patterns.getContext());
  // A row of a small constant (Gather of one layer's lower bound) is a constant too.
  tensor::populateFoldConstantExtractSlicePatterns(patterns, [](tensor::ExtractSliceOp op) {
    return op.getType().hasStaticShape() &&
           op.getType().getNumElements() <= FoldSmallConstantGeneric::kMaxElements;
  });
}
