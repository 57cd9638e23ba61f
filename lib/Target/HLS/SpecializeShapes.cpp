//===- SpecializeShapes.cpp - fixed sizes for the HLS top function --------===//
//
// The entry's dynamic input dims => `dim-size`, static shapes propagated by
// canonicalization; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSSPECIALIZESHAPES
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
struct SpecializeShapes : public mfc::hls::impl::HLSSpecializeShapesBase<SpecializeShapes> {
  using Base::Base;

  void runOnOperation() override {
    auto entryFunc = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!entryFunc) {
      getOperation().emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    if (dimSize < 1) {
      getOperation().emitError() << "mfc-hls-specialize-shapes: dim-size must be >= 1";
      return signalPassFailure();
    }
    Block &body = entryFunc.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.hasStaticShape())
        continue;
      SmallVector<int64_t> shape(type.getShape());
      for (int64_t &size : shape)
        if (ShapedType::isDynamic(size))
          size = dimSize;
      auto fixed = RankedTensorType::get(shape, type.getElementType(), type.getEncoding());
      arg.setType(fixed);
      auto cast = tensor::CastOp::create(b, arg.getLoc(), type, arg);
      arg.replaceAllUsesExcept(cast, cast);
    }

    // Static shapes flow through every op's folders and canonicalizations.
    RewritePatternSet patterns(&getContext());
    for (Dialect *dialect : getContext().getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : getContext().getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(entryFunc, std::move(patterns)))) {
      entryFunc.emitError("mfc-hls-specialize-shapes: canonicalization did not converge");
      return signalPassFailure();
    }

    // Results take the static type their values have.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (OpOperand &operand : ret->getOpOperands()) {
      Value value = operand.get();
      if (auto cast = value.getDefiningOp<tensor::CastOp>())
        value = cast.getSource();
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (type && !type.hasStaticShape()) {
        ret.emitError() << "mfc-hls-specialize-shapes: result " << operand.getOperandNumber()
                        << " keeps a dynamic shape (" << type
                        << ") after fixing the inputs' dims; a hardware design needs fixed "
                           "sizes";
        return signalPassFailure();
      }
      Value old = operand.get();
      operand.set(value);
      if (Operation *cast = old.getDefiningOp<tensor::CastOp>(); cast && cast->use_empty())
        cast->erase();
    }
    entryFunc.setType(FunctionType::get(&getContext(), body.getArgumentTypes(),
                                        ret.getOperandTypes()));
  }
};
} // namespace
