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
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

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
// Ternary products in destination-passing style: tern.matmul, tern.bitlinear
//===----------------------------------------------------------------------===//

/// The result types of a product into `init`: init's type on tensors, none on buffers.
static SmallVector<Type, 1> resultTypesFor(Value init) {
  if (isa<RankedTensorType>(init.getType()))
    return {init.getType()};
  return {};
}

/// Checks what every product shares: all operands tensors (one result of the init's
/// type) or all memrefs (no result), a ranked input with static features K packed in
/// `layout`, and an init of the input's leading dims and the outputs. Returns K.
static FailureOr<int64_t> verifyProduct(DestinationStyleOpInterface op, Value input,
                                        Value weights, Value init, PackedAttr layout) {
  bool tensors = llvm::all_of(op->getOperandTypes(), llvm::IsaPred<TensorType>);
  bool buffers = llvm::all_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>);
  if (!tensors && !buffers)
    return op->emitOpError("operands must be all tensors or all memrefs");
  if (tensors != (op->getNumResults() == 1) ||
      (tensors && op->getResult(0).getType() != init.getType()))
    return op->emitOpError(tensors ? "returns one result of the init's type on tensors"
                                   : "returns no result on memrefs");
  auto inputType = cast<ShapedType>(input.getType());
  if (!inputType.hasRank() || inputType.getRank() < 1)
    return op->emitOpError("input must have at least one dimension (the features)");
  int64_t k = inputType.getShape().back();
  auto weightsType = cast<ShapedType>(weights.getType());
  if (failed(verifyPackedWeights(op, weightsType, layout, k)) ||
      failed(verifyShape(op, "init", cast<ShapedType>(init.getType()),
                         withLastDim(inputType, layout.getNumOutputs(weightsType)))))
    return failure();
  return k;
}

/// Reads every operand but `init`, writes `init`.
static void getProductEffects(
    DestinationStyleOpInterface op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  if (op.hasPureTensorSemantics())
    return;
  for (OpOperand &operand : op->getOpOperands())
    effects.emplace_back(op.isDpsInit(&operand)
                             ? static_cast<MemoryEffects::Effect *>(MemoryEffects::Write::get())
                             : MemoryEffects::Read::get(),
                         &operand, SideEffects::DefaultResource::get());
}

/// The same op on the operands' buffers, writing init's buffer in place.
static LogicalResult bufferizeProduct(DestinationStyleOpInterface op, RewriterBase &rewriter,
                                      const bufferization::BufferizationOptions &options,
                                      bufferization::BufferizationState &state) {
  SmallVector<Value> buffers;
  for (Value operand : op->getOperands()) {
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, operand, options, state);
    if (failed(buffer))
      return failure();
    buffers.push_back(*buffer);
  }
  rewriter.setInsertionPoint(op);
  OperationState bufferized(op->getLoc(), op->getName(), buffers, TypeRange(),
                            op->getAttrs());
  rewriter.create(bufferized);
  bufferization::replaceOpWithBufferizedValues(rewriter, op,
                                               buffers[op.getDpsInitOperand(0)->getOperandNumber()]);
  return success();
}

/// The size of dim `dim` of a tensor or memref.
static OpFoldResult mixedSize(OpBuilder &b, Location loc, Value value, int64_t dim) {
  if (isa<TensorType>(value.getType()))
    return tensor::getMixedSize(b, loc, value, dim);
  return memref::getMixedSize(b, loc, value, dim);
}

/// The iteration domain of a product: init's dims (leading dims, outputs), all parallel.
static SmallVector<Range> productDomain(Operation *op, Value init, OpBuilder &b) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  Value zero = arith::ConstantIndexOp::create(b, op->getLoc(), 0);
  Value one = arith::ConstantIndexOp::create(b, op->getLoc(), 1);
  SmallVector<Range> domain;
  for (int64_t d = 0, e = cast<ShapedType>(init.getType()).getRank(); d < e; ++d)
    domain.push_back(Range{zero, mixedSize(b, op->getLoc(), init, d), one});
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

