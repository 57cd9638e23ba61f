//===- Quant.cpp - QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear ===//
#include "../Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
using Results = FailureOr<SmallVector<OnnxValue>>;

/// Reshapes a per-axis 1-D `param` of a rank-`rank` tensor so it broadcasts along
/// `axis`; scalars and single-element tensors are returned as they are.
FailureOr<Value> alongAxis(GraphImporter &im, const Node &node, Value param, int64_t rank) {
  auto type = cast<RankedTensorType>(param.getType());
  if (type.getRank() == 0 || (type.getRank() == 1 && type.getDimSize(0) == 1) || rank <= 1)
    return param;
  if (type.getRank() != 1)
    return im.error(node, "scale and zero point must be scalars or 1-D (per axis), found ")
           << type;
  int64_t axis = node.getInt("axis", 1);
  if (axis < -rank || axis >= rank)
    return im.error(node, "axis ") << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = type.getDimSize(0);
  SmallVector<ReassociationIndices> groups{{}};
  for (int64_t d = 0; d < rank; ++d)
    groups[0].push_back(d);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> outputShape;
  for (int64_t d : shape)
    outputShape.push_back(d == ShapedType::kDynamic
                              ? OpFoldResult(tensor::DimOp::create(im.builder, node.loc, param, 0).getResult())
                              : OpFoldResult(im.builder.getIndexAttr(d)));
  return tensor::ExpandShapeOp::create(im.builder, node.loc, resultType, param, groups,
                                       outputShape)
      .getResult();
}

/// Saturating round-half-even of float `v` into the integer type of ONNX type `to`.
Value saturate(OpBuilder &b, Location loc, Value v, Type intType, int32_t to) {
  unsigned bits = intType.getIntOrFloatBitWidth();
  bool isUnsigned = isUnsignedOnnxType(to);
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, bits - 1);
  double hi = isUnsigned ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
  Type f = v.getType();
  v = arith::MaximumFOp::create(b, loc, v, arith::ConstantOp::create(b, loc, b.getFloatAttr(f, lo)));
  v = arith::MinimumFOp::create(b, loc, v, arith::ConstantOp::create(b, loc, b.getFloatAttr(f, hi)));
  return isUnsigned ? arith::FPToUIOp::create(b, loc, intType, v).getResult()
                    : arith::FPToSIOp::create(b, loc, intType, v).getResult();
}

Value intToFloat(OpBuilder &b, Location loc, Value v, Type f, bool isUnsigned) {
  return isUnsigned ? arith::UIToFPOp::create(b, loc, f, v).getResult()
                    : arith::SIToFPOp::create(b, loc, f, v).getResult();
}

/// x, scale and the optional zero point of (De)QuantizeLinear, the latter two shaped
/// to broadcast along the node's axis.
FailureOr<SmallVector<Value>> quantOperands(GraphImporter &im, const Node &node) {
  Value x = node.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<Value> operands{x};
  for (size_t i = 1; i < 3 && node.input(i); ++i) {
    FailureOr<Value> param = alongAxis(im, node, node.input(i), rank);
    if (failed(param))
      return failure();
    operands.push_back(*param);
  }
  return operands;
}

Results convertQuantizeLinear(GraphImporter &im, const Node &node) {
  FailureOr<SmallVector<Value>> operands = quantOperands(im, node);
  if (failed(operands))
    return failure();
  int32_t to = operands->size() > 2 ? node.inputType(2) : onnx::TensorProto::UINT8;
  Type intType = im.elementType(to);
  bool isUnsigned = isUnsignedOnnxType(to);
  int32_t xType = node.inputType(0), scaleType = node.inputType(1);
  // y = saturate(round_half_even(x / scale) + zero_point); an int32 x is divided in the
  // scale's float type.
  FailureOr<Value> y = im.elementwise(
      node, *operands, intType, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value x = im.castScalar(b, loc, a[0], xType, scaleType);
        Value q = math::RoundEvenOp::create(b, loc, arith::DivFOp::create(b, loc, x, a[1]));
        if (a.size() > 2)
          q = arith::AddFOp::create(b, loc, q, intToFloat(b, loc, a[2], q.getType(), isUnsigned));
        return saturate(b, loc, q, intType, to);
      });
  if (failed(y))
    return failure();
  return SmallVector<OnnxValue>{{*y, to}};
}

