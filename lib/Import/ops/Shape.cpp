//===- Shape.cpp - constants and data-movement ONNX ops -------------------===//
//
// Constant, ConstantOfShape, Shape, Reshape, Transpose, Squeeze, Unsqueeze, Concat,
// Slice, Split, Expand, Gather, ScatterND, ScatterElements: tensor-dialect ops where one
// exists, linalg otherwise.
//
//===----------------------------------------------------------------------===//
#include "../Importer.h"

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
using Results = FailureOr<SmallVector<OnnxValue>>;

Results single(Value v, int32_t elemType) { return SmallVector<OnnxValue>{{v, elemType}}; }

int64_t rankOf(Value v) { return cast<RankedTensorType>(v.getType()).getRank(); }

/// Normalizes a possibly negative axis of a rank-`rank` tensor, or fails.
FailureOr<int64_t> normalizeAxis(GraphImporter &im, const Node &node, int64_t axis,
                                 int64_t rank) {
  if (axis < -rank || axis >= rank)
    return im.error(node, "axis ") << axis << " is out of range for rank " << rank;
  return axis < 0 ? axis + rank : axis;
}

/// Constant ints of input `i`, or an error naming what they are for.
FailureOr<SmallVector<int64_t>> constantInput(GraphImporter &im, const Node &node, size_t i,
                                              StringRef what) {
  std::optional<SmallVector<int64_t>> values = im.constantInts(node.input(i));
  if (!values)
    return im.error(node, what) << " (input " << i << ") must be a constant";
  return *values;
}

/// An index counted from the end when negative (ONNX's rule): idx < 0 ? idx + size : idx.
Value wrapNegative(OpBuilder &b, Location loc, Value idx, Value size) {
  Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, idx,
                                         arith::ConstantIndexOp::create(b, loc, 0));
  return arith::SelectOp::create(b, loc, negative, arith::AddIOp::create(b, loc, idx, size), idx);
}

/// Index `raw`, read from `node`'s input `input`, into a dim of `size`: counted from the end
/// when negative, and out of range a run-time error naming the node and the input.
Value checkedIndex(OpBuilder &b, Location loc, const Node &node, size_t input, Value raw,
                   Value size) {
  std::string what = node.opType() + " node '" + node.displayName + "' (input '" +
                     node.proto.input(input) + "')";
  return mfc::tern::CheckedIndexOp::create(b, loc, raw, size, b.getStringAttr(what));
}

/// `actual` must equal `expected` when the graph runs: a tern.check_equal, unless they
/// are equal already.
void checkEqual(OpBuilder &b, Location loc, Value actual, Value expected, const Twine &what) {
  if (!isEqualConstantIntOrValue(actual, expected))
    mfc::tern::CheckEqualOp::create(b, loc, actual, expected, b.getStringAttr(what));
}

/// Input `i`, a 1-D int tensor of static length, as one index per element: constants
/// where it is constant, values extracted at run time otherwise.
FailureOr<SmallVector<OpFoldResult>> indexInput(GraphImporter &im, const Node &node, size_t i,
                                                StringRef what) {
  SmallVector<OpFoldResult> result;
  OpBuilder &b = im.builder;
  if (std::optional<SmallVector<int64_t>> values = im.constantInts(node.input(i))) {
    for (int64_t v : *values)
      result.push_back(b.getIndexAttr(v));
    return result;
  }
  auto type = cast<RankedTensorType>(node.input(i).getType());
  if (type.getRank() != 1 || type.isDynamicDim(0))
    return im.error(node, what) << " (input " << i
                                << ") must be a 1-D tensor of static length, found " << type;
  for (int64_t k = 0; k < type.getDimSize(0); ++k) {
    Value element = tensor::ExtractOp::create(b, node.loc, node.input(i),
                                              ValueRange{arith::ConstantIndexOp::create(b, node.loc, k)});
    result.push_back(arith::IndexCastOp::create(b, node.loc, b.getIndexType(), element).getResult());
  }
  return result;
}

/// Groups dims of the larger rank `bigRank` around the dims that are not unit
/// extras, for collapse_shape/expand_shape: every group holds exactly one kept dim.
SmallVector<ReassociationIndices> groupAroundKept(ArrayRef<bool> isExtra) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (auto [d, extra] : llvm::enumerate(isExtra)) {
    pending.push_back(d);
    if (!extra) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  return groups;
}

//===----------------------------------------------------------------------===//

Results convertConstant(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  const onnx::AttributeProto *a = node.proto.attribute_size() == 1 ? &node.proto.attribute(0)
                                                                   : nullptr;
  if (!a)
    return im.error(node, "expected exactly one value attribute");
  if (a->name() == "value") {
    onnx::TensorProto tensor = a->t();
    FailureOr<Value> v = im.importTensor(tensor, node.loc);
    if (failed(v))
      return failure();
    return single(*v, tensor.data_type());
  }
  auto ints = [&](ArrayRef<int64_t> values, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, b.getI64Type());
    return arith::ConstantOp::create(b, node.loc, DenseElementsAttr::get(type, values));
  };
  auto floats = [&](ArrayRef<float> values, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return arith::ConstantOp::create(b, node.loc, DenseElementsAttr::get(type, values));
  };
  const int32_t i64 = onnx::TensorProto::INT64, f32 = onnx::TensorProto::FLOAT;
  if (a->name() == "value_int")
    return single(ints({a->i()}, {}), i64);
  if (a->name() == "value_ints")
    return single(ints(SmallVector<int64_t>(a->ints().begin(), a->ints().end()), {a->ints_size()}), i64);
  if (a->name() == "value_float")
    return single(floats({a->f()}, {}), f32);
  if (a->name() == "value_floats")
    return single(floats(SmallVector<float>(a->floats().begin(), a->floats().end()), {a->floats_size()}), f32);
  return im.error(node, "unsupported constant attribute '") << a->name() << "'";
}

