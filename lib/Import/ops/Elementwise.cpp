//===- Elementwise.cpp - element-wise ONNX ops ----------------------------===//
//
// Unary, binary, comparison, Where, Clip, Cast, Identity: one linalg.generic each,
// with numpy broadcasting (GraphImporter::elementwise).
//
//===----------------------------------------------------------------------===//
#include "../Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// Scalar body given the ONNX element type of the (first) input.
using TypedBody = std::function<Value(OpBuilder &, Location, ValueRange, int32_t onnxType)>;

Value floatConst(OpBuilder &b, Location loc, Type type, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
}
Value intConst(OpBuilder &b, Location loc, Type type, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, v));
}
bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

/// Registers an op whose result has the element type of its first input.
void addSameType(ConverterTable &table, StringRef opType, int since, TypedBody body,
                 size_t minInputs, size_t maxInputs) {
  table[opType] = {[body, minInputs, maxInputs](GraphImporter &im,
                                                const Node &node) -> FailureOr<SmallVector<OnnxValue>> {
                     SmallVector<Value> operands;
                     for (const OnnxValue &in : node.inputs)
                       if (in.value)
                         operands.push_back(in.value);
                     if (operands.size() < minInputs || operands.size() > maxInputs)
                       return im.error(node, "expected ")
                              << minInputs << " to " << maxInputs << " inputs, found "
                              << operands.size();
                     int32_t onnxType = node.inputType(0);
                     FailureOr<Value> result = im.elementwise(
                         node, operands, getElementTypeOrSelf(operands[0]),
                         [&](OpBuilder &b, Location loc, ValueRange args) {
                           return body(b, loc, args, onnxType);
                         });
                     if (failed(result))
                       return failure();
                     return SmallVector<OnnxValue>{{*result, onnxType}};
                   },
                   since, kLatestOpset};
}

void addUnary(ConverterTable &table, StringRef opType, int since, TypedBody body) {
  addSameType(table, opType, since, std::move(body), 1, 1);
}
void addBinary(ConverterTable &table, StringRef opType, int since, TypedBody body) {
  addSameType(table, opType, since, std::move(body), 2, 2);
}

/// A variadic op (Min, Max, Sum) folded pairwise in one generic.
void addVariadic(ConverterTable &table, StringRef opType, int since, TypedBody pair) {
  addSameType(table, opType, since,
              [pair](OpBuilder &b, Location loc, ValueRange args, int32_t t) {
                Value acc = args[0];
                for (Value v : args.drop_front())
                  acc = pair(b, loc, {acc, v}, t);
                return acc;
              },
              1, 64);
}

/// Float op `F`, or integer op `I` (signed) / `U` (unsigned).
template <typename F, typename I, typename U = I>
TypedBody arithBody() {
  return [](OpBuilder &b, Location loc, ValueRange a, int32_t t) -> Value {
    if (isFloat(a[0]))
      return F::create(b, loc, a[0], a[1]);
    if (isUnsignedOnnxType(t))
      return U::create(b, loc, a[0], a[1]);
    return I::create(b, loc, a[0], a[1]);
  };
}

template <typename F>
TypedBody floatUnary() {
  return [](OpBuilder &b, Location loc, ValueRange a, int32_t) -> Value {
    return F::create(b, loc, a[0]);
  };
}

void addCompare(ConverterTable &table, StringRef opType, int since, arith::CmpFPredicate fp,
                arith::CmpIPredicate si, arith::CmpIPredicate ui) {
  table[opType] = {[=](GraphImporter &im, const Node &node) -> FailureOr<SmallVector<OnnxValue>> {
                     int32_t t = node.inputType(0);
                     FailureOr<Value> result = im.elementwise(
                         node, {node.input(0), node.input(1)}, im.builder.getI1Type(),
                         [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                           if (isFloat(a[0]))
                             return arith::CmpFOp::create(b, loc, fp, a[0], a[1]);
                           return arith::CmpIOp::create(b, loc, isUnsignedOnnxType(t) ? ui : si,
                                                        a[0], a[1]);
                         });
                     if (failed(result))
                       return failure();
                     return SmallVector<OnnxValue>{{*result, onnx::TensorProto::BOOL}};
                   },
                   since, kLatestOpset};
}

