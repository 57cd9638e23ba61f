//===- Linalg.cpp - MatMul, Gemm, MatMulInteger ---------------------------===//
//
// All three become one linalg.generic contraction over (batch..., m, n, k) with numpy
// batch broadcasting, followed by element-wise epilogues where needed.
//
//===----------------------------------------------------------------------===//
#include "../Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// One contraction operand: its value, whether its matrix dims are transposed, and
/// an optional per-row/per-column/scalar zero point subtracted before the product.
struct Operand {
  Value value;
  bool transposed = false;
};

/// Element product `a * b` accumulated into `acc` (in the accumulator's type).
using ProductFn = function_ref<Value(OpBuilder &, Location, Value a, Value b, ValueRange zps)>;

/// result[batch..., m, n] = sum_k product(A[batch..., m, k], B[batch..., k, n]), with 1-D
/// operands treated as ONNX MatMul does (A: [K] -> no m dim; B: [K] -> no n dim).
/// `aZeroPoint` (rank 0 or [M]) and `bZeroPoint` (rank 0 or [N]) are passed to `product`.
FailureOr<Value> contraction(GraphImporter &im, const Node &node, Operand a, Operand b,
                             Type accType, Value aZeroPoint, Value bZeroPoint,
                             ProductFn product) {
  OpBuilder &builder = im.builder;
  Location loc = node.loc;
  auto aType = cast<RankedTensorType>(a.value.getType());
  auto bType = cast<RankedTensorType>(b.value.getType());
  if (aType.getRank() < 1 || bType.getRank() < 1)
    return im.error(node, "matrix operands must have at least one dimension");
  bool hasM = aType.getRank() >= 2, hasN = bType.getRank() >= 2;
  int64_t aBatch = std::max<int64_t>(aType.getRank() - 2, 0);
  int64_t bBatch = std::max<int64_t>(bType.getRank() - 2, 0);
  int64_t batch = std::max(aBatch, bBatch);

  // Loop dims: batch..., m?, n?, k.
  int64_t mDim = batch, nDim = batch + hasM, kDim = batch + hasM + hasN;
  int64_t numLoops = kDim + 1;
  auto dim = [&](int64_t d) { return builder.getAffineDimExpr(d); };

  // Sizes of every loop dim: (static size, value providing it, axis in that value).
  SmallVector<int64_t> sizes(numLoops, 1);
  SmallVector<std::pair<Value, int64_t>> sources(numLoops, {Value(), -1});
  auto record = [&](int64_t loopDim, Value v, int64_t axis) -> LogicalResult {
    int64_t d = cast<RankedTensorType>(v.getType()).getDimSize(axis);
    int64_t &s = sizes[loopDim];
    if (d == 1 && loopDim < batch)
      return success(); // broadcast batch dim
    if (ShapedType::isDynamic(d)) {
      if (s == 1) {
        s = ShapedType::kDynamic;
        sources[loopDim] = {v, axis};
      }
      return success();
    }
    if (s != 1 && !ShapedType::isDynamic(s) && s != d)
      return im.error(node, "inner or batch dimensions do not match: ") << s << " vs " << d;
    s = d;
    sources[loopDim] = {v, axis};
    return success();
  };

  // A batch dim of size 1 broadcasts (reads index 0) only where the other operand's
  // batch dim is larger; where both are 1 (or one operand has none) it stays a loop dim,
  // so that [1, M, K] x [K, N] is a plain contraction.
  SmallVector<bool> batchBroadcasts(batch, false);
  for (auto [v, opBatch] : {std::make_pair(a.value, aBatch), std::make_pair(b.value, bBatch)}) {
    auto type = cast<RankedTensorType>(v.getType());
    for (int64_t i = 0; i < opBatch; ++i)
      if (type.getDimSize(i) != 1)
        batchBroadcasts[batch - opBatch + i] = true;
  }
  auto operandMap = [&](Operand op, int64_t opBatch, bool isA) -> FailureOr<AffineMap> {
    auto type = cast<RankedTensorType>(op.value.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < opBatch; ++i) {
      int64_t loopDim = batch - opBatch + i;
      if (failed(record(loopDim, op.value, i)))
        return failure();
      exprs.push_back(type.getDimSize(i) == 1 && batchBroadcasts[loopDim]
                          ? builder.getAffineConstantExpr(0)
                          : dim(loopDim));
    }
    if (type.getRank() == 1) {
      if (failed(record(kDim, op.value, 0)))
        return failure();
      exprs.push_back(dim(kDim));
    } else {
      int64_t outer = isA ? mDim : nDim;
      // A is [m, k] (or [k, m] transposed); B is [k, n] (or [n, k] transposed).
      bool outerFirst = isA != op.transposed;
      int64_t r = type.getRank();
      if (failed(record(outerFirst ? outer : kDim, op.value, r - 2)) ||
          failed(record(outerFirst ? kDim : outer, op.value, r - 1)))
        return failure();
      exprs.push_back(dim(outerFirst ? outer : kDim));
      exprs.push_back(dim(outerFirst ? kDim : outer));
    }
    return AffineMap::get(numLoops, 0, exprs, builder.getContext());
  };
  FailureOr<AffineMap> aMap = operandMap(a, aBatch, /*isA=*/true);
  if (failed(aMap))
    return failure();
  FailureOr<AffineMap> bMap = operandMap(b, bBatch, /*isA=*/false);
  if (failed(bMap))
    return failure();

  SmallVector<Value> inputs{a.value, b.value};
  SmallVector<AffineMap> maps{*aMap, *bMap};
  auto zeroPointMap = [&](Value zp, int64_t loopDim, bool present) -> LogicalResult {
    auto type = cast<RankedTensorType>(zp.getType());
    if (type.hasStaticShape() && type.getNumElements() == 1) {
      maps.push_back(AffineMap::get(numLoops, 0,
                                    SmallVector<AffineExpr>(type.getRank(), builder.getAffineConstantExpr(0)),
                                    builder.getContext()));
    } else if (type.getRank() == 1 && present) {
      maps.push_back(AffineMap::get(numLoops, 0, {dim(loopDim)}, builder.getContext()));
    } else {
      return im.error(node, "zero point must be a scalar or a per-row/per-column vector, found ")
             << type;
    }
    inputs.push_back(zp);
    return success();
  };
  if (aZeroPoint && failed(zeroPointMap(aZeroPoint, mDim, hasM)))
    return failure();
  if (bZeroPoint && failed(zeroPointMap(bZeroPoint, nDim, hasN)))
    return failure();

  SmallVector<AffineExpr> outExprs;
  SmallVector<int64_t> outShape;
  SmallVector<Value> dynDims;
  for (int64_t d = 0; d < kDim; ++d) {
    outExprs.push_back(dim(d));
    outShape.push_back(sizes[d]);
    if (ShapedType::isDynamic(sizes[d]))
      dynDims.push_back(tensor::DimOp::create(builder, loc, sources[d].first, sources[d].second));
  }
  maps.push_back(AffineMap::get(numLoops, 0, outExprs, builder.getContext()));

  Value empty = im.emptyTensor(loc, outShape, accType, dynDims);
  Value zero = im.scalar(loc, accType, 0);
  Value init = linalg::FillOp::create(builder, loc, zero, empty).getResult(0);
  SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  bool hasAZp = bool(aZeroPoint), hasBZp = bool(bZeroPoint);
  auto generic = linalg::GenericOp::create(
      builder, loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        SmallVector<Value> zps;
        size_t next = 2;
        zps.push_back(hasAZp ? args[next++] : Value());
        zps.push_back(hasBZp ? args[next++] : Value());
        Value p = product(b, l, args[0], args[1], zps);
        Value acc = args.back();
        Value sum = isa<FloatType>(accType) ? arith::AddFOp::create(b, l, acc, p).getResult()
                                            : arith::AddIOp::create(b, l, acc, p).getResult();
        linalg::YieldOp::create(b, l, sum);
      });
  // The report lists every MatMul/Gemm/MatMulInteger by this mark, whatever its shape.
  generic->setAttr(mfc::kOnnxOpTypeAttr, builder.getStringAttr(node.opType()));
  return generic.getResult(0);
}

