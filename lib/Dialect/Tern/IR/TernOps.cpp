//===- TernOps.cpp - tern dialect operations ------------------------------===//
#include "mfc/Dialect/Tern/Packing.h"
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
static LogicalResult verifyShape(Operation *op, StringRef what, ShapedType actual,
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

/// Verifies that packed `weights` hold `k` ternary weights per output in `layout`.
static LogicalResult verifyPackedWeights(Operation *op, ShapedType weights, PackedAttr layout,
                                         int64_t k) {
  if (ShapedType::isDynamic(k))
    return op->emitOpError("the reduction (last) dimension of the input must be "
                           "static to match packed weights");
  int64_t rowBytes = packedRowBytes(k);
  int64_t found = weights.getDimSize(layout.getByteDim());
  if (found != rowBytes)
    return op->emitOpError() << "packed weights in " << stringifyPackedOrder(layout.getOrder())
                             << " have " << dimStr(found) << " bytes per output, but " << k
                             << " input features need " << rowBytes
                             << " (4 ternary weights per byte)";
  return success();
}

/// Expected shape of a per-token result: `input` shape with the last dim replaced.
static SmallVector<int64_t> withLastDim(ShapedType input, int64_t last) {
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = last;
  return shape;
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

void MatmulOp::build(OpBuilder &builder, OperationState &state, Value input, Value weights,
                     Value init, PackedAttr layout) {
  build(builder, state, isa<RankedTensorType>(init.getType()) ? TypeRange{init.getType()}
                                                               : TypeRange{},
        input, weights, init, layout ? layout : PackedAttr::getDefault(builder.getContext()));
}

LogicalResult MatmulOp::verify() {
  auto input = cast<ShapedType>(getInput().getType());
  auto init = cast<ShapedType>(getInit().getType());
  auto weights = cast<ShapedType>(getWeights().getType());
  if (!input.hasRank() || !init.hasRank())
    return emitOpError("input and init must be ranked");
  bool tensors = isa<TensorType>(input) && isa<TensorType>(weights) && isa<TensorType>(init);
  bool buffers = isa<MemRefType>(input) && isa<MemRefType>(weights) && isa<MemRefType>(init);
  if (!tensors && !buffers)
    return emitOpError("operands must be all tensors or all memrefs");
  if (tensors != (getNumResults() == 1) ||
      (tensors && getTensorResult().getType() != init))
    return emitOpError(tensors ? "returns one result of the init's type on tensors"
                               : "returns no result on memrefs");
  if (input.getRank() < 1)
    return emitOpError("input must have at least one dimension (the features)");
  if (failed(verifyPackedWeights(*this, weights, getLayout(), input.getShape().back())))
    return failure();
  Type inElem = input.getElementType(), outElem = init.getElementType();
  if (inElem.isInteger(8) ? !outElem.isInteger(32) : inElem != outElem)
    return emitOpError() << "accumulates " << inElem << " input into "
                         << (inElem.isInteger(8) ? "i32" : "the same float type")
                         << ", found init element type " << outElem;
  return verifyShape(*this, "init", init, withLastDim(input, getNumOutputs()));
}

static bool isZeroSplat(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().isZero();
  return dense.getSplatValue<APInt>().isZero();
}

LogicalResult MatmulOp::fold(FoldAdaptor adaptor, SmallVectorImpl<OpFoldResult> &results) {
  // All-zero weights (every code 0) or all-zero activations accumulate nothing.
  if (getNumResults() != 1)
    return failure();
  auto resultType = cast<RankedTensorType>(getTensorResult().getType());
  if (!resultType.hasStaticShape() ||
      !(isZeroSplat(adaptor.getWeights()) || isZeroSplat(adaptor.getInput())))
    return failure();
  results.push_back(DenseElementsAttr::get(
      resultType, Builder(getContext()).getZeroAttr(resultType.getElementType())));
  return success();
}

void MatmulOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  if (hasPureTensorSemantics())
    return;
  effects.emplace_back(MemoryEffects::Read::get(), &getInputMutable(),
                       SideEffects::DefaultResource::get());
  effects.emplace_back(MemoryEffects::Read::get(), &getWeightsMutable(),
                       SideEffects::DefaultResource::get());
  effects.emplace_back(MemoryEffects::Write::get(), &getInitMutable(),
                       SideEffects::DefaultResource::get());
}

LogicalResult MatmulOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(tensor::getMixedSizes(b, getLoc(), getInit()));
  return success();
}

// Bufferization: `init` is the destination, written and never read.

bool MatmulOp::bufferizesToMemoryRead(OpOperand &operand,
                                      const bufferization::AnalysisState &) {
  return operand.get() != getInit();
}

bool MatmulOp::bufferizesToMemoryWrite(OpOperand &operand,
                                       const bufferization::AnalysisState &) {
  return operand.get() == getInit();
}