/// Index values of a 1-D shape tensor (constant or not) with a static length.
FailureOr<SmallVector<Value>> shapeValues(GraphImporter &im, const Node &node, Value shape) {
  auto type = cast<RankedTensorType>(shape.getType());
  if (type.getRank() != 1 || type.isDynamicDim(0))
    return im.error(node, "shape must be a 1-D tensor of static length, found ") << type;
  OpBuilder &b = im.builder;
  SmallVector<Value> dims;
  if (std::optional<SmallVector<int64_t>> constant = im.constantInts(shape)) {
    for (int64_t d : *constant)
      dims.push_back(arith::ConstantIndexOp::create(b, node.loc, d));
    return dims;
  }
  // Built element by element (a partly known shape): the constant elements stay constants.
  if (auto fromElements = shape.getDefiningOp<tensor::FromElementsOp>()) {
    for (Value v : fromElements.getElements())
      dims.push_back(b.createOrFold<arith::IndexCastOp>(node.loc, b.getIndexType(), v));
    return dims;
  }
  for (int64_t i = 0; i < type.getDimSize(0); ++i) {
    Value idx = arith::ConstantIndexOp::create(b, node.loc, i);
    Value v = tensor::ExtractOp::create(b, node.loc, shape, idx);
    dims.push_back(arith::IndexCastOp::create(b, node.loc, b.getIndexType(), v));
  }
  return dims;
}

Results convertConstantOfShape(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Type elem = b.getF32Type();
  int32_t elemType = onnx::TensorProto::FLOAT;
  Attribute value = b.getFloatAttr(elem, 0.0);
  if (const onnx::AttributeProto *a = node.attr("value")) {
    onnx::TensorProto tensor = a->t();
    FailureOr<Value> v = im.importTensor(tensor, node.loc);
    if (failed(v))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(v->getDefiningOp<arith::ConstantOp>().getValue());
    if (!dense || dense.getNumElements() != 1)
      return im.error(node, "value must hold exactly one element");
    value = dense.getValues<Attribute>()[0];
    elem = dense.getElementType();
    elemType = tensor.data_type();
  }
  SmallVector<int64_t> shape;
  SmallVector<Value> dynDims;
  if (std::optional<SmallVector<int64_t>> constant = im.constantInts(node.input(0))) {
    shape = *constant;
    if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
      return im.error(node, "shape has a negative dimension");
  } else {
    FailureOr<SmallVector<Value>> dims = shapeValues(im, node, node.input(0));
    if (failed(dims))
      return failure();
    shape.assign(dims->size(), ShapedType::kDynamic);
    dynDims = *dims;
    // A negative size would reach the allocation (and wrap around in its byte count).
    Value zero = arith::ConstantIndexOp::create(b, node.loc, 0);
    for (auto [d, dim] : llvm::enumerate(dynDims))
      checkEqual(b, node.loc, dim, b.createOrFold<arith::MaxSIOp>(node.loc, dim, zero),
                 "ConstantOfShape node '" + node.displayName + "' (input '" +
                     node.proto.input(0) + "'): dim " + Twine(d) +
                     " of the shape must not be negative");
  }
  Value empty = im.emptyTensor(node.loc, shape, elem, dynDims);
  Value fill = arith::ConstantOp::create(b, node.loc, cast<TypedAttr>(value));
  return single(linalg::FillOp::create(b, node.loc, fill, empty).getResult(0), elemType);
}

Results convertShape(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Value x = node.input(0);
  int64_t rank = rankOf(x);
  int64_t start = node.getInt("start", 0), end = node.getInt("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  SmallVector<Value> dims;
  // Static dims fold to constants: a Gather of one of them folds at import (ShapeFolding)
  // even where other dims are symbolic.
  for (int64_t d = start; d < end; ++d) {
    Value dim = b.createOrFold<tensor::DimOp>(node.loc, x, d);
    dims.push_back(b.createOrFold<arith::IndexCastOp>(node.loc, b.getI64Type(), dim));
  }
  auto type = RankedTensorType::get({std::max<int64_t>(end - start, 0)}, b.getI64Type());
  return single(tensor::FromElementsOp::create(b, node.loc, type, dims), onnx::TensorProto::INT64);
}

Results convertReshape(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  bool allowZero = node.getInt("allowzero", 0) != 0;
  FailureOr<SmallVector<Value>> requested = shapeValues(im, node, node.input(1));
  if (failed(requested))
    return failure();
  std::optional<SmallVector<int64_t>> constant = im.constantInts(node.input(1));
  if (constant && llvm::count(*constant, -1) > 1)
    return im.error(node, "shape has more than one -1");

  // Runtime sizes: 0 copies the input dim (unless allowzero); -1 takes what is left.
  // With a constant shape everything below folds to constants.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value minusOne = arith::ConstantIndexOp::create(b, loc, -1);
  Value total = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    total = b.createOrFold<arith::MulIOp>(loc, total, b.createOrFold<tensor::DimOp>(loc, x, d));
  SmallVector<Value> sizes;
  Value known = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [i, s] : llvm::enumerate(*requested)) {
    Value size = s;
    if (!allowZero && static_cast<int64_t>(i) < type.getRank()) {
      Value isZero = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, s, zero);
      size = b.createOrFold<arith::SelectOp>(loc, isZero,
                                             b.createOrFold<tensor::DimOp>(loc, x, i), s);
    }
    sizes.push_back(size);
    Value isInferred = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, size, minusOne);
    known = b.createOrFold<arith::MulIOp>(
        loc, known, b.createOrFold<arith::SelectOp>(loc, isInferred, arith::ConstantIndexOp::create(b, loc, 1), size));
  }
  // (A product of 0 has nothing to infer from: divided by 1, the count check fails.)
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value divisor = b.createOrFold<arith::SelectOp>(
      loc, b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, known, zero), one, known);
  Value inferred = b.createOrFold<arith::DivUIOp>(loc, total, divisor);
  SmallVector<int64_t> shape;
  SmallVector<Value> shapeI64;
  // The new shape's element count, -1 if a dim is negative: it must be the input's.
  Value count = one;
  Value anyNegative = arith::ConstantIntOp::create(b, loc, 0, 1);
  for (Value &size : sizes) {
    Value isInferred = b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, size, minusOne);
    size = b.createOrFold<arith::SelectOp>(loc, isInferred, inferred, size);
    std::optional<int64_t> c = getConstantIntValue(size);
    shape.push_back(c ? *c : ShapedType::kDynamic);
    shapeI64.push_back(b.createOrFold<arith::IndexCastOp>(loc, b.getI64Type(), size));
    count = b.createOrFold<arith::MulIOp>(loc, count, size);
    anyNegative = b.createOrFold<arith::OrIOp>(
        loc, anyNegative, b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, size, zero));
  }
  count = b.createOrFold<arith::SelectOp>(loc, anyNegative, minusOne, count);
  checkEqual(b, loc, count, total,
             "Reshape node '" + node.displayName + "' (input '" + node.proto.input(1) +
                 "'): elements of the new shape (-1: a negative dim) against the input's");
  if (type.hasStaticShape() && !llvm::is_contained(shape, ShapedType::kDynamic) &&
      type.getNumElements() != ShapedType::getNumElements(shape))
    return im.error(node, "cannot reshape ") << type << " (" << type.getNumElements()
                                             << " elements) to the requested shape";
  auto shapeType = RankedTensorType::get({int64_t(shapeI64.size())}, b.getI64Type());
  Value shapeTensor = tensor::FromElementsOp::create(b, loc, shapeType, shapeI64);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return single(tensor::ReshapeOp::create(b, loc, resultType, x, shapeTensor), node.inputType(0));
}

