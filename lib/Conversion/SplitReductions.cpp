//===- SplitReductions.cpp - last-dim reductions in strided partials ------===//
//
// reduce_k f(x[.., k]) => reduce_j (reduce_i f(x[.., i * P + j])); see the pass
// description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc {
#define GEN_PASS_DEF_SPLITREDUCTIONS
#include "Conversion/Passes.h.inc"
} // namespace mfc

using namespace mlir;

/// The op folding the body's value into the accumulator: the yielded value, an
/// associative float combiner of the accumulator (used nowhere else) and a value.
static Operation *combiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  Value acc = body.getArgument(1);
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combine ||
      !isa<arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
           arith::MinNumFOp>(combine) ||
      !acc.hasOneUse() || acc.getUses().begin()->getOwner() != combine)
    return nullptr;
  return combine;
}

Operation *mfc::splittableReduction(linalg::GenericOp op, int64_t partials) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t loops = iterators.size();
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 || iterators.back() != utils::IteratorType::reduction)
    return nullptr;
  auto inputType = dyn_cast<RankedTensorType>(op.getDpsInputOperand(0)->get().getType());
  if (!inputType || inputType.getRank() != loops ||
      !op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity() ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isFunctionOfDim(loops - 1))
    return nullptr;
  if (!mfc::splitsReducedDim(inputType.getShape().back(), partials))
    return nullptr;
  Operation *combine = combiner(op);
  return combine && arith::getNeutralElement(combine) ? combine : nullptr;
}

namespace {
struct SplitLastDimReduction : public OpRewritePattern<linalg::GenericOp> {
  SplitLastDimReduction(MLIRContext *context, int64_t partials)
      : OpRewritePattern(context), partials(partials) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &b) const override {
    Operation *combine = mfc::splittableReduction(op, partials);
    if (!combine)
      return b.notifyMatchFailure(op, "not a float sum, maximum or minimum over a last dim "
                                      "that the partials divide");
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    int64_t loops = iterators.size();
    OpOperand *input = op.getDpsInputOperand(0);
    OpOperand *init = op.getDpsInitOperand(0);
    auto inputType = cast<RankedTensorType>(input->get().getType());
    int64_t k = inputType.getShape().back();
    TypedAttr neutral = *arith::getNeutralElement(combine);
    AffineMap outMap = op.getMatchingIndexingMap(init);

    Location loc = op.getLoc();
    MLIRContext *context = b.getContext();
    // x[.., K] as [.., K/P, P].
    SmallVector<int64_t> split(inputType.getShape().drop_back());
    split.append({k / partials, partials});
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < loops - 1; ++d)
      groups.push_back({d});
    groups.push_back({loops - 1, loops});
    Value strided = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(split, inputType.getElementType()), input->get(), groups);
    // Partials p[.., j], the parallel dims as the input has them, from the neutral element.
    Type element = inputType.getElementType();
    SmallVector<OpFoldResult> partialSizes;
    for (int64_t d = 0; d < loops - 1; ++d)
      partialSizes.push_back(tensor::getMixedSize(b, loc, input->get(), d));
    partialSizes.push_back(b.getIndexAttr(partials));
    Value empty = tensor::EmptyOp::create(b, loc, partialSizes, element);
    Value start = arith::ConstantOp::create(b, loc, neutral);
    Value partialInit = linalg::FillOp::create(b, loc, start, empty).getResult(0);
    SmallVector<AffineExpr> partialExprs;
    for (int64_t d = 0; d <= loops; ++d)
      if (d != loops - 1)
        partialExprs.push_back(b.getAffineDimExpr(d));
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(loops + 1),
                                AffineMap::get(loops + 1, 0, partialExprs, context)};
    SmallVector<utils::IteratorType> partialIterators(iterators);
    partialIterators.push_back(utils::IteratorType::parallel);
    auto partial = linalg::GenericOp::create(b, loc, partialInit.getType(), strided, partialInit,
                                             maps, partialIterators);
    IRMapping same;
    op.getRegion().cloneInto(&partial.getRegion(), same);
    // reduce_j p[.., j] into the original init, with the combiner alone.
    auto merge = linalg::GenericOp::create(
        b, loc, op.getResultTypes(), partial.getResult(0), init->get(),
        SmallVector<AffineMap>{b.getMultiDimIdentityMap(loops), outMap}, iterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          OperationState state(l, combine->getName(), ValueRange{args[0], args[1]},
                               TypeRange{element}, combine->getAttrs());
          linalg::YieldOp::create(nb, l, nb.create(state)->getResult(0));
        });
    b.replaceOp(op, merge.getResults());
    return success();
  }

  int64_t partials;
};

struct SplitReductions : public mfc::impl::SplitReductionsBase<SplitReductions> {
  using Base::Base;

  void runOnOperation() override {
    if (partials < 2) {
      getOperation().emitError("mfc-split-reductions: partials=")
          << unsigned(partials) << ": at least 2";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<SplitLastDimReduction>(&getContext(), partials);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace
