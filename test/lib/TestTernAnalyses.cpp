//===- TestTernAnalyses.cpp - lit access to the tern passes' analyses -----===//
//
// The analyses that tern-detect-ternary-matmul builds on, queried op by op: each op
// marked `test.query` gets a remark with what the analysis knows about its result.
//
//===----------------------------------------------------------------------===//
#include "ConstantEval.h"
#include "NumericRange.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mfc::tern;

namespace {
/// `v` with float32's significant digits (9), `inf` and `-inf` as such.
std::string number(double v) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%.9g", v);
  return text;
}

/// Calls `query(op, result)` for each op of `func` marked `test.query`.
void forEachQuery(func::FuncOp func, llvm::function_ref<void(Operation *, Value)> query) {
  func.walk([&](Operation *op) {
    if (op->hasAttr("test.query") && op->getNumResults() > 0)
      query(op, op->getResult(0));
  });
}

struct TestNumericRange : public PassWrapper<TestNumericRange, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestNumericRange)
  StringRef getArgument() const final { return "test-tern-numeric-range"; }
  StringRef getDescription() const final {
    return "Remark the numeric range of each `test.query` op's result";
  }
  void runOnOperation() override {
    forEachQuery(getOperation(), [](Operation *op, Value value) {
      NumericRange r = rangeOfTensor(value);
      op->emitRemark() << (r.integral ? "integral" : "not integral") << " in ["
                       << number(r.lo) << ", " << number(r.hi) << "]"
                       << (r.fitsInt8() ? ", fits int8" : "");
    });
  }
};

struct TestConstantEval : public PassWrapper<TestConstantEval, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestConstantEval)
  StringRef getArgument() const final { return "test-tern-constant-eval"; }
  StringRef getDescription() const final {
    return "Remark the values the constant evaluator computes for each `test.query` op";
  }
  void runOnOperation() override {
    ConstantEvaluator evaluator;
    forEachQuery(getOperation(), [&](Operation *op, Value value) {
      Matched<const std::vector<double> *> values = evaluator.evaluate(value);
      if (auto *m = std::get_if<Mismatch>(&values)) {
        op->emitRemark() << "not evaluated: " << m->reason;
        return;
      }
      InFlightDiagnostic remark = op->emitRemark() << "values:";
      for (double v : *std::get<const std::vector<double> *>(values))
        remark << " " << number(v);
    });
  }
};
} // namespace

namespace mfc::test {
void registerTestPasses() {
  PassRegistration<TestNumericRange>();
  PassRegistration<TestConstantEval>();
}
} // namespace mfc::test