Results convertTranspose(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  if (auto attr = node.getInts("perm"))
    perm = *attr;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  if (int64_t(perm.size()) != rank || llvm::any_of(llvm::enumerate(sorted), [](auto p) {
        return p.value() != int64_t(p.index());
      }))
    return im.error(node, "perm is not a permutation of the ") << rank << " dims";
  SmallVector<int64_t> shape;
  SmallVector<Value> dynDims;
  for (int64_t d : perm) {
    shape.push_back(type.getDimSize(d));
    if (type.isDynamicDim(d))
      dynDims.push_back(tensor::DimOp::create(b, node.loc, x, d));
  }
  Value init = im.emptyTensor(node.loc, shape, type.getElementType(), dynDims);
  return single(linalg::TransposeOp::create(b, node.loc, x, init, perm).getResult()[0],
                node.inputType(0));
}

/// Axes of Squeeze/Unsqueeze: the `axes` input (opset 13+).
FailureOr<SmallVector<int64_t>> axesOf(GraphImporter &im, const Node &node, int64_t rank) {
  SmallVector<int64_t> axes;
  if (node.input(1)) {
    FailureOr<SmallVector<int64_t>> values = constantInput(im, node, 1, "axes");
    if (failed(values))
      return failure();
    axes = *values;
  }
  for (int64_t &axis : axes) {
    FailureOr<int64_t> a = normalizeAxis(im, node, axis, rank);
    if (failed(a))
      return failure();
    axis = *a;
  }
  return axes;
}

Results convertSqueeze(GraphImporter &im, const Node &node) {
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  FailureOr<SmallVector<int64_t>> axes = axesOf(im, node, type.getRank());
  if (failed(axes))
    return failure();
  SmallVector<bool> squeezed(type.getRank(), false);
  for (int64_t axis : *axes) {
    if (type.getDimSize(axis) != 1)
      return im.error(node, "cannot squeeze axis ") << axis << " of size "
                                                    << (type.isDynamicDim(axis) ? std::string("?") : std::to_string(type.getDimSize(axis)));
    squeezed[axis] = true;
  }
  if (axes->empty())
    for (int64_t d = 0; d < type.getRank(); ++d)
      squeezed[d] = type.getDimSize(d) == 1;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!squeezed[d])
      shape.push_back(type.getDimSize(d));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return single(tensor::CollapseShapeOp::create(im.builder, node.loc, resultType, x,
                                                groupAroundKept(squeezed)),
                node.inputType(0));
}

Results convertUnsqueeze(GraphImporter &im, const Node &node) {
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  size_t numAxes = im.constantInts(node.input(1)) ? im.constantInts(node.input(1))->size() : 0;
  int64_t rank = type.getRank() + numAxes;
  FailureOr<SmallVector<int64_t>> axes = axesOf(im, node, rank);
  if (failed(axes))
    return failure();
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : *axes) {
    if (inserted[axis])
      return im.error(node, "axis ") << axis << " is repeated";
    inserted[axis] = true;
  }
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> outputShape;
  SmallVector<OpFoldResult> inSizes = im.mixedSizes(node.loc, x);
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (inserted[d]) {
      shape.push_back(1);
      outputShape.push_back(im.builder.getIndexAttr(1));
    } else {
      shape.push_back(type.getDimSize(next));
      outputShape.push_back(inSizes[next++]);
    }
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return single(tensor::ExpandShapeOp::create(im.builder, node.loc, resultType, x,
                                              groupAroundKept(inserted), outputShape),
                node.inputType(0));
}

