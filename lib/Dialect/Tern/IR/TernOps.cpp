//===- TernOps.cpp - tern dialect operations ------------------------------===//
#include "mfc/Dialect/Tern/Packing.h"
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mfc::tern;

/// Formats a dimension for diagnostics: `?` when dynamic.
static std::string dimStr(int64_t dim) {
  return ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
}

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks that `actual` has shape `expected` (dynamic dims match anything).
static LogicalResult verifyShape(Operation *op, StringRef what, RankedTensorType actual,
                                 ArrayRef<int64_t> expected) {
  auto mismatch = [&]() {
    std::string want;
    llvm::raw_string_ostream os(want);
    llvm::interleave(expected, os, [&](int64_t d) { os << dimStr(d); }, "x");
    return op->emitOpError() << "expected " << what << " of shape " << want
                             << ", found " << actual;
  };
  if (actual.getRank() != static_cast<int64_t>(expected.size()))
    return mismatch();
  for (auto [a, e] : llvm::zip_equal(actual.getShape(), expected))
    if (!dimsCompatible(a, e))
      return mismatch();
  return success();
}

/// Verifies that packed `weights` hold rows of `k` ternary weights; returns N.
static FailureOr<int64_t> verifyPackedWeights(Operation *op, RankedTensorType weights,
                                              int64_t k) {
  if (ShapedType::isDynamic(k))
    return op->emitOpError("the reduction (last) dimension of the input must be "
                           "static to match packed weights");
  int64_t rowBytes = packedRowBytes(k);
  if (weights.getDimSize(1) != rowBytes)
    return op->emitOpError() << "packed weights have " << weights.getDimSize(1)
                             << " bytes per row, but " << k << " input features need "
                             << rowBytes << " (4 ternary weights per byte)";
  return weights.getDimSize(0);
}

/// Expected shape of a per-token result: `input` shape with the last dim replaced.
static SmallVector<int64_t> withLastDim(RankedTensorType input, int64_t last) {
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = last;
  return shape;
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension (the features)");
  FailureOr<int64_t> n =
      verifyPackedWeights(*this, getWeights().getType(), input.getShape().back());
  if (failed(n))
    return failure();
  Type inElem = input.getElementType(), outElem = getResult().getType().getElementType();
  if (inElem.isInteger(8) ? !outElem.isInteger(32) : inElem != outElem)
    return emitOpError() << "accumulates " << inElem << " input into "
                         << (inElem.isInteger(8) ? "i32" : "the same float type")
                         << ", found result element type " << outElem;
  return verifyShape(*this, "result", getResult().getType(), withLastDim(input, *n));
}

static bool isZeroSplat(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().isZero();
  return dense.getSplatValue<APInt>().isZero();
}

OpFoldResult MatmulOp::fold(FoldAdaptor adaptor) {
  // All-zero weights (every code 0) or all-zero activations accumulate nothing.
  auto resultType = getResult().getType();
  if (!resultType.hasStaticShape())
    return {};
  if (isZeroSplat(adaptor.getWeights()) || isZeroSplat(adaptor.getInput()))
    return DenseElementsAttr::get(resultType, Builder(getContext()).getZeroAttr(resultType.getElementType()));
  return {};
}

//===----------------------------------------------------------------------===//
// QuantizeActOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeActOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension (the features)");
  if (!(getEps().convertToFloat() > 0.0f))
    return emitOpError("eps must be positive, found ") << getEps().convertToFloat();
  if (failed(verifyShape(*this, "quantized result", getQuantized().getType(),
                         input.getShape())))
    return failure();
  return verifyShape(*this, "scale", getScale().getType(), withLastDim(input, 1));
}

//===----------------------------------------------------------------------===//
// BitLinearOp
//===----------------------------------------------------------------------===//

LogicalResult BitLinearOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension (the features)");
  // 0 is an RMSNorm without epsilon (as some exporters write it).
  if (!(getEps().convertToFloat() >= 0.0f))
    return emitOpError("eps must be non-negative, found ") << getEps().convertToFloat();
  if (!(getActEps().convertToFloat() > 0.0f))
    return emitOpError("act_eps must be positive, found ") << getActEps().convertToFloat();
  int64_t k = input.getShape().back();
  FailureOr<int64_t> n = verifyPackedWeights(*this, getWeights().getType(), k);
  if (failed(n))
    return failure();
  if (failed(verifyShape(*this, "norm weight", getNormWeight().getType(), {k})))
    return failure();
  int64_t scales = getWeightScale().getType().getDimSize(0);
  if (scales != 1 && scales != *n)
    return emitOpError() << "weight scale must have 1 element (per tensor) or " << *n
                         << " (per output channel), found " << dimStr(scales);
  return verifyShape(*this, "result", getResult().getType(), withLastDim(input, *n));
}

//===----------------------------------------------------------------------===//
// MLGRUScanOp
//===----------------------------------------------------------------------===//

LogicalResult MLGRUScanOp::verify() {
  RankedTensorType candidate = getCandidate().getType();
  if (candidate.getRank() != 3)
    return emitOpError("candidate must be [batch, seq, hidden], found ") << candidate;
  ArrayRef<int64_t> bth = candidate.getShape();
  if (failed(verifyShape(*this, "forget gate", getForget().getType(), bth)) ||
      failed(verifyShape(*this, "initial state", getInitialState().getType(),
                         {bth[0], bth[2]})) ||
      failed(verifyShape(*this, "hidden result", getHidden().getType(), bth)) ||
      failed(verifyShape(*this, "final state", getFinalState().getType(),
                         {bth[0], bth[2]})))
    return failure();
  if (Value lowerBound = getLowerBound()) {
    if (getUngated())
      return emitOpError("an ungated recurrence takes no lower bound (it bounds the forget gate)");
    return verifyShape(*this, "lower bound", cast<RankedTensorType>(lowerBound.getType()),
                       {bth[2]});
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Value bounds: each result's dynamic dims are its input's (leading) dims
//===----------------------------------------------------------------------===//

/// Sizes `value`'s `dim` like dim `dim` of `source` when it is one of the leading dims that
/// both share (the last dims are static where they differ).
static void boundLikeLeadingDim(ValueBoundsConstraintSet &cstr, Value value, int64_t dim,
                                Value source, int64_t sharedRank) {
  if (dim < sharedRank)
    cstr.bound(value)[dim] == cstr.getExpr(source, dim);
}

void MatmulOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                               ValueBoundsConstraintSet &cstr) {
  boundLikeLeadingDim(cstr, value, dim, getInput(), getInput().getType().getRank() - 1);
}

void QuantizeActOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                    ValueBoundsConstraintSet &cstr) {
  int64_t rank = getInput().getType().getRank();
  boundLikeLeadingDim(cstr, value, dim, getInput(), value == getQuantized() ? rank : rank - 1);
}

void BitLinearOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                  ValueBoundsConstraintSet &cstr) {
  boundLikeLeadingDim(cstr, value, dim, getInput(), getInput().getType().getRank() - 1);
}

void GLUOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                            ValueBoundsConstraintSet &cstr) {
  boundLikeLeadingDim(cstr, value, dim, getGate(), getGate().getType().getRank());
}

void MLGRUScanOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                  ValueBoundsConstraintSet &cstr) {
  if (value == getHidden())
    return boundLikeLeadingDim(cstr, value, dim, getCandidate(), 3);
  // final_state is [batch, hidden]
  cstr.bound(value)[dim] == cstr.getExpr(getCandidate(), dim == 0 ? 0 : 2);
}

#define GET_OP_CLASSES
#include "Tern/TernOps.cpp.inc"
