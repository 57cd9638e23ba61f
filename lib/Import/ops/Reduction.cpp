//===- Reduction.cpp - reductions, Softmax, LayerNormalization, CumSum ----===//
#include "../Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// Normalizes ONNX axes (negative counts from the end) to sorted unique dims of a
/// rank-`rank` tensor; empty `axes` means all dims.
FailureOr<SmallVector<int64_t>> normalizeAxes(GraphImporter &im, const Node &node,
                                              ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> dims;
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank)
      return im.error(node, "axis ") << axis << " is out of range for rank " << rank;
    dims.push_back(axis < 0 ? axis + rank : axis);
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      dims.push_back(d);
  llvm::sort(dims);
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

Value addOf(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

/// Number of elements in the reduced dims, as a scalar of `elem`.
Value reducedCount(GraphImporter &im, Location loc, Value x, ArrayRef<int64_t> dims, Type elem) {
  OpBuilder &b = im.builder;
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d : dims)
    count = arith::MulIOp::create(b, loc, count, tensor::DimOp::create(b, loc, x, d));
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
  if (isa<FloatType>(elem))
    return arith::SIToFPOp::create(b, loc, elem, asInt);
  return arith::TruncIOp::create(b, loc, elem, asInt);
}

/// Axes of a Reduce* node: the `axes` input (ReduceSum-13+, all Reduce*-18+) or attribute.
FailureOr<SmallVector<int64_t>> reduceAxes(GraphImporter &im, const Node &node, bool &reduceNothing) {
  auto rank = cast<RankedTensorType>(node.input(0).getType()).getRank();
  SmallVector<int64_t> axes;
  if (Value axesInput = node.input(1)) {
    std::optional<SmallVector<int64_t>> constant = im.constantInts(axesInput);
    if (!constant)
      return im.error(node, "axes must be a constant");
    axes = *constant;
  } else if (auto attr = node.getInts("axes")) {
    axes = *attr;
  }
  reduceNothing = axes.empty() && node.getInt("noop_with_empty_axes", 0);
  return normalizeAxes(im, node, axes, rank);
}

enum class ReduceKind { Sum, Mean, Max };

ConvertFn reduceConverter(ReduceKind kind) {
  return [kind](GraphImporter &im, const Node &node) -> FailureOr<SmallVector<OnnxValue>> {
    bool reduceNothing = false;
    FailureOr<SmallVector<int64_t>> dims = reduceAxes(im, node, reduceNothing);
    if (failed(dims))
      return failure();
    Value x = node.input(0);
    if (reduceNothing)
      return SmallVector<OnnxValue>{node.inputs[0]};
    bool keepDims = node.getInt("keepdims", 1) != 0;
    Type elem = getElementTypeOrSelf(x);
    bool isFloat = isa<FloatType>(elem), isUnsigned = isUnsignedOnnxType(node.inputType(0));
    Value result;
    if (kind == ReduceKind::Max) {
      double lowest = isFloat ? -std::numeric_limits<double>::infinity()
                      : isUnsigned ? 0.0
                                   : double(APInt::getSignedMinValue(elem.getIntOrFloatBitWidth()).getSExtValue());
      result = im.reduce(node.loc, x, *dims, keepDims, lowest,
                      [&](OpBuilder &b, Location l, Value v, Value acc) {
                        return maxOf(b, l, v, acc, node.inputType(0));
                      });
    } else {
      result = im.reduce(node.loc, x, *dims, keepDims, 0, addOf);
    }
    if (kind == ReduceKind::Mean) {
      Value count = reducedCount(im, node.loc, x, *dims, elem);
      FailureOr<Value> mean = im.elementwise(
          node, {result}, elem, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
            if (isFloat)
              return arith::DivFOp::create(b, l, a[0], count);
            return arith::DivSIOp::create(b, l, a[0], count);
          });
      if (failed(mean))
        return failure();
      result = *mean;
    }
    return SmallVector<OnnxValue>{{result, node.inputType(0)}};
  };
}

/// Element-wise binary float op helper for the composite converters below.
template <typename OpT>
FailureOr<Value> binary(GraphImporter &im, const Node &node, Value x, Value y) {
  return im.elementwise(node, {x, y}, getElementTypeOrSelf(x),
                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return OpT::create(b, l, a[0], a[1]);
                        });
}

FailureOr<SmallVector<OnnxValue>> convertSoftmax(GraphImporter &im, const Node &node) {
  Value x = node.input(0);
  auto rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<SmallVector<int64_t>> dims =
      normalizeAxes(im, node, {node.getInt("axis", -1)}, rank);
  if (failed(dims))
    return failure();
  // softmax = exp(x - max) / sum(exp(x - max)), along one axis (Softmax-13).
  Value max = im.reduce(node.loc, x, *dims, true, -std::numeric_limits<double>::infinity(),
                     [](OpBuilder &b, Location l, Value v, Value acc) -> Value {
                       return arith::MaximumFOp::create(b, l, v, acc);
                     });
  FailureOr<Value> exp = im.elementwise(node, {x, max}, getElementTypeOrSelf(x),
                                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                          return math::ExpOp::create(
                                              b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                                        });
  if (failed(exp))
    return failure();
  Value sum = im.reduce(node.loc, *exp, *dims, true, 0, addOf);
  FailureOr<Value> result = binary<arith::DivFOp>(im, node, *exp, sum);
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, node.inputType(0)}};
}