Results convertConcat(GraphImporter &im, const Node &node) {
  SmallVector<Value> inputs;
  for (const OnnxValue &in : node.inputs)
    if (in.value)
      inputs.push_back(in.value);
  FailureOr<int64_t> axis = normalizeAxis(im, node, node.getInt("axis", 0), rankOf(inputs[0]));
  if (failed(axis))
    return failure();
  for (Value v : inputs)
    if (rankOf(v) != rankOf(inputs[0]))
      return im.error(node, "inputs have different ranks");
  // Parts that are statically empty along the axis add nothing (and an insert at the
  // end of the result would be out of bounds for tensor.concat's lowering).
  auto isEmptyPart = [&](Value v) { return cast<RankedTensorType>(v.getType()).getDimSize(*axis) == 0; };
  if (!llvm::all_of(inputs, isEmptyPart))
    llvm::erase_if(inputs, isEmptyPart);
  if (inputs.size() == 1)
    return single(inputs[0], node.inputType(0));
  return single(tensor::ConcatOp::create(im.builder, node.loc, *axis, inputs), node.inputType(0));
}

/// tensor.extract_slice, or an empty tensor when a size is statically 0 (the slice
/// verifier rejects offsets at the end of a dim, which ONNX allows for empty slices).
Value extractSlice(GraphImporter &im, Location loc, Value x, ArrayRef<OpFoldResult> offsets,
                   ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) {
  if (llvm::any_of(sizes, [](OpFoldResult s) { return isConstantIntValue(s, 0); })) {
    SmallVector<int64_t> shape;
    SmallVector<Value> dynDims;
    dispatchIndexOpFoldResults(sizes, dynDims, shape);
    return im.emptyTensor(loc, shape, getElementTypeOrSelf(x), dynDims);
  }
  return tensor::ExtractSliceOp::create(im.builder, loc, x, offsets, sizes, strides);
}

