//===- ConstantEval.cpp - values of tensors computed from constants -------===//
#include "ConstantEval.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

/// Evaluates one scalar op of a generic body over already-computed operands, rounding
/// float results to the op's type so that the chain computes what the model computes.
std::optional<double> mfc::tern::evaluateScalar(Operation *op, ArrayRef<double> in) {
  auto bits = [&](Type t) { return t.getIntOrFloatBitWidth(); };
  std::optional<double> result =
      llvm::TypeSwitch<Operation *, std::optional<double>>(op)
          .Case<arith::ConstantOp>([](arith::ConstantOp c) -> std::optional<double> {
            if (auto f = dyn_cast<FloatAttr>(c.getValue()))
              return f.getValueAsDouble();
            if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
              return double(i.getInt());
            return std::nullopt;
          })
          .Case<arith::ExtSIOp, arith::SIToFPOp, arith::ExtFOp, arith::TruncFOp>(
              [&](Operation *) { return in[0]; })
          .Case<arith::ExtUIOp, arith::UIToFPOp>([&](Operation *o) -> std::optional<double> {
            double v = in[0];
            return v < 0 ? v + std::ldexp(1.0, bits(o->getOperand(0).getType())) : v;
          })
          .Case<arith::AddFOp, arith::AddIOp>([&](Operation *) { return in[0] + in[1]; })
          .Case<arith::SubFOp, arith::SubIOp>([&](Operation *) { return in[0] - in[1]; })
          .Case<arith::MulFOp, arith::MulIOp>([&](Operation *) { return in[0] * in[1]; })
          .Case<arith::DivFOp>([&](Operation *) { return in[0] / in[1]; })
          .Case<arith::NegFOp>([&](Operation *) { return -in[0]; })
          .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) { return std::max(in[0], in[1]); })
          .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) { return std::min(in[0], in[1]); })
          .Case<math::AbsFOp>([&](Operation *) { return std::fabs(in[0]); })
          .Case<math::RoundEvenOp>([&](Operation *) { return std::nearbyint(in[0]); })
          .Case<math::RoundOp>([&](Operation *) { return std::round(in[0]); })
          .Case<math::FloorOp>([&](Operation *) { return std::floor(in[0]); })
          .Case<math::CeilOp>([&](Operation *) { return std::ceil(in[0]); })
          .Case<math::SqrtOp>([&](Operation *) { return std::sqrt(in[0]); })
          .Case<arith::IndexCastOp>([&](Operation *) { return in[0]; })
          .Case<arith::SelectOp>([&](Operation *) { return in[0] != 0 ? in[1] : in[2]; })
          .Case<arith::CmpIOp>([&](arith::CmpIOp c) -> std::optional<double> {
            using P = arith::CmpIPredicate;
            double a = in[0], b = in[1];
            switch (c.getPredicate()) {
            case P::eq: return a == b;
            case P::ne: return a != b;
            case P::slt: return a < b;
            case P::sle: return a <= b;
            case P::sgt: return a > b;
            case P::sge: return a >= b;
            default: return std::nullopt; // unsigned: values are read as signed
            }
          })
          .Default([](Operation *) { return std::nullopt; });
  if (result && op->getNumResults() == 1 && op->getResult(0).getType().isF32())
    result = double(float(*result));
  return result;
}

