//===- ApproximateMath.cpp - math.exp as a vectorizable polynomial --------===//
//
// math.exp (f32) => MLIR's polynomial approximation (range reduction, a polynomial,
// 2^k through the exponent bits): arithmetic the loop vectorizer widens, instead of a
// libm call per element.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::cpu {
#define GEN_PASS_DEF_CPUAPPROXIMATEMATH
#include "Target/CPU/Passes.h.inc"
} // namespace mfc::cpu

using namespace mlir;

namespace {
struct ApproximateMath : public mfc::cpu::impl::CPUApproximateMathBase<ApproximateMath> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == math::ExpOp::getOperationName(); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