/// Extracts `sizes` elements along `axis` starting at `offset` (other dims whole).
Value sliceAlong(GraphImporter &im, Location loc, Value x, int64_t axis, OpFoldResult offset,
                 OpFoldResult size) {
  int64_t rank = rankOf(x);
  SmallVector<OpFoldResult> offsets(rank, im.builder.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = im.mixedSizes(loc, x);
  SmallVector<OpFoldResult> strides(rank, im.builder.getIndexAttr(1));
  offsets[axis] = offset;
  sizes[axis] = size;
  return extractSlice(im, loc, x, offsets, sizes, strides);
}

Results convertSlice(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value x = node.input(0);
  int64_t rank = rankOf(x);
  // Starts and ends may be computed at run time (from a symbolic dim); axes and
  // steps decide the result's layout and must be constants.
  FailureOr<SmallVector<OpFoldResult>> starts = indexInput(im, node, 1, "starts");
  FailureOr<SmallVector<OpFoldResult>> ends = indexInput(im, node, 2, "ends");
  if (failed(starts) || failed(ends))
    return failure();
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (node.input(3)) {
    FailureOr<SmallVector<int64_t>> a = constantInput(im, node, 3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (int64_t i = 0; i < int64_t(starts->size()); ++i)
      axes.push_back(i);
  }
  if (node.input(4)) {
    FailureOr<SmallVector<int64_t>> s = constantInput(im, node, 4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return im.error(node, "starts, ends, axes and steps have different lengths");
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = im.mixedSizes(loc, x);
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = normalizeAxis(im, node, axes[i], rank);
    if (failed(axis))
      return failure();
    if (steps[i] == 0)
      return im.error(node, "slice step must not be 0");
    // Negative start/end count from the end. A positive step clamps both to [0, dim];
    // a negative one clamps start to [0, dim - 1] and end to [-1, dim - 1].
    Value dim = getValueOrCreateConstantIndexOp(b, loc, sizes[*axis]);
    bool forward = steps[i] > 0;
    auto index = [&](OpFoldResult v) -> Value {
      if (std::optional<int64_t> c = getConstantIntValue(v)) {
        int64_t bounded = std::clamp<int64_t>(*c, -(int64_t(1) << 62), int64_t(1) << 62);
        Value cst = arith::ConstantIndexOp::create(b, loc, bounded);
        return bounded < 0 ? b.createOrFold<arith::AddIOp>(loc, dim, cst) : cst;
      }
      return wrapNegative(b, loc, cast<Value>(v), dim);
    };
    auto clamp = [&](Value v, Value lo, Value hi) {
      return b.createOrFold<arith::MinSIOp>(loc, b.createOrFold<arith::MaxSIOp>(loc, v, lo), hi);
    };
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value cm1 = arith::ConstantIndexOp::create(b, loc, -1);
    Value dimM1 = b.createOrFold<arith::AddIOp>(loc, dim, cm1);
    Value start = forward ? clamp(index((*starts)[i]), c0, dim) : clamp(index((*starts)[i]), c0, dimM1);
    Value end = forward ? clamp(index((*ends)[i]), c0, dim) : clamp(index((*ends)[i]), cm1, dimM1);
    // size = max(0, ceil((end - start) / step))
    Value step = arith::ConstantIndexOp::create(b, loc, steps[i]);
    Value span = b.createOrFold<arith::SubIOp>(loc, end, start);
    Value size = b.createOrFold<arith::MaxSIOp>(loc, b.createOrFold<arith::CeilDivSIOp>(loc, span, step), c0);
    offsets[*axis] = getAsOpFoldResult(start);
    sizes[*axis] = getAsOpFoldResult(size);
    strides[*axis] = b.getIndexAttr(steps[i]);
  }
  if (llvm::all_of(strides, [](OpFoldResult s) { return *getConstantIntValue(s) > 0; }))
    return single(extractSlice(im, loc, x, offsets, sizes, strides), node.inputType(0));

  // Negative steps: out[i...] = x[offset + i * stride ...], gathered element by element.
  SmallVector<int64_t> shape;
  SmallVector<Value> dynDims;
  dispatchIndexOpFoldResults(sizes, dynDims, shape);
  Value init = im.emptyTensor(loc, shape, getElementTypeOrSelf(x), dynDims);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value result = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{}, init, SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
      iterators, [&](OpBuilder &nb, Location l, ValueRange) {
        SmallVector<Value> coords;
        for (int64_t d = 0; d < rank; ++d) {
          Value i = linalg::IndexOp::create(nb, l, d);
          Value stride = getValueOrCreateConstantIndexOp(nb, l, strides[d]);
          Value offset = getValueOrCreateConstantIndexOp(nb, l, offsets[d]);
          coords.push_back(arith::AddIOp::create(nb, l, offset, arith::MulIOp::create(nb, l, i, stride)));
        }
        linalg::YieldOp::create(nb, l, tensor::ExtractOp::create(nb, l, x, coords).getResult());
      }).getResult(0);
  return single(result, node.inputType(0));
}

Results convertSplit(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value x = node.input(0);
  FailureOr<int64_t> axis = normalizeAxis(im, node, node.getInt("axis", 0), rankOf(x));
  if (failed(axis))
    return failure();
  size_t n = node.numOutputs();
  OpFoldResult dim = im.mixedSizes(loc, x)[*axis];
  SmallVector<OpFoldResult> sizes;
  if (node.input(1)) {
    FailureOr<SmallVector<int64_t>> split = constantInput(im, node, 1, "split");
    if (failed(split))
      return failure();
    if (split->size() != n)
      return im.error(node, "split has ") << split->size() << " sizes for " << n << " outputs";
    std::optional<int64_t> staticDim = getConstantIntValue(dim);
    int64_t sum = 0;
    for (int64_t s : *split) {
      sizes.push_back(b.getIndexAttr(s));
      sum += s;
    }
    if (staticDim && sum != *staticDim)
      return im.error(node, "split sizes add up to ") << sum << ", the axis has " << *staticDim;
  } else {
    // Equal parts (Split-13): the axis must divide evenly.
    std::optional<int64_t> staticDim = getConstantIntValue(dim);
    if (staticDim && *staticDim % int64_t(n))
      return im.error(node, "axis of size ") << *staticDim << " does not split into " << n
                                             << " equal parts";
    Value part = b.createOrFold<arith::DivUIOp>(loc, getValueOrCreateConstantIndexOp(b, loc, dim),
                                                arith::ConstantIndexOp::create(b, loc, n));
    sizes.assign(n, getAsOpFoldResult(part));
  }
  SmallVector<OnnxValue> results;
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  for (OpFoldResult size : sizes) {
    results.push_back({sliceAlong(im, loc, x, *axis, getAsOpFoldResult(offset), size),
                       node.inputType(0)});
    offset = b.createOrFold<arith::AddIOp>(loc, offset, getValueOrCreateConstantIndexOp(b, loc, size));
  }
  return results;
}

Results convertExpand(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  // The shape may be computed at run time (from a symbolic dim): a run-time target only
  // sizes dims that x broadcasts (static 1s); a dynamic dim of x is taken to match it, as
  // for element-wise broadcasting.
  FailureOr<SmallVector<OpFoldResult>> shape = indexInput(im, node, 1, "shape");
  if (failed(shape))
    return failure();
  // Broadcast x against a tensor of the requested shape (a 1 there keeps x's dim).
  int64_t rank = std::max<int64_t>(type.getRank(), shape->size());
  SmallVector<OpFoldResult> target(rank, b.getIndexAttr(1));
  for (size_t i = 0; i < shape->size(); ++i)
    target[rank - shape->size() + i] = (*shape)[i];
  SmallVector<int64_t> outShape;
  SmallVector<Value> dynDims;
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t xd = d - (rank - type.getRank());
    int64_t xs = xd >= 0 ? type.getDimSize(xd) : 1;
    std::optional<int64_t> t = getConstantIntValue(target[d]);
    if (t && xs != 1 && *t != 1 && !ShapedType::isDynamic(xs) && xs != *t)
      return im.error(node, "cannot expand dimension ") << xs << " to " << *t;
    bool broadcasts = xs == 1 && (!t || *t != 1);
    int64_t out = broadcasts                                          ? (t ? *t : ShapedType::kDynamic)
                  : ShapedType::isDynamic(xs) && t && *t != 1 ? *t
                                                              : xs;
    outShape.push_back(out);
    if (ShapedType::isDynamic(out))
      dynDims.push_back(broadcasts ? cast<Value>(target[d])
                                   : tensor::DimOp::create(b, node.loc, x, xd).getResult());
    if (xd >= 0)
      exprs.push_back(broadcasts ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(d));
    // A dim of x that is not statically 1 is read as it is: the target must be 1 or that
    // dim (a dynamic dim that is 1 at run time is not broadcast).
    if (xd >= 0 && !broadcasts) {
      Value xDim = b.createOrFold<tensor::DimOp>(node.loc, x, xd);
      Value want = getValueOrCreateConstantIndexOp(b, node.loc, target[d]);
      Value isOne = b.createOrFold<arith::CmpIOp>(node.loc, arith::CmpIPredicate::eq, want,
                                                  arith::ConstantIndexOp::create(b, node.loc, 1));
      checkEqual(b, node.loc, b.createOrFold<arith::SelectOp>(node.loc, isOne, xDim, want), xDim,
                 "Expand node '" + node.displayName + "' (input '" + node.proto.input(1) +
                     "'): dim " + Twine(d) + " of the shape, which must be 1 or dim " +
                     Twine(xd) + " of input '" + node.proto.input(0) + "'");
    }
  }
  Value init = im.emptyTensor(node.loc, outShape, type.getElementType(), dynDims);
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, exprs, b.getContext()),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value result = linalg::GenericOp::create(b, node.loc, init.getType(), x, init, maps, iterators,
                                           [](OpBuilder &nb, Location l, ValueRange args) {
                                             linalg::YieldOp::create(nb, l, args[0]);
                                           })
                     .getResult(0);
  return single(result, node.inputType(0));
}