bufferization::AliasingValueList
MatmulOp::getAliasingValues(OpOperand &operand, const bufferization::AnalysisState &) {
  if (&operand != &getInitMutable() || getNumResults() == 0)
    return {};
  return {{getTensorResult(), bufferization::BufferRelation::Equivalent}};
}

LogicalResult MatmulOp::bufferize(RewriterBase &rewriter,
                                  const bufferization::BufferizationOptions &options,
                                  bufferization::BufferizationState &state) {
  SmallVector<Value, 3> buffers;
  for (Value operand : getOperands()) {
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, operand, options, state);
    if (failed(buffer))
      return failure();
    buffers.push_back(*buffer);
  }
  rewriter.setInsertionPoint(*this);
  MatmulOp::create(rewriter, getLoc(), buffers[0], buffers[1], buffers[2], getLayout());
  bufferization::replaceOpWithBufferizedValues(rewriter, *this, buffers[2]);
  return success();
}

// Tiling: the leading dims of the input and the outputs n, all parallel.

/// The size of dim `dim` of a tensor or memref.
static OpFoldResult mixedSize(OpBuilder &b, Location loc, Value value, int64_t dim) {
  if (isa<TensorType>(value.getType()))
    return tensor::getMixedSize(b, loc, value, dim);
  return memref::getMixedSize(b, loc, value, dim);
}

SmallVector<utils::IteratorType> MatmulOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(cast<ShapedType>(getInit().getType()).getRank(),
                                          utils::IteratorType::parallel);
}

SmallVector<Range> MatmulOp::getIterationDomain(OpBuilder &b) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(*this);
  Value zero = arith::ConstantIndexOp::create(b, getLoc(), 0);
  Value one = arith::ConstantIndexOp::create(b, getLoc(), 1);
  SmallVector<Range> domain;
  for (int64_t d = 0, e = cast<ShapedType>(getInit().getType()).getRank(); d < e; ++d)
    domain.push_back(Range{zero, mixedSize(b, getLoc(), getInit(), d), one});
  return domain;
}

/// A slice (tensor) or subview (memref) of `source` with unit strides.
static Value sliceOf(OpBuilder &b, Location loc, Value source, ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  if (isa<TensorType>(source.getType()))
    return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes, strides);
  return memref::SubViewOp::create(b, loc, source, offsets, sizes, strides);
}

FailureOr<TilingResult> MatmulOp::getTiledImplementation(OpBuilder &b,
                                                         ArrayRef<OpFoldResult> offsets,
                                                         ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  int64_t lead = offsets.size() - 1;
  // The input's tile: the tile's leading dims, every k.
  SmallVector<OpFoldResult> inOffsets(offsets.take_front(lead)),
      inSizes(sizes.take_front(lead));
  inOffsets.push_back(b.getIndexAttr(0));
  inSizes.push_back(mixedSize(b, loc, getInput(), lead));
  // The weights' tile: the tile's outputs, whole packed rows.
  PackedAttr layout = getLayout();
  SmallVector<OpFoldResult> wOffsets(2), wSizes(2);
  wOffsets[layout.getOutputDim()] = offsets.back();
  wSizes[layout.getOutputDim()] = sizes.back();
  wOffsets[layout.getByteDim()] = b.getIndexAttr(0);
  wSizes[layout.getByteDim()] = mixedSize(b, loc, getWeights(), layout.getByteDim());
  SmallVector<Value> tiled{sliceOf(b, loc, getInput(), inOffsets, inSizes),
                           sliceOf(b, loc, getWeights(), wOffsets, wSizes),
                           sliceOf(b, loc, getInit(), offsets, sizes)};
  auto tile = MatmulOp::create(b, loc, tiled[0], tiled[1], tiled[2], layout);
  return TilingResult{{tile}, SmallVector<Value>(tile->getResults()),
                      llvm::to_vector(llvm::map_range(tiled, [](Value v) {
                        return v.getDefiningOp();
                      }))};
}

LogicalResult MatmulOp::getResultTilePosition(OpBuilder &, unsigned,
                                              ArrayRef<OpFoldResult> offsets,
                                              ArrayRef<OpFoldResult> sizes,
                                              SmallVector<OpFoldResult> &resultOffsets,
                                              SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
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
  if (failed(verifyPackedWeights(*this, getWeights().getType(), getLayout(), k)))
    return failure();
  int64_t n = getNumOutputs();
  if (failed(verifyShape(*this, "norm weight", getNormWeight().getType(), {k})))
    return failure();
  int64_t scales = getWeightScale().getType().getDimSize(0);
  if (scales != 1 && !dimsCompatible(scales, n))
    return emitOpError() << "weight scale must have 1 element (per tensor) or " << n
                         << " (per output channel), found " << dimStr(scales);
  return verifyShape(*this, "result", getResult().getType(), withLastDim(input, n));
}

