//===- PrepareEmission.cpp - what EmitC cannot express, made expressible ---===//
//
// math.* and float min/max ops => emitc.call_opaque of the project's math header;
// alignment dropped from memref.alloca; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSPREPAREEMISSION
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
/// The mfc_hls_math.h function computing `op`, or empty.
StringRef calleeOf(Operation *op) {
  return llvm::TypeSwitch<Operation *, StringRef>(op)
      .Case([](math::SqrtOp) { return "mfc_sqrt"; })
      .Case([](math::RsqrtOp) { return "mfc_rsqrt"; })
      .Case([](math::ExpOp) { return "mfc_exp"; })
      .Case([](math::LogOp) { return "mfc_log"; })
      .Case([](math::TanhOp) { return "mfc_tanh"; })
      .Case([](math::AbsFOp) { return "mfc_absf"; })
      .Case([](math::RoundEvenOp) { return "mfc_roundeven"; })
      .Case([](math::FloorOp) { return "mfc_floor"; })
      .Case([](math::CeilOp) { return "mfc_ceil"; })
      .Case([](arith::MaximumFOp) { return "mfc_maximumf"; })
      .Case([](arith::MinimumFOp) { return "mfc_minimumf"; })
      .Case([](arith::MaxNumFOp) { return "mfc_maxnumf"; })
      .Case([](arith::MinNumFOp) { return "mfc_minnumf"; })
      .Default([](Operation *) { return StringRef(); });
}

struct PrepareEmission : public mfc::hls::impl::HLSPrepareEmissionBase<PrepareEmission> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (!calleeOf(op).empty() && op->getNumResults() == 1 &&
          op->getResult(0).getType().isF32())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      auto call = emitc::CallOpaqueOp::create(b, op->getLoc(), op->getResultTypes(),
                                              calleeOf(op), op->getOperands());
      op->replaceAllUsesWith(call);
      op->erase();
    }
    // A C array declaration has no alignment; the HLS tool places the array itself.
    getOperation().walk([](memref::AllocaOp alloca) { alloca.removeAlignmentAttr(); });
  }
};
} // namespace
