//===- NormalizeLayout.cpp - data movement that keeps element order ------===//
//
// Exporters move unit dims around the recurrence: torch's HGRN-Bit reshapes gates
// [B, T, H*D] to [B, T, H, D], transposes to [B, H, T, D], slices step t, and writes each
// step into a zero buffer. With unit dims (one head, one token) most of these ops keep the
// row-major element order, i.e. they are reshapes. On static shapes:
//   transpose(x) that keeps the order of x's non-unit dims   => reshape(x)
//   tensor.reshape(x)                                        => reshape(x)
//   extract_slice(x) of all of x (unit dims dropped)         => reshape(x)
//   insert_slice(x into d) covering all of d                 => reshape(x)
//   extract_slice(expand_shape(x)) (unit dims inserted, or split dims taken whole)
//                                                            => expand_shape(extract_slice(x))
//   extract_slice(transpose(x))                              => transpose(extract_slice(x))
// where reshape is collapse_shape/expand_shape, which upstream canonicalization composes
// and folds away when shapes meet (with the identity linalg.generics of Expand).
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "Utils.h"

#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNNORMALIZELAYOUT
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

/// `x` (static shape) as `type` (same element count): collapsed to 1-D, expanded back.
Value mfc::tern::reshapeStatic(OpBuilder &b, Location loc, Value x, RankedTensorType type) {
  auto source = cast<RankedTensorType>(x.getType());
  if (source == type)
    return x;
  // One collapse or one expand where the dims group; through 1-D otherwise.
  if (type.getRank() < source.getRank())
    if (auto groups = getReassociationIndicesForCollapse(source.getShape(), type.getShape()))
      return b.createOrFold<tensor::CollapseShapeOp>(loc, type, x, *groups);
  if (type.getRank() > source.getRank())
    if (auto groups = getReassociationIndicesForCollapse(type.getShape(), source.getShape()))
      return b.createOrFold<tensor::ExpandShapeOp>(loc, type, x, *groups);
  auto oneGroup = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector_of<int64_t>(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  auto flatType = RankedTensorType::get({source.getNumElements()}, source.getElementType());
  Value flat = x;
  if (source.getRank() > 1)
    flat = b.createOrFold<tensor::CollapseShapeOp>(loc, flatType, x, oneGroup(source.getRank()));
  else if (source.getRank() == 0)
    flat = b.createOrFold<tensor::ExpandShapeOp>(loc, flatType, x, oneGroup(0));
  if (type.getRank() == 1)
    return flat;
  if (type.getRank() == 0)
    return b.createOrFold<tensor::CollapseShapeOp>(loc, type, flat, oneGroup(0));
  return b.createOrFold<tensor::ExpandShapeOp>(loc, type, flat, oneGroup(type.getRank()));
}

namespace {

bool isStatic(Value v) { return cast<RankedTensorType>(v.getType()).hasStaticShape(); }

struct TransposeAsReshape : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op, PatternRewriter &rewriter) const override {
    Value input = op.getInput();
    if (!isStatic(input) || op->getNumResults() != 1)
      return rewriter.notifyMatchFailure(op, "not a static transpose on tensors");
    auto type = cast<RankedTensorType>(input.getType());
    int64_t last = -1;
    for (int64_t d : op.getPermutation()) {
      if (type.getDimSize(d) == 1)
        continue;
      if (d < last)
        return rewriter.notifyMatchFailure(op, "moves a non-unit dim");
      last = d;
    }
    rewriter.replaceOp(op, reshapeStatic(rewriter, op.getLoc(), input,
                                         cast<RankedTensorType>(op->getResult(0).getType())));
    return success();
  }
};

struct StaticReshape : OpRewritePattern<tensor::ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ReshapeOp op, PatternRewriter &rewriter) const override {
    if (!isStatic(op.getSource()) || !op.getResultType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    rewriter.replaceOp(op, reshapeStatic(rewriter, op.getLoc(), op.getSource(),
                                         cast<RankedTensorType>(op.getResultType())));
    return success();
  }
};

/// Offsets 0, unit strides, and sizes that are the whole of `shape`.
bool coversAll(ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
               ArrayRef<OpFoldResult> strides, ArrayRef<int64_t> shape) {
  for (auto [offset, size, stride, dim] : llvm::zip_equal(offsets, sizes, strides, shape))
    if (!isZeroInteger(offset) || !isOneInteger(stride) || getConstantIntValue(size) != dim)
      return false;
  return true;
}

struct FullExtractSlice : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractSliceOp op, PatternRewriter &rewriter) const override {
    if (!op.getSourceType().hasStaticShape() ||
        !coversAll(op.getMixedOffsets(), op.getMixedSizes(), op.getMixedStrides(),
                   op.getSourceType().getShape()))
      return rewriter.notifyMatchFailure(op, "not all of a static tensor");
    rewriter.replaceOp(op, reshapeStatic(rewriter, op.getLoc(), op.getSource(), op.getType()));
    return success();
  }
};

