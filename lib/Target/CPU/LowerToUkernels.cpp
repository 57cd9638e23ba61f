//===- LowerToUkernels.cpp - int8 tern.matmul to the CPU micro-kernel -----===//
//
// tern.matmul ins(x[..., K] : i8, codes[N, ceil(K/4)]) outs(y[..., N] : i32) on buffers
//   => call @mfc_ternary_matmul_i8(x[M, K], codes, y[M, N])   (leading dims as rows M)
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CPU/Passes.h"

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mfc::cpu {
#define GEN_PASS_DEF_CPULOWERTOUKERNELS
#include "Target/CPU/Passes.h.inc"
} // namespace mfc::cpu

using namespace mlir;
using namespace mfc::tern;

namespace {
constexpr StringLiteral kUkernelName = "mfc_ternary_matmul_i8";

/// The micro-kernel's parameter type: a 2-D buffer with any sizes, strides and offset.
MemRefType stridedMatrix(Type elem) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d}, elem, StridedLayoutAttr::get(elem.getContext(), d, {d, d}));
}

/// `buffer` as a matrix: its leading dims as rows, its last dim as columns. A buffer
/// whose leading dims cannot merge in place (a strided view) goes through a copy,
/// before the call when it is read and after it when it is written (freed by the
/// buffer deallocation pipeline, which runs after this pass).
Value asMatrix(OpBuilder &b, Location loc, Value buffer, bool written,
               SmallVectorImpl<std::pair<Value, Value>> &copiesBack) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t rank = type.getRank();
  if (rank == 1) // one row; the size is static (K or N)
    return memref::ExpandShapeOp::create(
        b, loc, ArrayRef<int64_t>{1, type.getDimSize(0)}, buffer,
        SmallVector<ReassociationIndices>{{0, 1}});
  if (rank == 2)
    return buffer;
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t d = 0; d + 1 < rank; ++d)
    groups[0].push_back(d);
  groups.push_back({rank - 1});
  if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type, groups)) {
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d)
      if (type.isDynamicDim(d))
        sizes.push_back(memref::DimOp::create(b, loc, buffer, d));
    Value contiguous = memref::AllocOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()), sizes);
    if (written)
      copiesBack.push_back({contiguous, buffer});
    else
      memref::CopyOp::create(b, loc, buffer, contiguous);
    buffer = contiguous;
  }
  return memref::CollapseShapeOp::create(b, loc, buffer, groups);
}

struct UkernelMatmulPattern : public OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "the micro-kernel runs on buffers");
    if (!cast<MemRefType>(op.getInput().getType()).getElementType().isInteger(8))
      return rewriter.notifyMatchFailure(op, "the micro-kernel takes int8 activations");
    if (op.getLayout() != PackedAttr::getDefault(op.getContext()))
      return rewriter.notifyMatchFailure(op, "the micro-kernel reads 2-bit codes in rows");
    Location loc = op.getLoc();
    SmallVector<std::pair<Value, Value>> copiesBack;
    Value x = asMatrix(rewriter, loc, op.getInput(), false, copiesBack);
    Value y = asMatrix(rewriter, loc, op.getInit(), true, copiesBack);
    auto asParameter = [&](Value matrix) -> Value {
      Type elem = cast<MemRefType>(matrix.getType()).getElementType();
      return memref::CastOp::create(rewriter, loc, stridedMatrix(elem), matrix);
    };
    func::CallOp::create(rewriter, loc, kUkernelName, TypeRange{},
                         ValueRange{asParameter(x), asParameter(op.getWeights()), asParameter(y)});
    for (auto [contiguous, target] : copiesBack)
      memref::CopyOp::create(rewriter, loc, contiguous, target);
    rewriter.eraseOp(op);
    return success();
  }
};

struct CPULowerToUkernels : public mfc::cpu::impl::CPULowerToUkernelsBase<CPULowerToUkernels> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<UkernelMatmulPattern>(&getContext());
    walkAndApplyPatterns(module, std::move(patterns));
    declareUkernel(module);
  }

  /// func.func private @mfc_ternary_matmul_i8(x, codes, y) with the C interface, once a
  /// call needs it.
  void declareUkernel(ModuleOp module) {
    bool called = false;
    module.walk([&](func::CallOp call) { called |= call.getCallee() == kUkernelName; });
    if (!called || module.lookupSymbol(kUkernelName))
      return;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Type i8 = b.getI8Type();
    auto decl = func::FuncOp::create(
        b, module.getLoc(), kUkernelName,
        b.getFunctionType({stridedMatrix(i8), stridedMatrix(i8), stridedMatrix(b.getI32Type())},
                          {}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
};
} // namespace
