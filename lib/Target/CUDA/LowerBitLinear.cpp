//===- LowerBitLinear.cpp - tern.bitlinear as a prologue kernel and a product -===//
//
// tern.bitlinear on buffers => one kernel per token for the norm and the activation
// quantization, tern.matmul, and the rescale; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Target/CUDA/Passes.h"

#include "KernelBuilding.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDALOWERBITLINEAR
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;
using mfc::tern::BitLinearOp;

namespace {
/// A buffer shaped like `like` with its last dim `last` and element type `elem`.
Value allocLike(ImplicitLocOpBuilder &b, Value like, int64_t last, Type elem) {
  auto type = cast<MemRefType>(like.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = last;
  SmallVector<Value> sizes;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(memref::DimOp::create(b, like, d));
  return memref::AllocOp::create(b, MemRefType::get(shape, elem), sizes);
}

struct CUDALowerBitLinear
    : public mfc::cuda::impl::CUDALowerBitLinearBase<CUDALowerBitLinear> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(mfc::cuda::checkThreadsPerBlock(getOperation(), "mfc-cuda-lower-bitlinear", threads)))
      return signalPassFailure();
    SmallVector<BitLinearOp> ops;
    getOperation().walk([&](BitLinearOp op) {
      if (op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    for (BitLinearOp op : ops)
      lower(op);
  }

private:
  void lower(BitLinearOp op) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    Value x = op.getInput();
    auto xType = cast<MemRefType>(x.getType());
    int64_t rank = xType.getRank(), k = xType.getShape().back();
    Type f = xType.getElementType();
    Value quantized = allocLike(b, x, k, b.getI8Type());
    Value scale = allocLike(b, x, 1, f);
    Value acc = allocLike(b, x, op.getNumOutputs(), b.getI32Type());

    // One block per token: its leading indices from the block id, innermost last.
    SmallVector<Value> leadSizes;
    Value tokens = arith::ConstantIndexOp::create(b, 1);
    for (int64_t d = 0; d + 1 < rank; ++d) {
      leadSizes.push_back(memref::DimOp::create(b, x, d));
      tokens = arith::MulIOp::create(b, tokens, leadSizes.back());
    }
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value blockSize = arith::ConstantIndexOp::create(b, threads);
    auto launch = gpu::LaunchOp::create(b, tokens, one, one, blockSize, one, one);
    mfc::cuda::nameKernel(launch, "bitlinear_prologue");
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&launch.getBody().front());
      buildPrologue(b, op, launch, leadSizes, quantized, scale);
      gpu::TerminatorOp::create(b);
    }
    mfc::tern::MatmulOp::create(b, quantized, op.getWeights(), acc, op.getLayout());
    buildRescale(b, op, acc, scale);
    for (Value buffer : {quantized, scale, acc})
      memref::DeallocOp::create(b, buffer);
    op.erase();
  }

  /// q, s = quantize_act(x / sqrt(mean(x^2) + eps) * n) for the block's token, the
  /// threads striding over k and sharing the two reductions.
  void buildPrologue(ImplicitLocOpBuilder &b, BitLinearOp op, gpu::LaunchOp launch,
                     ArrayRef<Value> leadSizes, Value quantized, Value scale) {
    Value x = op.getInput(), norm = op.getNormWeight();
    int64_t k = cast<MemRefType>(x.getType()).getShape().back();
    Type f = cast<MemRefType>(x.getType()).getElementType();
    auto fconst = [&](double v) { return arith::ConstantOp::create(b, b.getFloatAttr(f, v)); };
    SmallVector<Value> token(leadSizes.size());
    mfc::cuda::delinearize(b, b.getLoc(), launch.getBlockIds().x, leadSizes, token);
    auto at = [&](Value kIndex) {
      SmallVector<Value> indices(token);
      indices.push_back(kIndex);
      return indices;
    };
    Value thread = launch.getThreadIds().x;
    Value kSize = arith::ConstantIndexOp::create(b, k);
    Value stride = arith::ConstantIndexOp::create(b, threads);
    // Folds `step(k, acc)` over the row, the threads sharing it.
    auto rowReduce = [&](gpu::AllReduceOperation kind,
                         function_ref<Value(Value, Value)> step) {
      return mfc::cuda::blockReduce(b, b.getLoc(), thread, kSize, stride, fconst(0.0), kind,
                                    [&](OpBuilder &, Value kk, Value acc) { return step(kk, acc); });
    };

    Value sumSquares = rowReduce(gpu::AllReduceOperation::ADD, [&](Value kk, Value sum) {
      Value v = memref::LoadOp::create(b, x, at(kk));
      return arith::AddFOp::create(b, arith::MulFOp::create(b, v, v), sum);
    });
    Value mean = arith::DivFOp::create(b, sumSquares, fconst(double(k)));
    Value rms = math::SqrtOp::create(
        b, arith::AddFOp::create(b, mean, fconst(op.getEps().convertToDouble())));
    auto normed = [&](Value kk) -> Value {
      Value v = memref::LoadOp::create(b, x, at(kk));
      Value weight = memref::LoadOp::create(b, norm, ValueRange{kk});
      return arith::MulFOp::create(b, arith::DivFOp::create(b, v, rms), weight);
    };
    Value absmax = rowReduce(gpu::AllReduceOperation::MAXIMUMF, [&](Value kk, Value max) {
      return arith::MaximumFOp::create(b, math::AbsFOp::create(b, normed(kk)), max);
    });
    Value tokenScale = arith::DivFOp::create(
        b, fconst(127.0),
        arith::MaximumFOp::create(b, absmax, fconst(op.getActEps().convertToDouble())));
    auto quantize = scf::ForOp::create(b, thread, kSize, stride);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(quantize.getBody());
      Value kk = quantize.getInductionVar();
      Value v = math::RoundEvenOp::create(b, arith::MulFOp::create(b, normed(kk), tokenScale));
      v = arith::MaximumFOp::create(b, v, fconst(-128.0));
      v = arith::MinimumFOp::create(b, v, fconst(127.0));
      memref::StoreOp::create(b, arith::FPToSIOp::create(b, b.getI8Type(), v), quantized, at(kk));
    }
    Value isFirst = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, thread,
                                          arith::ConstantIndexOp::create(b, 0));
    auto store = scf::IfOp::create(b, isFirst);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(store.thenBlock());
    memref::StoreOp::create(b, tokenScale, scale, at(arith::ConstantIndexOp::create(b, 0)));
  }

  /// init = sitofp(acc) * a / s: a per tensor or per output, s per token.
  static void buildRescale(ImplicitLocOpBuilder &b, BitLinearOp op, Value acc, Value scale) {
    Value init = op.getInit();
    int64_t rank = cast<MemRefType>(init.getType()).getRank();
    Type f = cast<MemRefType>(init.getType()).getElementType();
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> perToken, perOutput{b.getAffineDimExpr(rank - 1)};
    for (int64_t d = 0; d + 1 < rank; ++d)
      perToken.push_back(b.getAffineDimExpr(d));
    perToken.push_back(b.getAffineConstantExpr(0));
    if (cast<MemRefType>(op.getWeightScale().getType()).getDimSize(0) == 1)
      perOutput = {b.getAffineConstantExpr(0)};
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    SmallVector<AffineMap> maps{identity, AffineMap::get(rank, 0, perToken, ctx),
                                AffineMap::get(rank, 0, perOutput, ctx), identity};
    linalg::GenericOp::create(
        b, TypeRange(), ValueRange{acc, scale, op.getWeightScale()}, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value sum = arith::SIToFPOp::create(nb, l, f, args[0]);
          Value y = arith::DivFOp::create(nb, l, arith::MulFOp::create(nb, l, sum, args[2]), args[1]);
          linalg::YieldOp::create(nb, l, y);
        });
  }
};
} // namespace
