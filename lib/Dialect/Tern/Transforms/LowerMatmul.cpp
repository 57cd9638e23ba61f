//===- LowerMatmul.cpp - tern.matmul to a multiply-free accumulation ------===//
//
// tern.matmul(x[..., K], codes[N, ceil(K/4)]) => linalg.generic over (..., n, k):
//   c = (codes[n, k floordiv 4] >> ((k & 3) << 1)) & 3
//   acc = c == 1 ? acc + x : (c == 3 ? acc - x : acc)
// on tensors or on buffers (targets with a micro-kernel replace the op before this).
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
struct LowerMatmulPattern : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), codes = op.getWeights();
    auto xType = cast<ShapedType>(x.getType());
    Type accElem = cast<ShapedType>(op.getInit().getType()).getElementType();
    bool isInt = isa<IntegerType>(accElem);
    int64_t lead = xType.getRank() - 1;
    // Loops: leading dims d0..d{lead-1}, n = d{lead}, k = d{lead+1}.
    unsigned numLoops = lead + 2;
    AffineExpr n = rewriter.getAffineDimExpr(lead), k = rewriter.getAffineDimExpr(lead + 1);
    SmallVector<AffineExpr> xExprs, outExprs;
    for (int64_t d = 0; d < lead; ++d) {
      xExprs.push_back(rewriter.getAffineDimExpr(d));
      outExprs.push_back(rewriter.getAffineDimExpr(d));
    }
    xExprs.push_back(k);
    outExprs.push_back(n);
    SmallVector<AffineExpr, 2> codeExprs(2);
    codeExprs[op.getLayout().getOutputDim()] = n;
    codeExprs[op.getLayout().getByteDim()] = k.floorDiv(4);
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, xExprs, ctx),
                                AffineMap::get(numLoops, 0, codeExprs, ctx),
                                AffineMap::get(numLoops, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;

    // The destination's values are not the op's to read: the sum starts from zero.
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(accElem));
    auto fill = linalg::FillOp::create(rewriter, loc, ValueRange{zero}, ValueRange{op.getInit()});
    Value init = op.hasPureTensorSemantics() ? fill.getResult(0) : op.getInit();

    auto generic = linalg::GenericOp::create(
        rewriter, loc, op->getResultTypes(), ValueRange{x, codes}, init, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Type i8 = b.getI8Type();
          auto i8Const = [&](int64_t v) {
            return arith::ConstantOp::create(b, l, b.getIntegerAttr(i8, v));
          };
          // The 2-bit code of weight k: shift = (k % 4) * 2, as a mask and a shift.
          Value kIndex = linalg::IndexOp::create(b, l, lead + 1);
          Value slot = arith::AndIOp::create(
              b, l, arith::IndexCastOp::create(b, l, i8, kIndex), i8Const(3));
          Value shift = arith::ShLIOp::create(b, l, slot, i8Const(1));
          Value code = arith::AndIOp::create(
              b, l, arith::ShRUIOp::create(b, l, args[1], shift), i8Const(3));
          Value value = args[0], acc = args[2];
          if (isInt)
            value = arith::ExtSIOp::create(b, l, accElem, value);
          Value plus = isInt ? arith::AddIOp::create(b, l, acc, value).getResult()
                             : arith::AddFOp::create(b, l, acc, value).getResult();
          Value minus = isInt ? arith::SubIOp::create(b, l, acc, value).getResult()
                              : arith::SubFOp::create(b, l, acc, value).getResult();
          Value isPlus = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, code, i8Const(1));
          Value isMinus = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, code, i8Const(3));
          Value next = arith::SelectOp::create(b, l, isMinus, minus, acc);
          linalg::YieldOp::create(b, l, arith::SelectOp::create(b, l, isPlus, plus, next).getResult());
        });
    rewriter.replaceOp(op, generic->getResults());
    return success();
  }
};

struct LowerMatmul : public mfc::tern::impl::TernLowerMatmulBase<LowerMatmul> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerMatmulPattern>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace
