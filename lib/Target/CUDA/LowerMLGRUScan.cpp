//===- LowerMLGRUScan.cpp - an MLGRU scan as one loop in time per thread --===//
//
// tern.mlgru_scan over a sequence => scf.forall over (batch, feature) around an scf.for
// over time; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Transforms.h"
#include "mfc/Target/CUDA/Passes.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDALOWERMLGRUSCAN
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;
using mfc::tern::MLGRUScanOp;

namespace {
/// A unit-stride slice of `source` at `offsets` with `sizes`.
Value slice(OpBuilder &b, Location loc, Value source, ArrayRef<OpFoldResult> offsets,
            ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes, strides);
}

/// Rewrites `scan` (a sequence of more than one step or of unknown length) into the
/// forall; returns the scf.for over time, for unrolling.
scf::ForOp lowerScan(IRRewriter &rewriter, MLGRUScanOp scan) {
  Location loc = scan.getLoc();
  rewriter.setInsertionPoint(scan);
  Value candidate = scan.getCandidate(), forget = scan.getForget();
  Value initial = scan.getInitialState(), lowerBound = scan.getLowerBound();
  auto seqType = cast<RankedTensorType>(candidate.getType());
  auto stateType = cast<RankedTensorType>(scan.getFinalState().getType());
  SmallVector<OpFoldResult> seqSizes = tensor::getMixedSizes(rewriter, loc, candidate);
  Value hiddenInit = tensor::EmptyOp::create(rewriter, loc, seqSizes, seqType.getElementType());
  Value finalInit = tensor::EmptyOp::create(rewriter, loc, {seqSizes[0], seqSizes[2]},
                                            stateType.getElementType());
  OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);
  scf::ForOp timeLoop;
  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{seqSizes[0], seqSizes[2]},
      ValueRange{hiddenInit, finalInit}, /*mapping=*/std::nullopt,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value batch = args[0], feature = args[1], hiddenOut = args[2], finalOut = args[3];
        // This thread's column of the hidden states and element of the final state,
        // written in place.
        SmallVector<OpFoldResult> columnOffsets{batch, zero, feature};
        SmallVector<OpFoldResult> columnSizes{one, seqSizes[1], one};
        Value column = slice(b, l, hiddenOut, columnOffsets, columnSizes);
        SmallVector<OpFoldResult> lastOffsets{batch, feature}, lastSizes{one, one};
        Value last = slice(b, l, finalOut, lastOffsets, lastSizes);
        Value h0 = tensor::ExtractOp::create(b, l, initial, ValueRange{batch, feature});
        Value bound =
            lowerBound ? tensor::ExtractOp::create(b, l, lowerBound, feature).getResult() : Value();
        Value c0 = arith::ConstantIndexOp::create(b, l, 0);
        Value c1 = arith::ConstantIndexOp::create(b, l, 1);
        Value length = tensor::DimOp::create(b, l, candidate, 1);
        timeLoop = scf::ForOp::create(
            b, l, c0, length, c1, ValueRange{h0, column},
            [&](OpBuilder &lb, Location ll, Value t, ValueRange carried) {
              ValueRange at{batch, t, feature};
              Value i = tensor::ExtractOp::create(lb, ll, candidate, at);
              Value f = tensor::ExtractOp::create(lb, ll, forget, at);
              Value h = mfc::tern::buildMLGRUStep(lb, ll, i, f, carried[0], bound,
                                                  scan.getUngated());
              Value written =
                  tensor::InsertOp::create(lb, ll, h, carried[1], ValueRange{c0, t, c0});
              scf::YieldOp::create(lb, ll, ValueRange{h, written});
            });
        Value lastWritten = tensor::InsertOp::create(b, l, timeLoop.getResult(0), last,
                                                     ValueRange{c0, c0});
        auto inParallel = scf::InParallelOp::create(b, l);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(inParallel.getBody());
        SmallVector<OpFoldResult> unitStrides3(3, one), unitStrides2(2, one);
        tensor::ParallelInsertSliceOp::create(b, l, timeLoop.getResult(1), hiddenOut,
                                              columnOffsets, columnSizes, unitStrides3);
        tensor::ParallelInsertSliceOp::create(b, l, lastWritten, finalOut, lastOffsets,
                                              lastSizes, unitStrides2);
      });
  rewriter.replaceOp(scan, forall.getResults());
  return timeLoop;
}

struct LowerMLGRUScan : public mfc::cuda::impl::CUDALowerMLGRUScanBase<LowerMLGRUScan> {
  using Base::Base;

  void runOnOperation() override {
    if (unroll < 1) {
      getOperation().emitError() << "mfc-cuda-lower-mlgru-scan: unroll must be >= 1, got "
                                 << unroll.getValue();
      return signalPassFailure();
    }
    SmallVector<MLGRUScanOp> scans;
    getOperation().walk([&](MLGRUScanOp scan) {
      // A decode step stays for tern-expand-ops: its element-wise step fuses with the
      // gates around it into one kernel.
      if (cast<RankedTensorType>(scan.getCandidate().getType()).getDimSize(1) != 1)
        scans.push_back(scan);
    });
    IRRewriter rewriter(&getContext());
    for (MLGRUScanOp scan : scans) {
      scf::ForOp timeLoop = lowerScan(rewriter, scan);
      if (unroll > 1 && failed(loopUnrollByFactor(timeLoop, unroll))) {
        timeLoop.emitError() << "mfc-cuda-lower-mlgru-scan: cannot unroll the loop over time";
        return signalPassFailure();
      }
    }
  }
};
} // namespace