/// The tile [offsets, offsets + sizes) of the (leading dims..., outputs) domain of a
/// product: the op on its input's tokens (every k), its outputs' packed weights (whole
/// rows in `layout`) and per-output `scale` (when it has one per output), its block of init.
static FailureOr<TilingResult> tileProduct(DestinationStyleOpInterface op, OpBuilder &b,
                                           ArrayRef<OpFoldResult> offsets,
                                           ArrayRef<OpFoldResult> sizes, OpOperand &input,
                                           OpOperand &weights, PackedAttr layout,
                                           OpOperand *scale) {
  Location loc = op->getLoc();
  int64_t lead = offsets.size() - 1;
  SmallVector<Value> operands(op->getOperands());
  SmallVector<Operation *> slices;
  auto replace = [&](OpOperand &operand, ArrayRef<OpFoldResult> sliceOffsets,
                     ArrayRef<OpFoldResult> sliceSizes) {
    Value slice = sliceOf(b, loc, operand.get(), sliceOffsets, sliceSizes);
    operands[operand.getOperandNumber()] = slice;
    slices.push_back(slice.getDefiningOp());
  };
  SmallVector<OpFoldResult> inOffsets(offsets.take_front(lead)), inSizes(sizes.take_front(lead));
  inOffsets.push_back(b.getIndexAttr(0));
  inSizes.push_back(mixedSize(b, loc, input.get(), lead));
  replace(input, inOffsets, inSizes);
  SmallVector<OpFoldResult> wOffsets(2), wSizes(2);
  wOffsets[layout.getOutputDim()] = offsets.back();
  wSizes[layout.getOutputDim()] = sizes.back();
  wOffsets[layout.getByteDim()] = b.getIndexAttr(0);
  wSizes[layout.getByteDim()] = mixedSize(b, loc, weights.get(), layout.getByteDim());
  replace(weights, wOffsets, wSizes);
  if (scale)
    replace(*scale, offsets.back(), sizes.back());
  replace(*op.getDpsInitOperand(0), offsets, sizes);
  Value init = operands[op.getDpsInitOperand(0)->getOperandNumber()];
  OperationState tiled(loc, op->getName(), operands, resultTypesFor(init), op->getAttrs());
  Operation *tile = b.create(tiled);
  return TilingResult{{tile}, SmallVector<Value>(tile->getResults()), slices};
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

void MatmulOp::build(OpBuilder &builder, OperationState &state, Value input, Value weights,
                     Value init, PackedAttr layout) {
  build(builder, state, resultTypesFor(init), input, weights, init,
        layout ? layout : PackedAttr::getDefault(builder.getContext()));
}

LogicalResult MatmulOp::verify() {
  if (failed(verifyProduct(*this, getInput(), getWeights(), getInit(), getLayout())))
    return failure();
  Type inElem = getElementTypeOrSelf(getInput().getType());
  Type outElem = getElementTypeOrSelf(getInit().getType());
  if (inElem.isInteger(8) ? !outElem.isInteger(32) : inElem != outElem)
    return emitOpError() << "accumulates " << inElem << " input into "
                         << (inElem.isInteger(8) ? "i32" : "the same float type")
                         << ", found init element type " << outElem;
  return success();
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
  getProductEffects(*this, effects);
}

LogicalResult MatmulOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  reifiedReturnShapes.push_back(tensor::getMixedSizes(b, getLoc(), getInit()));
  return success();
}

//===----------------------------------------------------------------------===//
// CheckedIndexOp
//===----------------------------------------------------------------------===//

OpFoldResult CheckedIndexOp::fold(FoldAdaptor adaptor) {
  // An index widened from `index` is checked as that index (one cast less, and loop
  // counters stay recognizable).
  if (auto cast = getIndex().getDefiningOp<arith::IndexCastOp>();
      cast && cast.getIn().getType().isIndex()) {
    getIndexMutable().assign(cast.getIn());
    return getResult();
  }
  // A constant index in range of a constant size is that index; one out of range stays,
  // to be reported when it runs.
  auto index = dyn_cast_or_null<IntegerAttr>(adaptor.getIndex());
  auto size = dyn_cast_or_null<IntegerAttr>(adaptor.getSize());
  if (!index || !size)
    return {};
  int64_t value = index.getValue().getSExtValue(), bound = size.getInt();
  if (value < -bound || value >= bound)
    return {};
  return IntegerAttr::get(IndexType::get(getContext()), value < 0 ? value + bound : value);
}