Results convertGather(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value data = node.input(0), indices = node.input(1);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  FailureOr<int64_t> axis = normalizeAxis(im, node, node.getInt("axis", 0), dataType.getRank());
  if (failed(axis))
    return failure();
  Value axisSize = tensor::DimOp::create(b, loc, data, *axis);
  auto normalize = [&](OpBuilder &nb, Location l, Value index) -> Value {
    return checkedIndex(nb, l, node, 1, index, axisSize);
  };
  if (indexType.getRank() == 0) {
    // One index: the slice data[..., idx, ...] without the axis, which later passes see
    // through (an unrolled or looped recurrence reads its gates this way).
    Value idx = normalize(b, loc, tensor::ExtractOp::create(b, loc, indices, ValueRange{}));
    SmallVector<OpFoldResult> offsets(dataType.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, data);
    offsets[*axis] = idx;
    sizes[*axis] = b.getIndexAttr(1);
    SmallVector<int64_t> shape(dataType.getShape());
    shape.erase(shape.begin() + *axis);
    auto resultType = RankedTensorType::get(shape, dataType.getElementType());
    SmallVector<OpFoldResult> strides(dataType.getRank(), b.getIndexAttr(1));
    // A rank-reducing slice whose result type fits more than one dropped unit dim (data
    // [1, 2, 1, 64] sliced on axis 2 to [1, 2, 64]) is ambiguous, and upstream folding of
    // its offsets then picks the wrong one: slice keeping the axis, then collapse it.
    bool ambiguous = llvm::count_if(llvm::enumerate(dataType.getShape()), [&](auto d) {
                       return int64_t(d.index()) != *axis && d.value() == 1;
                     }) > 0;
    if (!ambiguous)
      return single(tensor::ExtractSliceOp::create(b, loc, resultType, data, offsets, sizes, strides),
                    node.inputType(0));
    Value slice = tensor::ExtractSliceOp::create(b, loc, data, offsets, sizes, strides);
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < dataType.getRank(); ++d) {
      if (d == *axis && !groups.empty()) {
        groups.back().push_back(d); // merged into the dim before it
        continue;
      }
      if (d == *axis + 1 && *axis == 0) {
        groups.push_back({0, d}); // axis 0: merged into the dim after it
        continue;
      }
      if (d != *axis)
        groups.push_back({d});
    }
    if (dataType.getRank() == 1)
      groups.clear();
    return single(tensor::CollapseShapeOp::create(b, loc, resultType, slice, groups),
                  node.inputType(0));
  }
  // out[d[:axis], i..., d[axis+1:]] = data[d[:axis], indices[i...], d[axis+1:]]
  int64_t r = indexType.getRank(), rank = dataType.getRank() - 1 + r;
  SmallVector<int64_t> shape;
  SmallVector<Value> dynDims;
  auto addDim = [&](Value v, int64_t d) {
    auto t = cast<RankedTensorType>(v.getType());
    shape.push_back(t.getDimSize(d));
    if (t.isDynamicDim(d))
      dynDims.push_back(tensor::DimOp::create(b, loc, v, d));
  };
  for (int64_t d = 0; d < *axis; ++d) addDim(data, d);
  for (int64_t d = 0; d < r; ++d) addDim(indices, d);
  for (int64_t d = *axis + 1; d < dataType.getRank(); ++d) addDim(data, d);
  SmallVector<AffineExpr> indexExprs;
  for (int64_t d = 0; d < r; ++d)
    indexExprs.push_back(b.getAffineDimExpr(*axis + d));
  Value init = im.emptyTensor(loc, shape, dataType.getElementType(), dynDims);
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, indexExprs, b.getContext()),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), indices, init, maps, iterators,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value idx = normalize(nb, l, args[0]);
            SmallVector<Value> coords;
            for (int64_t d = 0; d < *axis; ++d)
              coords.push_back(linalg::IndexOp::create(nb, l, d));
            coords.push_back(idx);
            for (int64_t d = *axis + 1; d < dataType.getRank(); ++d)
              coords.push_back(linalg::IndexOp::create(nb, l, d - 1 + r));
            linalg::YieldOp::create(nb, l, tensor::ExtractOp::create(nb, l, data, coords).getResult());
          })
          .getResult(0);
  return single(result, node.inputType(0));
}
/// The scatter reduction attribute: only plain assignment is supported.
LogicalResult checkAssignReduction(GraphImporter &im, const Node &node) {
  const onnx::AttributeProto *reduction = node.attr("reduction");
  if (reduction && reduction->s() != "none")
    return im.error(node, "reduction '") << reduction->s() << "' is not supported";
  return success();
}

/// Writes `part` (the shape of `out` from `dim` on, leading unit dims dropped) into
/// `out` at the leading coordinates `at`.
Value insertAt(GraphImporter &im, Location loc, Value part, Value out, ArrayRef<int64_t> at) {
  OpBuilder &b = im.builder;
  int64_t rank = rankOf(out);
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = im.mixedSizes(loc, out);
  for (auto [d, v] : llvm::enumerate(at)) {
    offsets[d] = b.getIndexAttr(v);
    sizes[d] = b.getIndexAttr(1);
  }
  return tensor::InsertSliceOp::create(b, loc, part, out, offsets, sizes, strides);
}

/// Slice `i` of `x` along dim 0, without that dim.
Value rowOf(GraphImporter &im, Location loc, Value x, int64_t i) {
  OpBuilder &b = im.builder;
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = im.mixedSizes(loc, x);
  offsets[0] = b.getIndexAttr(i);
  sizes[0] = b.getIndexAttr(1);
  auto rowType = RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, rowType, x, offsets, sizes, strides);
}

