//===- ConstantEval.cpp - values of tensors computed from constants -------===//
#include "ConstantEval.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using mfc::tern::ScalarOp;

std::optional<ScalarOp> mfc::tern::compileScalar(Operation *op) {
  using K = ScalarOp::Kind;
  auto make = [](K kind) { return std::optional<ScalarOp>(ScalarOp{kind}); };
  std::optional<ScalarOp> result =
      llvm::TypeSwitch<Operation *, std::optional<ScalarOp>>(op)
          .Case<arith::ConstantOp>([](arith::ConstantOp c) -> std::optional<ScalarOp> {
            ScalarOp constant{K::constant};
            if (auto f = dyn_cast<FloatAttr>(c.getValue()))
              constant.value = f.getValueAsDouble();
            else if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
              constant.value = double(i.getInt());
            else
              return std::nullopt;
            return constant;
          })
          .Case<linalg::IndexOp>([](linalg::IndexOp index) {
            ScalarOp loopIndex{K::index};
            loopIndex.dim = index.getDim();
            return std::optional<ScalarOp>(loopIndex);
          })
          .Case<arith::ExtSIOp, arith::SIToFPOp, arith::ExtFOp, arith::TruncFOp,
                arith::IndexCastOp>([&](Operation *) { return make(K::copy); })
          .Case<arith::ExtUIOp, arith::UIToFPOp>([&](Operation *o) {
            // Values are read as signed: a negative one is the unsigned value minus 2^bits.
            ScalarOp unsignedValue{K::unsignedValue};
            unsignedValue.value = std::ldexp(1.0, o->getOperand(0).getType().getIntOrFloatBitWidth());
            return std::optional<ScalarOp>(unsignedValue);
          })
          .Case<arith::AddFOp, arith::AddIOp>([&](Operation *) { return make(K::add); })
          .Case<arith::SubFOp, arith::SubIOp>([&](Operation *) { return make(K::sub); })
          .Case<arith::MulFOp, arith::MulIOp>([&](Operation *) { return make(K::mul); })
          .Case<arith::DivFOp>([&](Operation *) { return make(K::div); })
          .Case<arith::NegFOp>([&](Operation *) { return make(K::neg); })
          .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) { return make(K::max); })
          .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) { return make(K::min); })
          .Case<math::AbsFOp>([&](Operation *) { return make(K::abs); })
          .Case<math::RoundEvenOp>([&](Operation *) { return make(K::roundEven); })
          .Case<math::RoundOp>([&](Operation *) { return make(K::round); })
          .Case<math::FloorOp>([&](Operation *) { return make(K::floor); })
          .Case<math::CeilOp>([&](Operation *) { return make(K::ceil); })
          .Case<math::SqrtOp>([&](Operation *) { return make(K::sqrt); })
          .Case<arith::SelectOp>([&](Operation *) { return make(K::select); })
          .Case<arith::CmpIOp>([&](arith::CmpIOp c) -> std::optional<ScalarOp> {
            using P = arith::CmpIPredicate;
            switch (c.getPredicate()) {
            case P::eq: return make(K::eq);
            case P::ne: return make(K::ne);
            case P::slt: return make(K::lt);
            case P::sle: return make(K::le);
            case P::sgt: return make(K::gt);
            case P::sge: return make(K::ge);
            default: return std::nullopt; // unsigned: values are read as signed
            }
          })
          .Default([](Operation *) { return std::nullopt; });
  if (result && op->getNumResults() == 1 && op->getResult(0).getType().isF32())
    result->roundToF32 = true;
  return result;
}

double ScalarOp::apply(ArrayRef<double> in, ArrayRef<int64_t> point) const {
  double v = 0;
  switch (kind) {
  case constant: v = value; break;
  case index: v = double(point[dim]); break;
  case copy: v = in[0]; break;
  case unsignedValue: v = in[0] < 0 ? in[0] + value : in[0]; break;
  case add: v = in[0] + in[1]; break;
  case sub: v = in[0] - in[1]; break;
  case mul: v = in[0] * in[1]; break;
  case div: v = in[0] / in[1]; break;
  case neg: v = -in[0]; break;
  case max: v = std::max(in[0], in[1]); break;
  case min: v = std::min(in[0], in[1]); break;
  case abs: v = std::fabs(in[0]); break;
  case roundEven: v = std::nearbyint(in[0]); break;
  case round: v = std::round(in[0]); break;
  case floor: v = std::floor(in[0]); break;
  case ceil: v = std::ceil(in[0]); break;
  case sqrt: v = std::sqrt(in[0]); break;
  case select: v = in[0] != 0 ? in[1] : in[2]; break;
  case eq: v = in[0] == in[1]; break;
  case ne: v = in[0] != in[1]; break;
  case lt: v = in[0] < in[1]; break;
  case le: v = in[0] <= in[1]; break;
  case gt: v = in[0] > in[1]; break;
  case ge: v = in[0] >= in[1]; break;
  }
  return roundToF32 ? double(float(v)) : v;
}