struct CoveringInsertSlice : OpRewritePattern<tensor::InsertSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::InsertSliceOp op, PatternRewriter &rewriter) const override {
    if (!op.getDestType().hasStaticShape() || !op.getSourceType().hasStaticShape() ||
        !coversAll(op.getMixedOffsets(), op.getMixedSizes(), op.getMixedStrides(),
                   op.getDestType().getShape()))
      return rewriter.notifyMatchFailure(op, "does not overwrite all of a static tensor");
    rewriter.replaceOp(op, reshapeStatic(rewriter, op.getLoc(), op.getSource(), op.getDestType()));
    return success();
  }
};

/// extract_slice(expand_shape(x)) where the expansion only inserts unit dims: slice x
/// itself (the unit dims take offset 0, size 1), then reshape to the slice's type.
struct ExtractSliceOfUnitExpand : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractSliceOp op, PatternRewriter &rewriter) const override {
    auto expand = op.getSource().getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || !expand.getSrcType().hasStaticShape() || !op.getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a slice of a static expand_shape");
    ArrayRef<int64_t> expanded = expand.getResultType().getShape();
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<OpFoldResult> allOffsets = op.getMixedOffsets(), allSizes = op.getMixedSizes(),
                              allStrides = op.getMixedStrides();
    ArrayRef<int64_t> sourceShape = expand.getSrcType().getShape();
    for (auto [g, group] : llvm::enumerate(expand.getReassociationIndices())) {
      // A group taken whole (a dim split into heads x head_dim, say) takes the source dim
      // whole; otherwise one dim of the group is the source dim and the others unit dims.
      bool whole = llvm::all_of(group, [&](int64_t d) {
        return isZeroInteger(allOffsets[d]) && getConstantIntValue(allSizes[d]) == expanded[d] &&
               isOneInteger(allStrides[d]);
      });
      if (whole) {
        offsets.push_back(rewriter.getIndexAttr(0));
        sizes.push_back(rewriter.getIndexAttr(sourceShape[g]));
        strides.push_back(rewriter.getIndexAttr(1));
        continue;
      }
      std::optional<int64_t> kept;
      for (int64_t d : group) {
        if (expanded[d] != 1) {
          if (kept)
            return rewriter.notifyMatchFailure(op, "a slice of part of a split dim");
          kept = d;
        } else if (!isZeroInteger(allOffsets[d])) {
          return rewriter.notifyMatchFailure(op, "a unit dim is sliced at an offset");
        }
      }
      int64_t d = kept.value_or(group.front());
      offsets.push_back(allOffsets[d]);
      sizes.push_back(allSizes[d]);
      strides.push_back(allStrides[d]);
    }
    Value slice = tensor::ExtractSliceOp::create(rewriter, op.getLoc(), expand.getSrc(), offsets,
                                                 sizes, strides);
    if (!cast<RankedTensorType>(slice.getType()).hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic slice sizes");
    rewriter.replaceOp(op, reshapeStatic(rewriter, op.getLoc(), slice, op.getType()));
    return success();
  }
};

/// extract_slice(transpose(x)) => transpose(extract_slice(x)): the slice moves to the
/// transposed tensor's source (a step t of [B, H, T, D] is a step of [B, T, H, D]), where a
/// one-step slice usually leaves a transpose of unit dims, that is a reshape.
struct ExtractSliceOfTranspose : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractSliceOp op, PatternRewriter &rewriter) const override {
    auto transpose = op.getSource().getDefiningOp<linalg::TransposeOp>();
    if (!transpose || !op.getType().hasStaticShape() || !isStatic(transpose.getInput()) ||
        !op.hasUnitStride())
      return rewriter.notifyMatchFailure(op, "not a static unit-stride slice of a transpose");
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t rank = perm.size();
    SmallVector<OpFoldResult> offsets(rank), sizes(rank), strides(rank, rewriter.getIndexAttr(1));
    SmallVector<int64_t> slicedShape(rank), transposedShape(rank);
    for (int64_t d = 0; d < rank; ++d) {
      std::optional<int64_t> size = getConstantIntValue(op.getMixedSizes()[d]);
      if (!size)
        return rewriter.notifyMatchFailure(op, "dynamic slice size");
      offsets[perm[d]] = op.getMixedOffsets()[d];
      sizes[perm[d]] = rewriter.getIndexAttr(*size);
      slicedShape[perm[d]] = *size;
      transposedShape[d] = *size;
    }
    Location loc = op.getLoc();
    Value slice = tensor::ExtractSliceOp::create(rewriter, loc, transpose.getInput(), offsets,
                                                 sizes, strides);
    Value init = tensor::EmptyOp::create(rewriter, loc, transposedShape,
                                         op.getType().getElementType());
    Value moved = linalg::TransposeOp::create(rewriter, loc, slice, init, perm)->getResult(0);
    rewriter.replaceOp(op, reshapeStatic(rewriter, loc, moved, op.getType()));
    return success();
  }
};

struct NormalizeLayout : public mfc::tern::impl::TernNormalizeLayoutBase<NormalizeLayout> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<TransposeAsReshape, StaticReshape, FullExtractSlice, CoveringInsertSlice,
                 ExtractSliceOfUnitExpand, ExtractSliceOfTranspose>(ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