// Tiling: like tern.matmul, over the leading dims and the outputs; a tile reads its
// tokens whole and, with per-channel scales, its outputs' scales.

SmallVector<utils::IteratorType> BitLinearOp::getLoopIteratorTypes() {
  return SmallVector<utils::IteratorType>(getResult().getType().getRank(),
                                          utils::IteratorType::parallel);
}

SmallVector<Range> BitLinearOp::getIterationDomain(OpBuilder &b) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(*this);
  Location loc = getLoc();
  ReifiedRankedShapedTypeDims shapes;
  (void)reifyResultShapes(b, shapes);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Range> domain;
  for (OpFoldResult size : shapes.front())
    domain.push_back(Range{zero, size, one});
  return domain;
}

FailureOr<TilingResult> BitLinearOp::getTiledImplementation(OpBuilder &b,
                                                            ArrayRef<OpFoldResult> offsets,
                                                            ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  int64_t lead = offsets.size() - 1;
  SmallVector<OpFoldResult> inOffsets(offsets.take_front(lead)),
      inSizes(sizes.take_front(lead));
  inOffsets.push_back(b.getIndexAttr(0));
  inSizes.push_back(tensor::getMixedSize(b, loc, getInput(), lead));
  PackedAttr layout = getLayout();
  SmallVector<OpFoldResult> wOffsets(2), wSizes(2);
  wOffsets[layout.getOutputDim()] = offsets.back();
  wSizes[layout.getOutputDim()] = sizes.back();
  wOffsets[layout.getByteDim()] = b.getIndexAttr(0);
  wSizes[layout.getByteDim()] = tensor::getMixedSize(b, loc, getWeights(), layout.getByteDim());
  Value input = sliceOf(b, loc, getInput(), inOffsets, inSizes);
  Value weights = sliceOf(b, loc, getWeights(), wOffsets, wSizes);
  Value scale = getWeightScale();
  bool perChannel = getWeightScale().getType().getDimSize(0) != 1;
  if (perChannel)
    scale = sliceOf(b, loc, scale, offsets.back(), sizes.back());
  SmallVector<int64_t> staticSizes;
  SmallVector<Value> dynamicSizes;
  dispatchIndexOpFoldResults(sizes, dynamicSizes, staticSizes);
  auto tileType = RankedTensorType::get(staticSizes, getResult().getType().getElementType());
  auto tile = BitLinearOp::create(b, loc, tileType, input, getNormWeight(), weights, scale,
                                  getEpsAttr(), getActEpsAttr(), layout);
  SmallVector<Operation *> slices{input.getDefiningOp(), weights.getDefiningOp()};
  if (perChannel)
    slices.push_back(scale.getDefiningOp());
  return TilingResult{{tile}, {tile.getResult()}, slices};
}

LogicalResult BitLinearOp::getResultTilePosition(OpBuilder &, unsigned,
                                                 ArrayRef<OpFoldResult> offsets,
                                                 ArrayRef<OpFoldResult> sizes,
                                                 SmallVector<OpFoldResult> &resultOffsets,
                                                 SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
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

//===----------------------------------------------------------------------===//
// Result shapes: the dynamic dims of every result are dims of an input
//===----------------------------------------------------------------------===//

/// The sizes of `result`: static dims as constants, dynamic dim d as dim
/// `sourceDims[d]` of `source`.
static SmallVector<OpFoldResult> sizesFrom(OpBuilder &b, Location loc, Value result,
                                           Value source, ArrayRef<int64_t> sourceDims) {
  auto type = cast<RankedTensorType>(result.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d)
                        ? tensor::getMixedSize(b, loc, source, sourceDims[d])
                        : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
  return sizes;
}

/// 0, 1, ..., rank - 1: result dims that are the source's dims in order.
static SmallVector<int64_t> sameDims(Value result) {
  return llvm::to_vector(llvm::seq<int64_t>(0, cast<RankedTensorType>(result.getType()).getRank()));
}

LogicalResult QuantizeActOp::reifyResultShapes(OpBuilder &b,
                                               ReifiedRankedShapedTypeDims &shapes) {
  for (Value result : getResults())
    shapes.push_back(sizesFrom(b, getLoc(), result, getInput(), sameDims(result)));
  return success();
}

LogicalResult BitLinearOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(sizesFrom(b, getLoc(), getResult(), getInput(), sameDims(getResult())));
  return success();
}

LogicalResult GLUOp::reifyResultShapes(OpBuilder &b, ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(sizesFrom(b, getLoc(), getResult(), getGate(), sameDims(getResult())));
  return success();
}

LogicalResult MLGRUScanOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(sizesFrom(b, getLoc(), getHidden(), getCandidate(), {0, 1, 2}));
  shapes.push_back(sizesFrom(b, getLoc(), getFinalState(), getCandidate(), {0, 2}));
  return success();
}

#define GET_OP_CLASSES
#include "Tern/TernOps.cpp.inc"