FailureOr<SmallVector<OnnxValue>> convertClip(GraphImporter &im, const Node &node) {
  // Clip-11+: optional scalar min (input 1) and max (input 2).
  Value x = node.input(0), lo = node.input(1), hi = node.input(2);
  SmallVector<Value> operands{x};
  if (lo) operands.push_back(lo);
  if (hi) operands.push_back(hi);
  int32_t t = node.inputType(0);
  FailureOr<Value> result = im.elementwise(
      node, operands, getElementTypeOrSelf(x), [&](OpBuilder &b, Location loc, ValueRange a) {
        Value v = a[0];
        size_t next = 1;
        if (lo) v = maxOf(b, loc, v, a[next++], t);
        if (hi) v = minOf(b, loc, v, a[next++], t);
        return v;
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, t}};
}

FailureOr<SmallVector<OnnxValue>> convertWhere(GraphImporter &im, const Node &node) {
  FailureOr<Value> result = im.elementwise(
      node, {node.input(0), node.input(1), node.input(2)}, getElementTypeOrSelf(node.input(1)),
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, node.inputType(1)}};
}

FailureOr<SmallVector<OnnxValue>> convertCast(GraphImporter &im, const Node &node) {
  int32_t to = node.getInt("to", 0);
  Type dst = im.elementType(to);
  if (!dst)
    return im.error(node, "unsupported target type ") << to;
  int32_t from = node.inputType(0);
  FailureOr<Value> result = im.elementwise(
      node, {node.input(0)}, dst, [&](OpBuilder &b, Location loc, ValueRange a) {
        return im.castScalar(b, loc, a[0], from, to);
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, to}};
}

FailureOr<SmallVector<OnnxValue>> convertPow(GraphImporter &im, const Node &node) {
  // Pow-13/15: the result has the base's type. Integer powers stay integer (exponent
  // cast to the base's type); mixed types compute in the float operand's type.
  int32_t baseType = node.inputType(0), expType = node.inputType(1);
  int32_t floatType = isFloatOnnxType(baseType) ? baseType : expType;
  FailureOr<Value> result = im.elementwise(
      node, {node.input(0), node.input(1)}, getElementTypeOrSelf(node.input(0)),
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (!isFloatOnnxType(floatType))
          return math::IPowIOp::create(b, loc, a[0],
                                       im.castScalar(b, loc, a[1], expType, baseType));
        Value pow = math::PowFOp::create(b, loc, im.castScalar(b, loc, a[0], baseType, floatType),
                                         im.castScalar(b, loc, a[1], expType, floatType));
        return im.castScalar(b, loc, pow, floatType, baseType);
      });
  if (failed(result))
    return failure();
  return SmallVector<OnnxValue>{{*result, baseType}};
}

FailureOr<SmallVector<OnnxValue>> convertIdentity(GraphImporter &, const Node &node) {
  return SmallVector<OnnxValue>{node.inputs[0]};
}
} // namespace

