//===- LowerMatmul.cpp - tern.matmul to a multiply-free accumulation ------===//
//
// tern.matmul(x[..., K], codes[N, ceil(K/4)]) => linalg.generic over (..., n, byte, j):
//   c = (codes[n, byte] >> (j << 1)) & 3,  x viewed as [..., K/4, 4]
//   acc = c == 1 ? acc + x : (c == 3 ? acc - x : acc)
// (over (..., n, k) with byte k floordiv 4 when K is no multiple of 4), optionally as
// partial sums over chunks of K; on tensors or buffers (targets with a micro-kernel
// replace the op before this).
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "Utils.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNLOWERMATMUL
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {
/// The body of a ternary accumulation: acc + x, acc - x or acc by the 2-bit code of
/// weight k in `byte`; loop `kDim` gives k % 4 (k itself, or the weight of the byte).
/// Integers add a contribution (x, -x or 0) to acc: unrolled across lanes, that is a
/// sum an HLS tool balances into an adder tree, where selects of acc +- x would chain.
/// Floats keep acc itself for a zero code (acc + 0.0 would turn -0.0 into +0.0).
void buildAccumulation(OpBuilder &b, Location l, ValueRange args, unsigned kDim,
                       Type accElem) {
  bool isInt = isa<IntegerType>(accElem);
  Type i8 = b.getI8Type();
  auto i8Const = [&](int64_t v) { return arith::ConstantOp::create(b, l, b.getIntegerAttr(i8, v)); };
  // The 2-bit code of weight k: shift = (k % 4) * 2, as a mask and a shift.
  Value kIndex = linalg::IndexOp::create(b, l, kDim);
  Value slot = arith::AndIOp::create(b, l, arith::IndexCastOp::create(b, l, i8, kIndex), i8Const(3));
  Value shift = arith::ShLIOp::create(b, l, slot, i8Const(1));
  Value code = arith::AndIOp::create(b, l, arith::ShRUIOp::create(b, l, args[1], shift), i8Const(3));
  Value value = args[0], acc = args[2];
  Value isPlus = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, code, i8Const(1));
  Value isMinus = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, code, i8Const(3));
  if (isInt) {
    value = arith::ExtSIOp::create(b, l, accElem, value);
    Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(accElem));
    Value negated = arith::SubIOp::create(b, l, zero, value);
    Value contribution = arith::SelectOp::create(
        b, l, isPlus, value, arith::SelectOp::create(b, l, isMinus, negated, zero));
    linalg::YieldOp::create(b, l, arith::AddIOp::create(b, l, acc, contribution).getResult());
    return;
  }
  Value plus = arith::AddFOp::create(b, l, acc, value);
  Value minus = arith::SubFOp::create(b, l, acc, value);
  Value next = arith::SelectOp::create(b, l, isMinus, minus, acc);
  linalg::YieldOp::create(b, l, arith::SelectOp::create(b, l, isPlus, plus, next).getResult());
}

/// `init` filled with zero: the destination's values are not the op's to read.
Value zeroFilled(OpBuilder &b, Location loc, Value init) {
  Type elem = getElementTypeOrSelf(init.getType());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  auto fill = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init});
  return isa<TensorType>(init.getType()) ? fill.getResult(0) : init;
}