Results convertDequantizeLinear(GraphImporter &im, const Node &node) {
  FailureOr<SmallVector<Value>> operands = quantOperands(im, node);
  if (failed(operands))
    return failure();
  Type f = getElementTypeOrSelf((*operands)[1]);
  bool isUnsigned = isUnsignedOnnxType(node.inputType(0));
  // y = (x - zero_point) * scale, the difference taken exactly in i32.
  FailureOr<Value> y = im.elementwise(
      node, *operands, f, [&](OpBuilder &b, Location loc, ValueRange a) {
        Type i32 = b.getI32Type();
        auto widen = [&](Value v) -> Value {
          if (v.getType() == i32)
            return v;
          return isUnsigned ? arith::ExtUIOp::create(b, loc, i32, v).getResult()
                            : arith::ExtSIOp::create(b, loc, i32, v).getResult();
        };
        Value q = widen(a[0]);
        if (a.size() > 2)
          q = arith::SubIOp::create(b, loc, q, widen(a[2]));
        return arith::MulFOp::create(b, loc, arith::SIToFPOp::create(b, loc, f, q), a[1]);
      });
  if (failed(y))
    return failure();
  return SmallVector<OnnxValue>{{*y, onnxElemTypeOf(f)}};
}

Results convertDynamicQuantizeLinear(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  Value x = node.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  Type f = type.getElementType();
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  // The range always includes 0: min(0, min x), max(0, max x).
  Value max = im.reduce(loc, x, all, false, 0.0, [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
    return arith::MaximumFOp::create(nb, l, v, acc);
  });
  Value min = im.reduce(loc, x, all, false, 0.0, [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
    return arith::MinimumFOp::create(nb, l, v, acc);
  });
  Type u8 = b.getI8Type();
  const int32_t uint8 = onnx::TensorProto::UINT8;
  // scale = (max - min) / 255; zero_point = saturate(round(-min / scale)).
  FailureOr<Value> scale = im.elementwise(node, {max, min}, f, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value range = arith::SubFOp::create(nb, l, a[0], a[1]);
    return arith::DivFOp::create(nb, l, range, arith::ConstantOp::create(nb, l, nb.getFloatAttr(f, 255.0)));
  });
  if (failed(scale))
    return failure();
  FailureOr<Value> zeroPoint = im.elementwise(node, {min, *scale}, u8, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value zp = arith::DivFOp::create(nb, l, arith::NegFOp::create(nb, l, a[0]), a[1]);
    return saturate(nb, l, math::RoundEvenOp::create(nb, l, zp), u8, uint8);
  });
  if (failed(zeroPoint))
    return failure();
  FailureOr<Value> y = im.elementwise(node, {x, *scale, *zeroPoint}, u8, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value q = math::RoundEvenOp::create(nb, l, arith::DivFOp::create(nb, l, a[0], a[1]));
    q = arith::AddFOp::create(nb, l, q, intToFloat(nb, l, a[2], f, /*isUnsigned=*/true));
    return saturate(nb, l, q, u8, uint8);
  });
  if (failed(y))
    return failure();
  return SmallVector<OnnxValue>{{*y, uint8}, {*scale, onnx::TensorProto::FLOAT}, {*zeroPoint, uint8}};
}
} // namespace

void mfc::onnx_import::registerQuantOps(ConverterTable &table) {
  table["QuantizeLinear"] = {convertQuantizeLinear, 13, kLatestOpset};
  table["DequantizeLinear"] = {convertDequantizeLinear, 13, kLatestOpset};
  table["DynamicQuantizeLinear"] = {convertDynamicQuantizeLinear, 11, kLatestOpset};
}