void mfc::onnx_import::registerElementwiseOps(ConverterTable &table) {
  addBinary(table, "Add", 13, arithBody<arith::AddFOp, arith::AddIOp>());
  addBinary(table, "Sub", 13, arithBody<arith::SubFOp, arith::SubIOp>());
  addBinary(table, "Mul", 13, arithBody<arith::MulFOp, arith::MulIOp>());
  addBinary(table, "Div", 13, arithBody<arith::DivFOp, arith::DivSIOp, arith::DivUIOp>());
  addVariadic(table, "Max", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t t) {
    return maxOf(b, loc, a[0], a[1], t);
  });
  addVariadic(table, "Min", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t t) {
    return minOf(b, loc, a[0], a[1], t);
  });
  addVariadic(table, "Sum", 13, arithBody<arith::AddFOp, arith::AddIOp>());

  addUnary(table, "Neg", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t) -> Value {
    if (isFloat(a[0]))
      return arith::NegFOp::create(b, loc, a[0]);
    return arith::SubIOp::create(b, loc, intConst(b, loc, a[0].getType(), 0), a[0]);
  });
  addUnary(table, "Abs", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t t) -> Value {
    if (isFloat(a[0]))
      return math::AbsFOp::create(b, loc, a[0]);
    if (isUnsignedOnnxType(t))
      return a[0];
    return math::AbsIOp::create(b, loc, a[0]);
  });
  addUnary(table, "Sign", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t t) -> Value {
    Type type = a[0].getType();
    if (isFloat(a[0])) {
      Value zero = floatConst(b, loc, type, 0);
      Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a[0], zero);
      Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a[0], zero);
      Value sign = arith::SelectOp::create(b, loc, pos, floatConst(b, loc, type, 1), zero);
      return arith::SelectOp::create(b, loc, neg, floatConst(b, loc, type, -1), sign);
    }
    Value zero = intConst(b, loc, type, 0);
    Value pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, a[0], zero);
    Value sign = arith::SelectOp::create(b, loc, pos, intConst(b, loc, type, 1), zero);
    if (isUnsignedOnnxType(t))
      return sign;
    Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[0], zero);
    return arith::SelectOp::create(b, loc, neg, intConst(b, loc, type, -1), sign);
  });
  addUnary(table, "Sqrt", 13, floatUnary<math::SqrtOp>());
  addUnary(table, "Exp", 13, floatUnary<math::ExpOp>());
  addUnary(table, "Log", 13, floatUnary<math::LogOp>());
  addUnary(table, "Tanh", 13, floatUnary<math::TanhOp>());
  addUnary(table, "Erf", 13, floatUnary<math::ErfOp>());
  addUnary(table, "Floor", 13, floatUnary<math::FloorOp>());
  addUnary(table, "Ceil", 13, floatUnary<math::CeilOp>());
  addUnary(table, "Round", 11, floatUnary<math::RoundEvenOp>());
  addUnary(table, "Reciprocal", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t) -> Value {
    return arith::DivFOp::create(b, loc, floatConst(b, loc, a[0].getType(), 1), a[0]);
  });
  addUnary(table, "Sigmoid", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t) -> Value {
    Type type = a[0].getType();
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, a[0]));
    Value one = floatConst(b, loc, type, 1);
    return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
  });
  addUnary(table, "Relu", 13, [](OpBuilder &b, Location loc, ValueRange a, int32_t t) -> Value {
    Value zero = isFloat(a[0]) ? floatConst(b, loc, a[0].getType(), 0)
                               : intConst(b, loc, a[0].getType(), 0);
    // maxnumf: Relu(NaN) follows the comparison x > 0 (false), as ONNX Runtime does.
    if (isFloat(a[0]))
      return arith::MaxNumFOp::create(b, loc, a[0], zero);
    return maxOf(b, loc, a[0], zero, t);
  });
  addUnary(table, "Not", 1, [](OpBuilder &b, Location loc, ValueRange a, int32_t) -> Value {
    return arith::XOrIOp::create(b, loc, a[0], intConst(b, loc, a[0].getType(), 1));
  });
  addBinary(table, "And", 7, arithBody<arith::AndIOp, arith::AndIOp>());
  addBinary(table, "Or", 7, arithBody<arith::OrIOp, arith::OrIOp>());

  using FP = arith::CmpFPredicate;
  using IP = arith::CmpIPredicate;
  addCompare(table, "Equal", 13, FP::OEQ, IP::eq, IP::eq);
  addCompare(table, "Less", 13, FP::OLT, IP::slt, IP::ult);
  addCompare(table, "LessOrEqual", 13, FP::OLE, IP::sle, IP::ule);
  addCompare(table, "Greater", 13, FP::OGT, IP::sgt, IP::ugt);
  addCompare(table, "GreaterOrEqual", 13, FP::OGE, IP::sge, IP::uge);

  table["Pow"] = {convertPow, 13, kLatestOpset};
  table["Clip"] = {convertClip, 13, kLatestOpset};
  table["Where"] = {convertWhere, 13, kLatestOpset};
  table["Cast"] = {convertCast, 13, kLatestOpset};
  table["Identity"] = {convertIdentity, 13, kLatestOpset};
}