struct LowerMatmulPattern : public OpRewritePattern<MatmulOp> {
  LowerMatmulPattern(MLIRContext *ctx, int64_t kChunk)
      : OpRewritePattern(ctx), kChunk(kChunk) {}

  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), codes = op.getWeights();
    auto xType = cast<ShapedType>(x.getType());
    Type accElem = cast<ShapedType>(op.getInit().getType()).getElementType();
    int64_t lead = xType.getRank() - 1, K = xType.getShape().back();
    MLIRContext *ctx = rewriter.getContext();
    auto dim = [&](int64_t d) { return rewriter.getAffineDimExpr(d); };
    SmallVector<AffineExpr> leadExprs;
    for (int64_t d = 0; d < lead; ++d)
      leadExprs.push_back(dim(d));
    auto codeMap = [&](unsigned numLoops, AffineExpr n, AffineExpr k) {
      SmallVector<AffineExpr, 2> exprs(2);
      exprs[op.getLayout().getOutputDim()] = n;
      exprs[op.getLayout().getByteDim()] = k.floorDiv(4);
      return AffineMap::get(numLoops, 0, exprs, ctx);
    };
    auto withTail = [&](ArrayRef<AffineExpr> tail) {
      SmallVector<AffineExpr> exprs(leadExprs);
      exprs.append(tail.begin(), tail.end());
      return exprs;
    };
    bool split = kChunk > 0 && kChunk % 4 == 0 && K > kChunk && K % kChunk == 0;
    // x[..., K] viewed with K split as `innerShape` (chunks, bytes, the 4 weights of a
    // byte), so that every loop is a dim of an operand and no index needs a division.
    auto viewX = [&](ArrayRef<int64_t> innerShape) -> Value {
      SmallVector<ReassociationIndices> groups;
      for (int64_t d = 0; d < lead; ++d)
        groups.push_back({d});
      groups.emplace_back();
      for (size_t i = 0; i < innerShape.size(); ++i)
        groups.back().push_back(lead + i);
      SmallVector<int64_t> shape(xType.getShape().drop_back());
      shape.append(innerShape.begin(), innerShape.end());
      if (isa<TensorType>(xType))
        return tensor::ExpandShapeOp::create(
            rewriter, loc, RankedTensorType::get(shape, xType.getElementType()), x, groups);
      return memref::ExpandShapeOp::create(rewriter, loc, shape, x, groups);
    };
    if (!split) {
      SmallVector<utils::IteratorType> iterators;
      SmallVector<AffineMap> maps;
      Value input = x;
      unsigned kDim;
      if (K % 4 == 0) {
        // Loops: leading dims, n, byte kb, weight j of the byte (k = 4 kb + j).
        unsigned numLoops = lead + 3;
        AffineExpr n = dim(lead), kb = dim(lead + 1), j = dim(lead + 2);
        input = viewX({K / 4, 4});
        SmallVector<AffineExpr, 2> codeExprs(2);
        codeExprs[op.getLayout().getOutputDim()] = n;
        codeExprs[op.getLayout().getByteDim()] = kb;
        maps = {AffineMap::get(numLoops, 0, withTail({kb, j}), ctx),
                AffineMap::get(numLoops, 0, codeExprs, ctx),
                AffineMap::get(numLoops, 0, withTail({n}), ctx)};
        iterators.assign(numLoops, utils::IteratorType::parallel);
        iterators[lead + 1] = iterators[lead + 2] = utils::IteratorType::reduction;
        kDim = lead + 2;
      } else {
        // Rows end in padding codes: loops leading dims, n, k (byte k / 4).
        unsigned numLoops = lead + 2;
        AffineExpr n = dim(lead), k = dim(lead + 1);
        maps = {AffineMap::get(numLoops, 0, withTail({k}), ctx), codeMap(numLoops, n, k),
                AffineMap::get(numLoops, 0, withTail({n}), ctx)};
        iterators.assign(numLoops, utils::IteratorType::parallel);
        iterators.back() = utils::IteratorType::reduction;
        kDim = lead + 1;
      }
      auto generic = linalg::GenericOp::create(
          rewriter, loc, op->getResultTypes(), ValueRange{input, codes},
          zeroFilled(rewriter, loc, op.getInit()), maps, iterators,
          [&](OpBuilder &b, Location l, ValueRange args) {
            buildAccumulation(b, l, args, kDim, accElem);
          });
      rewriter.replaceOp(op, generic->getResults());
      return success();
    }
    // Split K: partial[..., s, n] = sum over chunk s of K, then the sum over s. Loops of
    // the partial sums: leading dims, s, n, byte kb of the chunk, weight j of the byte
    // (k = s * kChunk + 4 kb + j); n innermost of the parallel ones.
    int64_t chunks = K / kChunk, chunkBytes = kChunk / 4;
    unsigned numLoops = lead + 4;
    AffineExpr s = dim(lead), n = dim(lead + 1), kb = dim(lead + 2), j = dim(lead + 3);
    auto initType = cast<ShapedType>(op.getInit().getType());
    SmallVector<int64_t> partialShape(initType.getShape().drop_back());
    partialShape.append({chunks, initType.getShape().back()});
    SmallVector<Value> partialSizes;
    // Dynamic sizes: the init's leading dims and outputs (the chunk count is static).
    for (int64_t d = 0; d < int64_t(partialShape.size()); ++d) {
      if (!ShapedType::isDynamic(partialShape[d]))
        continue;
      int64_t initDim = d == lead + 1 ? lead : d;
      if (isa<TensorType>(initType))
        partialSizes.push_back(tensor::DimOp::create(rewriter, loc, op.getInit(), initDim));
      else
        partialSizes.push_back(memref::DimOp::create(rewriter, loc, op.getInit(), initDim));
    }
    Value partial;
    if (isa<TensorType>(initType))
      partial = tensor::EmptyOp::create(rewriter, loc, partialShape, accElem, partialSizes);
    else
      partial = memref::AllocOp::create(rewriter, loc, MemRefType::get(partialShape, accElem),
                                        partialSizes);
    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
    iterators[lead + 2] = iterators[lead + 3] = utils::IteratorType::reduction;
    Value chunked = viewX({chunks, chunkBytes, 4});
    SmallVector<AffineExpr, 2> codeExprs(2);
    codeExprs[op.getLayout().getOutputDim()] = n;
    codeExprs[op.getLayout().getByteDim()] = s * chunkBytes + kb;
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, withTail({s, kb, j}), ctx),
                                AffineMap::get(numLoops, 0, codeExprs, ctx),
                                AffineMap::get(numLoops, 0, withTail({s, n}), ctx)};
    auto sums = linalg::GenericOp::create(
        rewriter, loc, isa<TensorType>(initType) ? TypeRange{partial.getType()} : TypeRange{},
        ValueRange{chunked, codes}, zeroFilled(rewriter, loc, partial), maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          buildAccumulation(b, l, args, lead + 3, accElem);
        });
    Value partialSums = isa<TensorType>(initType) ? sums.getResult(0) : partial;
    // The sum over s: loops leading dims, n = d{lead}, s = d{lead+1}.
    unsigned reduceLoops = lead + 2;
    AffineExpr rn = dim(lead), rs = dim(lead + 1);
    SmallVector<utils::IteratorType> reduceIterators(reduceLoops, utils::IteratorType::parallel);
    reduceIterators.back() = utils::IteratorType::reduction;
    bool isInt = isa<IntegerType>(accElem);
    auto total = linalg::GenericOp::create(
        rewriter, loc, op->getResultTypes(), ValueRange{partialSums},
        zeroFilled(rewriter, loc, op.getInit()),
        SmallVector<AffineMap>{AffineMap::get(reduceLoops, 0, withTail({rs, rn}), ctx),
                               AffineMap::get(reduceLoops, 0, withTail({rn}), ctx)},
        reduceIterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value sum = isInt ? arith::AddIOp::create(b, l, args[1], args[0]).getResult()
                            : arith::AddFOp::create(b, l, args[1], args[0]).getResult();
          linalg::YieldOp::create(b, l, sum);
        });
    // On buffers the partial sums are this lowering's own temporary.
    if (!isa<TensorType>(initType))
      memref::DeallocOp::create(rewriter, loc, partial);
    rewriter.replaceOp(op, total->getResults());
    return success();
  }

  int64_t kChunk;
};

struct LowerMatmul : public mfc::tern::impl::TernLowerMatmulBase<LowerMatmul> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerMatmulPattern>(&getContext(), kChunk);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace
