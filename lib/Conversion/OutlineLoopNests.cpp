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
/// The outlined function's arguments that its body does not use (index constants it
/// clones, outlineSingleBlockRegion) removed, from its only call too.
void dropUnusedArguments(func::FuncOp func, func::CallOp call) {
  llvm::BitVector unused(func.getNumArguments());
  for (BlockArgument arg : func.getArguments())
    if (arg.use_empty())
      unused.set(arg.getArgNumber());
  if (unused.none())
    return;
  (void)func.eraseArguments(unused);
  call->eraseOperands(unused);
}

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
        func::CallOp call;
        FailureOr<func::FuncOp> outlined =
            outlineSingleBlockRegion(rewriter, loop.getLoc(), wrapper.getRegion(), name, &call);
        if (failed(outlined))
          return signalPassFailure();
        outlined->setPrivate();
        (*outlined)->setAttr("llvm.no_inline", rewriter.getUnitAttr());
        Block &callBlock = wrapper.getRegion().front();
        dropUnusedArguments(*outlined, call);
        rewriter.eraseOp(callBlock.getTerminator());
        rewriter.inlineBlockBefore(&callBlock, wrapper);
        rewriter.eraseOp(wrapper);
      }
    }
  }
};
} // namespace