/// `x` with its leading `count` dims collapsed into one.
Value collapseLeading(OpBuilder &b, Location loc, Value x, int64_t count) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t d = 0; d < std::max<int64_t>(count, 1); ++d)
    first.push_back(d);
  groups.push_back(first);
  for (int64_t d = std::max<int64_t>(count, 1); d < type.getRank(); ++d)
    groups.push_back({d});
  if (count == 0) // no leading dims: a unit one
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get([&] {
          SmallVector<int64_t> shape{1};
          llvm::append_range(shape, type.getShape());
          return shape;
        }(), type.getElementType()), x, groups);
  if (count == 1)
    return x;
  return tensor::CollapseShapeOp::create(b, loc, x, groups);
}

/// ScatterND with indices computed at run time (torch's index_put with a symbolic batch):
/// a loop over the index tuples, each writing its slice of `updates` into the result.
Results scatterNDAtRunTime(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value data = node.input(0), indices = node.input(1), updates = node.input(2);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(indices.getType());
  int64_t q = indexType.getShape().back(), batchDims = indexType.getRank() - 1;
  // indices as [n, q], updates as [n, data.shape[q:]...]
  Value tuples = collapseLeading(b, loc, indices, batchDims);
  Value rows = collapseLeading(b, loc, updates, batchDims);
  if (cast<RankedTensorType>(rows.getType()).getRank() != dataType.getRank() - q + 1)
    return im.error(node, "updates do not match the indexed slices of ") << dataType;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = tensor::DimOp::create(b, loc, tuples, 0);
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{data},
      [&](OpBuilder &lb, Location l, Value i, ValueRange carried) {
        Value out = carried[0];
        int64_t rank = dataType.getRank();
        SmallVector<OpFoldResult> offsets(rank, lb.getIndexAttr(0)), strides(rank, lb.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(lb, l, out);
        for (int64_t d = 0; d < q; ++d) {
          Value raw = tensor::ExtractOp::create(
              lb, l, tuples, ValueRange{i, arith::ConstantIndexOp::create(lb, l, d)});
          offsets[d] = checkedIndex(lb, l, node, 1, raw, tensor::DimOp::create(lb, l, out, d));
          sizes[d] = lb.getIndexAttr(1);
        }
        // Row i of the updates, without its leading dim.
        auto rowsType = cast<RankedTensorType>(rows.getType());
        SmallVector<OpFoldResult> rowOffsets(rowsType.getRank(), lb.getIndexAttr(0)),
            rowStrides(rowsType.getRank(), lb.getIndexAttr(1));
        SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(lb, l, rows);
        rowOffsets[0] = i;
        rowSizes[0] = lb.getIndexAttr(1);
        auto rowType = RankedTensorType::get(rowsType.getShape().drop_front(), rowsType.getElementType());
        Value row = tensor::ExtractSliceOp::create(lb, l, rowType, rows, rowOffsets, rowSizes, rowStrides);
        Value next = tensor::InsertSliceOp::create(lb, l, row, out, offsets, sizes, strides);
        scf::YieldOp::create(lb, l, next);
      });
  return single(loop.getResult(0), node.inputType(0));
}

/// ScatterND with constant indices: one insert_slice per index tuple, in order (exporters
/// write a step's result into a zero tensor at a fixed position this way).
Results convertScatterND(GraphImporter &im, const Node &node) {
  if (failed(checkAssignReduction(im, node)))
    return failure();
  Value data = node.input(0), updates = node.input(2);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto indexType = cast<RankedTensorType>(node.input(1).getType());
  if (indexType.getRank() < 1 || indexType.isDynamicDim(indexType.getRank() - 1) ||
      indexType.getDimSize(indexType.getRank() - 1) > dataType.getRank())
    return im.error(node, "indices of type ") << indexType << " do not index " << dataType;
  std::optional<SmallVector<int64_t>> indices = im.constantInts(node.input(1));
  if (!indices)
    return scatterNDAtRunTime(im, node);
  int64_t q = indexType.getDimSize(indexType.getRank() - 1);
  int64_t tuples = q ? indices->size() / q : 0;
  // Updates as [tuples, data.shape[q:]...].
  SmallVector<int64_t> rowsShape{tuples};
  rowsShape.append(dataType.getShape().begin() + q, dataType.getShape().end());
  auto updatesType = cast<RankedTensorType>(updates.getType());
  if (!updatesType.hasStaticShape() || !dataType.hasStaticShape() ||
      updatesType.getNumElements() != ShapedType::getNumElements(rowsShape))
    return im.error(node, "updates of type ") << updatesType << " do not match " << tuples
                                              << " slices of " << dataType;
  OpBuilder &b = im.builder;
  auto rowsType = RankedTensorType::get(rowsShape, dataType.getElementType());
  auto shapeType = RankedTensorType::get({int64_t(rowsShape.size())}, b.getI64Type());
  Value shape = arith::ConstantOp::create(b, node.loc, DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(rowsShape)));
  Value rows = tensor::ReshapeOp::create(b, node.loc, rowsType, updates, shape);
  Value out = data;
  for (int64_t t = 0; t < tuples; ++t) {
    SmallVector<int64_t> at(indices->begin() + t * q, indices->begin() + (t + 1) * q);
    for (auto [d, v] : llvm::enumerate(at)) {
      int64_t size = dataType.getDimSize(d);
      if (v < -size || v >= size)
        return im.error(node, "index ") << v << " is out of range for dimension " << d
                                        << " of size " << size;
      v = v < 0 ? v + size : v;
    }
    out = insertAt(im, node.loc, rowOf(im, node.loc, rows, t), out, at);
  }
  return single(out, node.inputType(0));
}

