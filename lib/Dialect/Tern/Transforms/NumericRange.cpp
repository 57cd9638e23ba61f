//===- NumericRange.cpp - what is known about the values of a tensor ------===//
#include "NumericRange.h"

#include "ElementExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mfc::tern;

namespace {
/// Range of a scalar in the body of the element-wise `generic`.
NumericRange rangeOfScalar(Value v, linalg::GenericOp generic, int depth) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != &generic.getRegion().front() ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return {};
    return rangeOfTensor(generic.getDpsInputs()[arg.getArgNumber()], depth + 1);
  }
  Operation *op = v.getDefiningOp();
  if (!op)
    return {};
  auto both = [&](auto combine) {
    NumericRange a = rangeOfScalar(op->getOperand(0), generic, depth);
    NumericRange b = rangeOfScalar(op->getOperand(1), generic, depth);
    return NumericRange{a.integral && b.integral, combine(a.lo, b.lo), combine(a.hi, b.hi)};
  };
  auto max = [](double a, double b) { return std::max(a, b); };
  auto min = [](double a, double b) { return std::min(a, b); };
  return llvm::TypeSwitch<Operation *, NumericRange>(op)
      .Case<arith::ConstantOp>([](arith::ConstantOp c) {
        auto f = dyn_cast<FloatAttr>(c.getValue());
        if (!f)
          return NumericRange{};
        double x = f.getValueAsDouble();
        return NumericRange{std::nearbyint(x) == x, x, x};
      })
      .Case<math::RoundEvenOp, math::RoundOp, math::FloorOp, math::CeilOp>([&](Operation *o) {
        NumericRange r = rangeOfScalar(o->getOperand(0), generic, depth);
        return NumericRange{true, std::floor(r.lo), std::ceil(r.hi)};
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) { return both(max); })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) { return both(min); })
      .Case<arith::SIToFPOp>([](arith::SIToFPOp c) {
        unsigned bits = c.getIn().getType().getIntOrFloatBitWidth();
        return NumericRange{true, -std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1};
      })
      .Default([](Operation *) { return NumericRange{}; });
}

} // namespace

NumericRange mfc::tern::rangeOfTensor(Value tensor, int depth) {
  if (depth > 8) // chains of element-wise ops this long are not quantization chains
    return {};
  if (std::optional<std::vector<double>> values = constantValues(tensor)) {
    NumericRange r{true, INFINITY, -INFINITY};
    for (double x : *values) {
      r.integral &= std::nearbyint(x) == x;
      r.lo = std::min(r.lo, x);
      r.hi = std::max(r.hi, x);
    }
    return r;
  }
  if (auto cast = tensor.getDefiningOp<tensor::CastOp>())
    return rangeOfTensor(cast.getSource(), depth + 1);
  auto generic = tensor.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return {};
  Value yielded = generic.getRegion().front().getTerminator()->getOperand(0);
  return rangeOfScalar(yielded, generic, depth);
}