//===----------------------------------------------------------------------===//
// CheckEqualOp
//===----------------------------------------------------------------------===//

LogicalResult CheckEqualOp::canonicalize(CheckEqualOp op, PatternRewriter &rewriter) {
  // A check that holds at compile time (the same value, or equal as affine expressions
  // of the same dims: B * 1 * 256 and B * 256) is gone; one that fails stays, to be
  // reported.
  FailureOr<bool> equal =
      ValueBoundsConstraintSet::areEqual(op.getActual(), op.getExpected());
  if (failed(equal) || !*equal)
    return failure();
  rewriter.eraseOp(op);
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

void BitLinearOp::build(OpBuilder &builder, OperationState &state, Value input,
                        Value normWeight, Value weights, Value weightScale, Value init,
                        FloatAttr eps, FloatAttr actEps, PackedAttr layout) {
  build(builder, state, resultTypesFor(init), input, normWeight, weights, weightScale, init,
        eps, actEps, layout ? layout : PackedAttr::getDefault(builder.getContext()));
}

LogicalResult BitLinearOp::verify() {
  FailureOr<int64_t> k = verifyProduct(*this, getInput(), getWeights(), getInit(), getLayout());
  if (failed(k))
    return failure();
  // 0 is an RMSNorm without epsilon (as some exporters write it).
  if (!(getEps().convertToFloat() >= 0.0f))
    return emitOpError("eps must be non-negative, found ") << getEps().convertToFloat();
  if (!(getActEps().convertToFloat() > 0.0f))
    return emitOpError("act_eps must be positive, found ") << getActEps().convertToFloat();
  if (failed(verifyShape(*this, "norm weight", cast<ShapedType>(getNormWeight().getType()),
                         {*k})))
    return failure();
  auto scaleType = cast<ShapedType>(getWeightScale().getType());
  int64_t n = getNumOutputs();
  if (scaleType.getRank() != 1 ||
      (scaleType.getDimSize(0) != 1 && !dimsCompatible(scaleType.getDimSize(0), n)))
    return emitOpError() << "weight scale must have 1 element (per tensor) or " << dimStr(n)
                         << " (per output channel), found " << scaleType;
  Type elem = getElementTypeOrSelf(getInput().getType());
  for (Value operand : {getNormWeight(), getWeightScale(), getInit()})
    if (getElementTypeOrSelf(operand.getType()) != elem)
      return emitOpError() << "norm weight, weight scale and init must have the input's "
                              "element type " << elem << ", found " << operand.getType();
  return success();
}

void BitLinearOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  getProductEffects(*this, effects);
}

LogicalResult BitLinearOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &shapes) {
  shapes.push_back(tensor::getMixedSizes(b, getLoc(), getInit()));
  return success();
}

//===----------------------------------------------------------------------===//
// The products' bufferization and tiling, one model for both ops
//===----------------------------------------------------------------------===//

/// The per-output scale a tile of `op` reads its part of, or null.
static OpOperand *perOutputScale(MatmulOp) { return nullptr; }
static OpOperand *perOutputScale(BitLinearOp op) {
  bool perChannel = cast<ShapedType>(op.getWeightScale().getType()).getDimSize(0) != 1;
  return perChannel ? &op.getWeightScaleMutable() : nullptr;
}