/// ScatterElements with constant indices that pick, for each position j along `axis`,
/// one whole slice of `data` (indices equal across the other dims, and updates as large
/// as data there): torch's select_scatter / index_put of a time step.
Results convertScatterElements(GraphImporter &im, const Node &node) {
  if (failed(checkAssignReduction(im, node)))
    return failure();
  Value data = node.input(0), updates = node.input(2);
  auto dataType = cast<RankedTensorType>(data.getType());
  auto updatesType = cast<RankedTensorType>(updates.getType());
  FailureOr<int64_t> axis = normalizeAxis(im, node, node.getInt("axis", 0), dataType.getRank());
  if (failed(axis))
    return failure();
  FailureOr<SmallVector<int64_t>> indices = constantInput(im, node, 1, "indices");
  if (failed(indices))
    return failure();
  if (!dataType.hasStaticShape() || !updatesType.hasStaticShape() ||
      updatesType.getRank() != dataType.getRank())
    return im.error(node, "data and updates must have static shapes of one rank");
  for (int64_t d = 0; d < dataType.getRank(); ++d)
    if (d != *axis && updatesType.getDimSize(d) != dataType.getDimSize(d))
      return im.error(node, "only scatters of whole slices along the axis are supported");
  // indices[..., j, ...] must hold one value per j.
  ArrayRef<int64_t> shape = updatesType.getShape();
  int64_t inner = ShapedType::getNumElements(shape.drop_front(*axis + 1));
  int64_t count = shape[*axis];
  SmallVector<int64_t> slot(count, INT64_MIN);
  for (auto [e, v] : llvm::enumerate(*indices)) {
    int64_t j = (int64_t(e) / inner) % count;
    if (slot[j] != INT64_MIN && slot[j] != v)
      return im.error(node, "only scatters of whole slices along the axis are supported "
                            "(indices differ within a slice)");
    slot[j] = v;
  }
  OpBuilder &b = im.builder;
  int64_t rank = dataType.getRank(), size = dataType.getDimSize(*axis);
  Value out = data;
  for (int64_t j = 0; j < count; ++j) {
    int64_t v = slot[j];
    if (v < -size || v >= size)
      return im.error(node, "index ") << v << " is out of range for an axis of size " << size;
    v = v < 0 ? v + size : v;
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes = im.mixedSizes(node.loc, updates);
    offsets[*axis] = b.getIndexAttr(j);
    sizes[*axis] = b.getIndexAttr(1);
    Value part = tensor::ExtractSliceOp::create(b, node.loc, updates, offsets, sizes, strides);
    offsets[*axis] = b.getIndexAttr(v);
    out = tensor::InsertSliceOp::create(b, node.loc, part, out, offsets, sizes, strides);
  }
  return single(out, node.inputType(0));
}
/// Range(start, limit, delta) of scalars (integer or float): n = max(ceil((limit - start) / delta), 0)
/// elements start + i * delta (constant ones fold at import; here they come from symbolic
/// dims, as torch writes arange(batch)).
Results convertRange(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value start = node.input(0), limit = node.input(1), delta = node.input(2);
  for (Value v : {start, limit, delta})
    if (cast<RankedTensorType>(v.getType()).getRank() != 0)
      return im.error(node, "start, limit and delta must be scalars");
  Type elem = getElementTypeOrSelf(start);
  bool isFloat = isa<FloatType>(elem);
  auto scalarOf = [&](Value v) -> Value {
    Value x = tensor::ExtractOp::create(b, loc, v, ValueRange{});
    return isFloat ? x : arith::IndexCastOp::create(b, loc, b.getIndexType(), x).getResult();
  };
  Value s = scalarOf(start), l = scalarOf(limit), d = scalarOf(delta);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value steps;
  if (isFloat) { // ceil((limit - start) / delta), as numpy.arange counts
    Value q = arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, l, s), d);
    Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), math::CeilOp::create(b, loc, q));
    steps = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
  } else {
    steps = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, l, s), d);
  }
  Value count = arith::MaxSIOp::create(b, loc, steps, zero);
  Value init = im.emptyTensor(loc, {ShapedType::kDynamic}, elem, {count});
  AffineMap id = b.getMultiDimIdentityMap(1);
  Value result = linalg::GenericOp::create(
                     b, loc, init.getType(), ValueRange{}, init, SmallVector<AffineMap>{id},
                     SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
                     [&](OpBuilder &nb, Location l2, ValueRange) {
                       Value i = linalg::IndexOp::create(nb, l2, 0);
                       Value v;
                       if (isFloat) {
                         Value fi = arith::SIToFPOp::create(
                             nb, l2, elem, arith::IndexCastOp::create(nb, l2, nb.getI64Type(), i));
                         v = arith::AddFOp::create(nb, l2, s, arith::MulFOp::create(nb, l2, fi, d));
                       } else {
                         v = arith::IndexCastOp::create(
                             nb, l2, elem,
                             arith::AddIOp::create(nb, l2, s, arith::MulIOp::create(nb, l2, i, d)));
                       }
                       linalg::YieldOp::create(nb, l2, v);
                     })
                     .getResult(0);
  return single(result, node.inputType(0));
}
} // namespace

void mfc::onnx_import::registerShapeOps(ConverterTable &table) {
  table["Range"] = {convertRange, 11, kLatestOpset};
  table["ScatterND"] = {convertScatterND, 13, kLatestOpset};
  table["ScatterElements"] = {convertScatterElements, 13, kLatestOpset};
  table["Constant"] = {convertConstant, 13, kLatestOpset};
  table["ConstantOfShape"] = {convertConstantOfShape, 9, kLatestOpset};
  table["Shape"] = {convertShape, 13, kLatestOpset};
  table["Reshape"] = {convertReshape, 13, kLatestOpset};
  table["Transpose"] = {convertTranspose, 13, kLatestOpset};
  table["Squeeze"] = {convertSqueeze, 13, kLatestOpset};
  table["Unsqueeze"] = {convertUnsqueeze, 13, kLatestOpset};
  table["Concat"] = {convertConcat, 13, kLatestOpset};
  table["Slice"] = {convertSlice, 13, kLatestOpset};
  table["Split"] = {convertSplit, 13, kLatestOpset};
  table["Expand"] = {convertExpand, 13, kLatestOpset};
  table["Gather"] = {convertGather, 13, kLatestOpset};
}