FailureOr<SmallVector<OnnxValue>> convertLayerNorm(GraphImporter &im, const Node &node) {
  Value x = node.input(0), scale = node.input(1), bias = node.input(2);
  auto rank = cast<RankedTensorType>(x.getType()).getRank();
  int64_t axis = node.getInt("axis", -1);
  if (axis < -rank || axis >= rank)
    return im.error(node, "axis ") << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  SmallVector<int64_t> dims;
  for (int64_t d = axis; d < rank; ++d)
    dims.push_back(d);
  Type elem = getElementTypeOrSelf(x);
  float eps = node.getFloat("epsilon", 1e-5f);
  Value count = reducedCount(im, node.loc, x, dims, elem);
  auto meanOf = [&](Value v) -> FailureOr<Value> {
    Value sum = im.reduce(node.loc, v, dims, true, 0, addOf);
    return im.elementwise(node, {sum}, elem, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::DivFOp::create(b, l, a[0], count);
    });
  };
  FailureOr<Value> mean = meanOf(x);
  if (failed(mean))
    return failure();
  FailureOr<Value> centered = binary<arith::SubFOp>(im, node, x, *mean);
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = binary<arith::MulFOp>(im, node, *centered, *centered);
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = meanOf(*squared);
  if (failed(variance))
    return failure();
  FailureOr<Value> invStdDev = im.elementwise(
      node, {*variance}, elem, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value e = arith::ConstantOp::create(b, l, b.getFloatAttr(elem, eps));
        return math::RsqrtOp::create(b, l, arith::AddFOp::create(b, l, a[0], e));
      });
  if (failed(invStdDev))
    return failure();
  SmallVector<Value> operands{*centered, *invStdDev, scale};
  if (bias)
    operands.push_back(bias);
  FailureOr<Value> y = im.elementwise(node, operands, elem,
                                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                        Value v = arith::MulFOp::create(b, l, a[0], a[1]);
                                        v = arith::MulFOp::create(b, l, v, a[2]);
                                        return bias ? arith::AddFOp::create(b, l, v, a[3]) : v;
                                      });
  if (failed(y))
    return failure();
  int32_t t = node.inputType(0);
  return SmallVector<OnnxValue>{{*y, t}, {*mean, t}, {*invStdDev, t}};
}

FailureOr<SmallVector<OnnxValue>> convertCumSum(GraphImporter &im, const Node &node) {
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  std::optional<SmallVector<int64_t>> axisValue = im.constantInts(node.input(1));
  if (!axisValue || axisValue->size() != 1)
    return im.error(node, "axis must be a constant scalar");
  FailureOr<SmallVector<int64_t>> dims = normalizeAxes(im, node, *axisValue, rank);
  if (failed(dims))
    return failure();
  int64_t axis = (*dims)[0];
  bool exclusive = node.getInt("exclusive", 0), reverse = node.getInt("reverse", 0);
  // y[.., i, ..] = sum over j of x[.., j, ..] where j <= i (j < i exclusive; >= / > reversed):
  // one generic with an extra reduction loop j; O(n^2) along the axis, which is short
  // (layers, positions) where MatMul-free LMs use it.
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  SmallVector<AffineExpr> inExprs;
  for (int64_t d = 0; d < rank; ++d)
    inExprs.push_back(b.getAffineDimExpr(d == axis ? rank : d));
  SmallVector<AffineMap> maps{AffineMap::get(rank + 1, 0, inExprs, b.getContext()),
                              AffineMap::getMultiDimIdentityMap(rank + 1, b.getContext())
                                  .getMajorSubMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  SmallVector<Value> dynDims;
  for (int64_t d = 0; d < rank; ++d)
    if (type.isDynamicDim(d))
      dynDims.push_back(tensor::DimOp::create(b, loc, x, d));
  Type elem = type.getElementType();
  Value empty = im.emptyTensor(loc, type.getShape(), elem, dynDims);
  Value init = linalg::FillOp::create(b, loc, im.scalar(loc, elem, 0), empty).getResult(0);
  arith::CmpIPredicate pred = reverse ? (exclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
                                      : (exclusive ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), x, init, maps, iterators,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value i = linalg::IndexOp::create(nb, l, axis);
            Value j = linalg::IndexOp::create(nb, l, rank);
            Value take = arith::CmpIOp::create(nb, l, pred, j, i);
            Value sum = addOf(nb, l, args[1], args[0]);
            linalg::YieldOp::create(nb, l, arith::SelectOp::create(nb, l, take, sum, args[1]).getResult());
          })
          .getResult(0);
  return SmallVector<OnnxValue>{{result, node.inputType(0)}};
}
} // namespace

void mfc::onnx_import::registerReductionOps(ConverterTable &table) {
  table["ReduceSum"] = {reduceConverter(ReduceKind::Sum), 13, kLatestOpset};
  table["ReduceMean"] = {reduceConverter(ReduceKind::Mean), 13, kLatestOpset};
  table["ReduceMax"] = {reduceConverter(ReduceKind::Max), 13, kLatestOpset};
  table["Softmax"] = {convertSoftmax, 13, kLatestOpset};
  table["LayerNormalization"] = {convertLayerNorm, 17, kLatestOpset};
  table["CumSum"] = {convertCumSum, 13, kLatestOpset}; // CumSum-11 and CumSum-14 differ only in types
}