Value floatOrIntProduct(OpBuilder &b, Location loc, Value x, Value y, ValueRange) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}

FailureOr<SmallVector<OnnxValue>> convertMatMul(GraphImporter &im, const Node &node) {
  Value a = node.input(0), b = node.input(1);
  Type elem = getElementTypeOrSelf(a);
  if (elem != getElementTypeOrSelf(b))
    return im.error(node, "operand element types differ");
  FailureOr<Value> result = contraction(im, node, {a}, {b}, elem, {}, {}, floatOrIntProduct);
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, node.inputType(0)}};
}

FailureOr<SmallVector<OnnxValue>> convertGemm(GraphImporter &im, const Node &node) {
  Value a = node.input(0), b = node.input(1), c = node.input(2);
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(b.getType());
  if (aType.getRank() != 2 || bType.getRank() != 2)
    return im.error(node, "Gemm operands must be matrices, found ") << aType << " and " << bType;
  Type elem = aType.getElementType();
  // transA: A' = transpose(A) as its own op, so the contraction reads activations as
  // x[m, k] (the layout the ternary rewrite expects, as MatMul writes it).
  if (node.getInt("transA", 0) != 0) {
    SmallVector<Value> dynDims;
    for (int64_t d : {1, 0})
      if (aType.isDynamicDim(d))
        dynDims.push_back(tensor::DimOp::create(im.builder, node.loc, a, d));
    Value init = im.emptyTensor(node.loc, {aType.getDimSize(1), aType.getDimSize(0)}, elem, dynDims);
    a = linalg::TransposeOp::create(im.builder, node.loc, a, init, ArrayRef<int64_t>{1, 0})
            ->getResult(0);
  }
  FailureOr<Value> product = contraction(im, node, {a, false},
                                         {b, node.getInt("transB", 0) != 0}, elem, {}, {},
                                         floatOrIntProduct);
  if (failed(product))
    return failure();
  float alpha = node.getFloat("alpha", 1.0f), beta = node.getFloat("beta", 1.0f);
  bool isFloat = isa<FloatType>(elem);
  auto mul = [&](OpBuilder &b, Location l, Value x, float s) -> Value {
    Value k = im.scalar(l, elem, s);
    return isFloat ? arith::MulFOp::create(b, l, x, k).getResult()
                   : arith::MulIOp::create(b, l, x, k).getResult();
  };
  SmallVector<Value> operands{*product};
  if (c && beta != 0.0f)
    operands.push_back(c);
  if (operands.size() == 1 && alpha == 1.0f)
    return SmallVector<OnnxValue>{{*product, node.inputType(0)}};
  FailureOr<Value> result = im.elementwise(
      node, operands, elem, [&](OpBuilder &b, Location l, ValueRange args) {
        Value y = alpha == 1.0f ? args[0] : mul(b, l, args[0], alpha);
        if (args.size() == 1)
          return y;
        Value bias = beta == 1.0f ? args[1] : mul(b, l, args[1], beta);
        return isFloat ? arith::AddFOp::create(b, l, y, bias).getResult()
                       : arith::AddIOp::create(b, l, y, bias).getResult();
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, node.inputType(0)}};
}

FailureOr<SmallVector<OnnxValue>> convertMatMulInteger(GraphImporter &im, const Node &node) {
  Type i32 = im.builder.getI32Type();
  bool aUnsigned = isUnsignedOnnxType(node.inputType(0));
  bool bUnsigned = isUnsignedOnnxType(node.inputType(1));
  auto widen = [&](OpBuilder &b, Location l, Value v, bool isUnsigned) -> Value {
    return isUnsigned ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                      : arith::ExtSIOp::create(b, l, i32, v).getResult();
  };
  FailureOr<Value> result = contraction(
      im, node, {node.input(0)}, {node.input(1)}, i32, node.input(2), node.input(3),
      [&](OpBuilder &b, Location l, Value x, Value y, ValueRange zps) -> Value {
        Value xi = widen(b, l, x, aUnsigned), yi = widen(b, l, y, bUnsigned);
        if (zps[0])
          xi = arith::SubIOp::create(b, l, xi, widen(b, l, zps[0], aUnsigned));
        if (zps[1])
          yi = arith::SubIOp::create(b, l, yi, widen(b, l, zps[1], bUnsigned));
        return arith::MulIOp::create(b, l, xi, yi);
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, onnx::TensorProto::INT32}};
}
} // namespace

void mfc::onnx_import::registerLinalgOps(ConverterTable &table) {
  table["MatMul"] = {convertMatMul, 13, kLatestOpset};
  table["Gemm"] = {convertGemm, 13, kLatestOpset};
  table["MatMulInteger"] = {convertMatMulInteger, 10, kLatestOpset};
}
