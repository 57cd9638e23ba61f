//===- LowerMatmul.cpp - tern.matmul to a multiply-free accumulation ------===//
//
// tern.matmul(x[..., K], codes[N, ceil(K/4)]) => linalg.generic over (..., n, k):
//   c = (codes[n, k floordiv 4] >> ((k & 3) << 1)) & 3
//   acc = c == 1 ? acc + x : (c == 3 ? acc - x : acc)
// or, for int8 x with ukernels=true, a call of libmfc_kernels' mfc_ternary_matmul_i8.
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
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Type accElem = resultType.getElementType();
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
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps{AffineMap::get(numLoops, 0, xExprs, ctx),
                                AffineMap::get(numLoops, 0, {n, k.floorDiv(4)}, ctx),
                                AffineMap::get(numLoops, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;

    Value empty = emptyLike(rewriter, loc, x, resultType.getShape(), accElem);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(accElem));
    Value init = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);

    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{x, codes}, init, maps, iterators,
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
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

constexpr StringLiteral kUkernelName = "mfc_ternary_matmul_i8";

/// A 2-D memref of `shape` (default: the ukernel's parameter type, all dynamic) with
/// any strides and offset.
MemRefType stridedMemRef(Type elem, ArrayRef<int64_t> shape = {ShapedType::kDynamic,
                                                               ShapedType::kDynamic}) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get(shape, elem, StridedLayoutAttr::get(elem.getContext(), d, {d, d}));
}

struct UkernelMatmulPattern : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    if (!xType.getElementType().isInteger(8))
      return rewriter.notifyMatchFailure(op, "the micro-kernel takes int8 activations");
    // Leading dims flatten into rows: x[M, K] -> y[M, N].
    int64_t rank = xType.getRank();
    SmallVector<ReassociationIndices> groups;
    if (rank > 1) {
      groups.push_back({});
      for (int64_t d = 0; d + 1 < rank; ++d)
        groups[0].push_back(d);
      groups.push_back({rank - 1});
      x = tensor::CollapseShapeOp::create(rewriter, loc, x, groups);
    } else {
      x = tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get({1, xType.getDimSize(0)}, xType.getElementType()),
          x, SmallVector<ReassociationIndices>{{0, 1}});
    }
    Type i32 = rewriter.getI32Type();
    auto toBuffer = [&](Value tensor) -> Value {
      auto type = cast<RankedTensorType>(tensor.getType());
      auto buffer = bufferization::ToBufferOp::create(
          rewriter, loc, stridedMemRef(type.getElementType(), type.getShape()), tensor,
          /*read_only=*/true);
      return memref::CastOp::create(rewriter, loc, stridedMemRef(type.getElementType()), buffer);
    };
    Value xBuffer = toBuffer(x), wBuffer = toBuffer(op.getWeights());
    // The output is allocated in its final shape and collapsed to rows for the call
    // (expanding a buffer with dynamic sizes instead trips an upstream bug in
    // expand-strided-metadata, LLVM 22).
    SmallVector<int64_t> outShape(resultType.getShape());
    if (rank == 1)
      outShape.insert(outShape.begin(), 1);
    auto outType = MemRefType::get(outShape, i32);
    Value out = memref::AllocOp::create(rewriter, loc, outType,
                                        dynamicSizesLike(rewriter, loc, op.getInput(), outShape));
    Value rows = out;
    if (outType.getRank() > 2)
      rows = memref::CollapseShapeOp::create(rewriter, loc, out, groups);
    func::CallOp::create(rewriter, loc, kUkernelName, TypeRange{},
                         ValueRange{xBuffer, wBuffer,
                                    memref::CastOp::create(rewriter, loc, stridedMemRef(i32), rows)});
    Value y = bufferization::ToTensorOp::create(
        rewriter, loc, RankedTensorType::get(outShape, i32), out,
        /*restrict=*/true, /*writable=*/true);
    if (rank == 1)
      y = tensor::CollapseShapeOp::create(rewriter, loc, resultType, y,
                                          SmallVector<ReassociationIndices>{{0, 1}});
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct LowerMatmul : public mfc::tern::impl::TernLowerMatmulBase<LowerMatmul> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    if (ukernels) {
      patterns.add<UkernelMatmulPattern>(&getContext(), /*benefit=*/2);
      declareUkernel(module);
    }
    patterns.add<LowerMatmulPattern>(&getContext());
    walkAndApplyPatterns(module, std::move(patterns));
  }

  /// func.func private @mfc_ternary_matmul_i8(x, codes, y) with the C interface.
  void declareUkernel(ModuleOp module) {
    bool used = false;
    module.walk([&](MatmulOp op) { used |= op.getInput().getType().getElementType().isInteger(8); });
    if (!used || module.lookupSymbol(kUkernelName))
      return;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Type i8 = b.getI8Type();
    auto decl = func::FuncOp::create(
        b, module.getLoc(), kUkernelName,
        b.getFunctionType({stridedMemRef(i8), stridedMemRef(i8), stridedMemRef(b.getI32Type())}, {}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
};
} // namespace
