//===- LowerMLGRUScan.cpp - an MLGRU scan as loops in time per thread -----===//
//
// tern.mlgru_scan over a sequence => scf.forall over (batch, feature) around an scf.for
// over time, or three such foralls over chunks of the sequence; see the pass description.
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
/// A tile a forall iteration writes into one of its shared outputs.
struct TileWrite {
  Value tile, dest;
  SmallVector<OpFoldResult> offsets, sizes;
};

using ForallBody =
    function_ref<SmallVector<TileWrite>(OpBuilder &, Location, ValueRange ivs, ValueRange outs)>;

/// scf.forall over [0, bounds) with shared `outs`; each iteration's writes go into the
/// in_parallel terminator.
scf::ForallOp buildForall(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> bounds,
                          ValueRange outs, ForallBody body) {
  return scf::ForallOp::create(
      b, loc, bounds, outs, /*mapping=*/std::nullopt,
      [&](OpBuilder &fb, Location l, ValueRange args) {
        SmallVector<TileWrite> writes =
            body(fb, l, args.take_front(bounds.size()), args.drop_front(bounds.size()));
        auto inParallel = scf::InParallelOp::create(fb, l);
        OpBuilder::InsertionGuard guard(fb);
        fb.setInsertionPointToStart(inParallel.getBody());
        for (TileWrite &write : writes)
          tensor::ParallelInsertSliceOp::create(
              fb, l, write.tile, write.dest, write.offsets, write.sizes,
              SmallVector<OpFoldResult>(write.offsets.size(), fb.getIndexAttr(1)));
      });
}

/// The unit-stride slice of `dest` at `offsets` with `sizes`, to write in place.
TileWrite tileOf(OpBuilder &b, Location loc, Value dest, SmallVector<OpFoldResult> offsets,
                 SmallVector<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  Value tile = tensor::ExtractSliceOp::create(b, loc, dest, offsets, sizes, strides);
  return {tile, dest, std::move(offsets), std::move(sizes)};
}

/// `value` written at `indices` of `dest` (a unit tile).
TileWrite elementWrite(OpBuilder &b, Location loc, Value value, Value dest, ValueRange indices) {
  SmallVector<OpFoldResult> offsets = getAsOpFoldResult(indices);
  TileWrite write =
      tileOf(b, loc, dest, offsets, SmallVector<OpFoldResult>(indices.size(), b.getIndexAttr(1)));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  write.tile = tensor::InsertOp::create(b, loc, value, write.tile,
                                        SmallVector<Value>(indices.size(), zero));
  return write;
}

/// Emits the lowering of one scan; collects the loops over time for unrolling.
class ScanLowering {
public:
  ScanLowering(IRRewriter &rewriter, MLGRUScanOp scan, SmallVectorImpl<scf::ForOp> &timeLoops)
      : rewriter(rewriter), scan(scan), loc(scan.getLoc()), timeLoops(timeLoops) {
    rewriter.setInsertionPoint(scan);
    sizes = tensor::getMixedSizes(rewriter, loc, scan.getCandidate());
    elem = cast<RankedTensorType>(scan.getCandidate().getType()).getElementType();
  }

  /// One forall over (batch, feature): each thread runs the whole sequence.
  void lowerWhole() {
    Value hidden = empty({sizes[0], sizes[1], sizes[2]});
    Value last = empty({sizes[0], sizes[2]});
    auto forall = buildForall(
        rewriter, loc, {sizes[0], sizes[2]}, {hidden, last},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange outs) {
          Value batch = ivs[0], feature = ivs[1];
          Value h0 = tensor::ExtractOp::create(b, l, scan.getInitialState(), ivs);
          auto [h, column] = runSteps(b, l, batch, feature, index(b, 0),
                                      tensor::DimOp::create(b, l, scan.getCandidate(), 1), h0,
                                      outs[0]);
          return SmallVector<TileWrite>{column, elementWrite(b, l, h, outs[1], ivs)};
        });
    rewriter.replaceOp(scan, forall.getResults());
  }

  /// Three foralls over chunks of `chunk` steps: (1) per chunk the product of its
  /// forget gates and its scan from zero, (2) per (batch, feature) the state entering
  /// each chunk, sequentially over the chunks, (3) per chunk its scan again from that
  /// state, writing the hidden states.
  void lowerChunked(int64_t chunk) {
    Value length = tensor::DimOp::create(rewriter, loc, scan.getCandidate(), 1);
    Value chunks = arith::CeilDivUIOp::create(rewriter, loc, length, index(rewriter, chunk));
    SmallVector<OpFoldResult> perChunk{sizes[0], chunks, sizes[2]};
    auto chunkBounds = [&](OpBuilder &b, Location l, Value c) {
      Value start = arith::MulIOp::create(b, l, c, index(b, chunk));
      Value end = arith::MinUIOp::create(
          b, l, arith::AddIOp::create(b, l, start, index(b, chunk)),
          tensor::DimOp::create(b, l, scan.getCandidate(), 1));
      return std::make_pair(start, end);
    };

    auto summary = buildForall(
        rewriter, loc, perChunk, {empty(perChunk), empty(perChunk)},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange outs) {
          Value batch = ivs[0], c = ivs[1], feature = ivs[2];
          auto [start, end] = chunkBounds(b, l, c);
          Value lb = lowerBoundAt(b, l, feature);
          auto loop = scf::ForOp::create(
              b, l, start, end, index(b, 1), ValueRange{constant(b, l, 1.0), constant(b, l, 0.0)},
              [&](OpBuilder &lb2, Location ll, Value t, ValueRange carried) {
                auto [f, cand] = gatesAt(lb2, ll, batch, t, feature, lb);
                Value product = arith::MulFOp::create(lb2, ll, carried[0], f);
                Value h = arith::AddFOp::create(
                    lb2, ll, arith::MulFOp::create(lb2, ll, f, carried[1]), cand);
                scf::YieldOp::create(lb2, ll, ValueRange{product, h});
              });
          timeLoops.push_back(loop);
          return SmallVector<TileWrite>{elementWrite(b, l, loop.getResult(0), outs[0], ivs),
                                        elementWrite(b, l, loop.getResult(1), outs[1], ivs)};
        });

    auto entering = buildForall(
        rewriter, loc, {sizes[0], sizes[2]}, {empty(perChunk), empty({sizes[0], sizes[2]})},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange outs) {
          Value batch = ivs[0], feature = ivs[1];
          TileWrite column = tileOf(b, l, outs[0], {batch, b.getIndexAttr(0), feature},
                                    {b.getIndexAttr(1), chunks, b.getIndexAttr(1)});
          Value h0 = tensor::ExtractOp::create(b, l, scan.getInitialState(), ivs);
          Value zero = index(b, 0);
          auto loop = scf::ForOp::create(
              b, l, zero, chunks, index(b, 1), ValueRange{h0, column.tile},
              [&](OpBuilder &lb2, Location ll, Value c, ValueRange carried) {
                Value written = tensor::InsertOp::create(lb2, ll, carried[0], carried[1],
                                                         ValueRange{zero, c, zero});
                Value at[] = {batch, c, feature};
                Value product = tensor::ExtractOp::create(lb2, ll, summary.getResult(0), at);
                Value fromZero = tensor::ExtractOp::create(lb2, ll, summary.getResult(1), at);
                Value h = arith::AddFOp::create(
                    lb2, ll, arith::MulFOp::create(lb2, ll, product, carried[0]), fromZero);
                scf::YieldOp::create(lb2, ll, ValueRange{h, written});
              });
          column.tile = loop.getResult(1);
          return SmallVector<TileWrite>{column,
                                        elementWrite(b, l, loop.getResult(0), outs[1], ivs)};
        });

    auto hidden = buildForall(
        rewriter, loc, perChunk, {empty({sizes[0], sizes[1], sizes[2]})},
        [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange outs) {
          Value batch = ivs[0], c = ivs[1], feature = ivs[2];
          auto [start, end] = chunkBounds(b, l, c);
          Value h0 = tensor::ExtractOp::create(b, l, entering.getResult(0), ivs);
          return SmallVector<TileWrite>{
              runSteps(b, l, batch, feature, start, end, h0, outs[0]).second};
        });
    rewriter.replaceOp(scan, {hidden.getResult(0), entering.getResult(1)});
  }

private:
  Value index(OpBuilder &b, int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value constant(OpBuilder &b, Location l, double value) {
    return arith::ConstantOp::create(b, l, b.getFloatAttr(elem, value));
  }
  Value empty(ArrayRef<OpFoldResult> shape) {
    return tensor::EmptyOp::create(rewriter, loc, shape, elem);
  }
  Value lowerBoundAt(OpBuilder &b, Location l, Value feature) {
    Value bound = scan.getLowerBound();
    return bound ? tensor::ExtractOp::create(b, l, bound, feature).getResult() : Value();
  }
  std::pair<Value, Value> gatesAt(OpBuilder &b, Location l, Value batch, Value t, Value feature,
                                  Value lowerBound) {
    Value at[] = {batch, t, feature};
    Value i = tensor::ExtractOp::create(b, l, scan.getCandidate(), at);
    Value f = tensor::ExtractOp::create(b, l, scan.getForget(), at);
    return mfc::tern::buildMLGRUGates(b, l, i, f, lowerBound, scan.getUngated());
  }

  /// Steps [start, end) at (batch, feature) from `h0`, written into the column of
  /// `hiddenOut` they cover: the last state and the column's write.
  std::pair<Value, TileWrite> runSteps(OpBuilder &b, Location l, Value batch, Value feature,
                                       Value start, Value end, Value h0, Value hiddenOut) {
    Value steps = arith::SubIOp::create(b, l, end, start);
    TileWrite column = tileOf(b, l, hiddenOut, {batch, start, feature},
                              {b.getIndexAttr(1), steps, b.getIndexAttr(1)});
    Value lb = lowerBoundAt(b, l, feature);
    Value zero = index(b, 0);
    auto loop = scf::ForOp::create(
        b, l, start, end, index(b, 1), ValueRange{h0, column.tile},
        [&](OpBuilder &lb2, Location ll, Value t, ValueRange carried) {
          auto [f, c] = gatesAt(lb2, ll, batch, t, feature, lb);
          Value h = arith::AddFOp::create(lb2, ll, arith::MulFOp::create(lb2, ll, f, carried[0]), c);
          Value written = tensor::InsertOp::create(
              lb2, ll, h, carried[1], ValueRange{zero, arith::SubIOp::create(lb2, ll, t, start), zero});
          scf::YieldOp::create(lb2, ll, ValueRange{h, written});
        });
    timeLoops.push_back(loop);
    column.tile = loop.getResult(1);
    return {loop.getResult(0), column};
  }

  IRRewriter &rewriter;
  MLGRUScanOp scan;
  Location loc;
  SmallVectorImpl<scf::ForOp> &timeLoops;
  SmallVector<OpFoldResult> sizes;
  Type elem;
};

struct LowerMLGRUScan : public mfc::cuda::impl::CUDALowerMLGRUScanBase<LowerMLGRUScan> {
  using Base::Base;

  void runOnOperation() override {
    if (unroll < 1 || chunk < 0) {
      getOperation().emitError()
          << "mfc-cuda-lower-mlgru-scan: unroll must be >= 1 and chunk >= 0, got unroll "
          << unroll.getValue() << ", chunk " << chunk.getValue();
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
    SmallVector<scf::ForOp> timeLoops;
    for (MLGRUScanOp scan : scans) {
      int64_t length = cast<RankedTensorType>(scan.getCandidate().getType()).getDimSize(1);
      ScanLowering lowering(rewriter, scan, timeLoops);
      if (chunk == 0 || (!ShapedType::isDynamic(length) && length <= chunk))
        lowering.lowerWhole();
      else
        lowering.lowerChunked(chunk);
    }
    for (scf::ForOp loop : timeLoops)
      if (unroll > 1 && failed(loopUnrollByFactor(loop, unroll))) {
        loop.emitError() << "mfc-cuda-lower-mlgru-scan: cannot unroll the loop over time";
        return signalPassFailure();
      }
  }
};
} // namespace
