//===- OutlineLoopNests.cpp - one function per top-level loop nest --------===//
#include "mfc/Conversion/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mfc {
#define GEN_PASS_DEF_OUTLINELOOPNESTS
#include "Conversion/Passes.h.inc"
} // namespace mfc

using namespace mlir;

namespace {
struct OutlineLoopNests : public mfc::impl::OutlineLoopNestsBase<OutlineLoopNests> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp func : functions) {
      if (func.isDeclaration())
        continue;
      SmallVector<scf::ForOp> nests;
      for (Block &block : func.getBody())
        for (auto loop : block.getOps<scf::ForOp>())
          if (loop.getNumResults() == 0)
            nests.push_back(loop);
      for (auto [index, loop] : llvm::enumerate(nests)) {
        // Wrap the nest in a region, outline the region, inline the wrapper away.
        rewriter.setInsertionPoint(loop);
        auto wrapper = scf::ExecuteRegionOp::create(rewriter, loop.getLoc(), TypeRange{});
        Block *body = rewriter.createBlock(&wrapper.getRegion());
        rewriter.moveOpBefore(loop, body, body->end());
        rewriter.setInsertionPointToEnd(body);
        scf::YieldOp::create(rewriter, loop.getLoc());
        std::string name = (func.getSymName() + "_nest" + llvm::Twine(index)).str();
        FailureOr<func::FuncOp> outlined =
            outlineSingleBlockRegion(rewriter, loop.getLoc(), wrapper.getRegion(), name);
        if (failed(outlined))
          return signalPassFailure();
        outlined->setPrivate();
        (*outlined)->setAttr("llvm.no_inline", rewriter.getUnitAttr());
        Block &callBlock = wrapper.getRegion().front();
        rewriter.eraseOp(callBlock.getTerminator());
        rewriter.inlineBlockBefore(&callBlock, wrapper);
        rewriter.eraseOp(wrapper);
      }
    }
  }
};
} // namespace