namespace {
/// `init` is the destination, written in place and never read.
template <typename OpTy>
struct ProductBufferization
    : public bufferization::BufferizableOpInterface::ExternalModel<ProductBufferization<OpTy>,
                                                                   OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const bufferization::AnalysisState &) const {
    return !cast<OpTy>(op).isDpsInit(&operand);
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const bufferization::AnalysisState &) const {
    return cast<OpTy>(op).isDpsInit(&operand);
  }
  bufferization::AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                                     const bufferization::AnalysisState &) const {
    auto product = cast<OpTy>(op);
    if (!product.isDpsInit(&operand) || op->getNumResults() == 0)
      return {};
    return {{op->getResult(0), bufferization::BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    return bufferizeProduct(cast<OpTy>(op), rewriter, options, state);
  }
};

/// The leading dims and the outputs, all parallel; K stays whole.
template <typename OpTy>
struct ProductTiling : public TilingInterface::ExternalModel<ProductTiling<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(
        cast<ShapedType>(cast<OpTy>(op).getInit().getType()).getRank(),
        utils::IteratorType::parallel);
  }
  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    return productDomain(op, cast<OpTy>(op).getInit(), b);
  }
  FailureOr<TilingResult> getTiledImplementation(Operation *op, OpBuilder &b,
                                                 ArrayRef<OpFoldResult> offsets,
                                                 ArrayRef<OpFoldResult> sizes) const {
    auto product = cast<OpTy>(op);
    return tileProduct(product, b, offsets, sizes, product.getInputMutable(),
                       product.getWeightsMutable(), product.getLayout(),
                       perOutputScale(product));
  }
  LogicalResult getResultTilePosition(Operation *, OpBuilder &, unsigned,
                                      ArrayRef<OpFoldResult> offsets,
                                      ArrayRef<OpFoldResult> sizes,
                                      SmallVector<OpFoldResult> &resultOffsets,
                                      SmallVector<OpFoldResult> &resultSizes) const {
    resultOffsets.assign(offsets.begin(), offsets.end());
    resultSizes.assign(sizes.begin(), sizes.end());
    return success();
  }
};
} // namespace

void mfc::tern::attachProductInterfaces(MLIRContext *context) {
  MatmulOp::attachInterface<ProductBufferization<MatmulOp>, ProductTiling<MatmulOp>>(*context);
  BitLinearOp::attachInterface<ProductBufferization<BitLinearOp>, ProductTiling<BitLinearOp>>(
      *context);
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
//===----------------------------------------------------------------------===//
// Static shapes through tensor.cast (GLU, MLGRU scan)
//===----------------------------------------------------------------------===//

namespace {
/// The source of `value` when it is a tensor.cast that only erases static information.
Value staticSource(Value value) {
  auto cast = value.getDefiningOp<tensor::CastOp>();
  return cast && tensor::canFoldIntoConsumerOp(cast) ? cast.getSource() : value;
}

/// op(tensor.cast(%static), ...) => tensor.cast(op(%static, ...)) when every tensor
/// operand that decides a result's type is static after folding, so that static shapes
/// reach the ops after it (as the products' DPS folding does for them).
template <typename OpTy>
struct FoldStaticCasts : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    SmallVector<Value> operands;
    bool changed = false;
    for (Value operand : op->getOperands()) {
      operands.push_back(staticSource(operand));
      changed |= operands.back() != operand;
    }
    if (!changed)
      return rewriter.notifyMatchFailure(op, "no cast to fold");
    SmallVector<Type> resultTypes = OpTy::staticResultTypes(operands);
    if (resultTypes.empty())
      return rewriter.notifyMatchFailure(op, "results would not be static");
    auto folded = OpTy::create(rewriter, op.getLoc(), resultTypes, operands, op->getAttrs());
    SmallVector<Value> results;
    for (auto [old, now] : llvm::zip(op->getResults(), folded->getResults()))
      results.push_back(old.getType() == now.getType()
                            ? Value(now)
                            : Value(tensor::CastOp::create(rewriter, op.getLoc(), old.getType(), now)));
    rewriter.replaceOp(op, results);
    return success();
  }
};

bool allStatic(ArrayRef<Value> values) {
  return llvm::all_of(values, [](Value v) { return cast<ShapedType>(v.getType()).hasStaticShape(); });
}
} // namespace

SmallVector<Type> GLUOp::staticResultTypes(ArrayRef<Value> operands) {
  if (!allStatic(operands) || operands[0].getType() != operands[1].getType())
    return {};
  return {operands[0].getType()};
}

SmallVector<Type> MLGRUScanOp::staticResultTypes(ArrayRef<Value> operands) {
  // candidate, forget and the initial state decide hidden and final_state.
  if (!allStatic(operands.take_front(3)) || operands[0].getType() != operands[1].getType())
    return {};
  return {operands[0].getType(), operands[2].getType()};
}

void GLUOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<FoldStaticCasts<GLUOp>>(context);
}

void MLGRUScanOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *context) {
  patterns.add<FoldStaticCasts<MLGRUScanOp>>(context);
}

#include "Tern/TernOps.cpp.inc"
