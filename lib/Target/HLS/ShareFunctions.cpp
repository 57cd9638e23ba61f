//===- ShareFunctions.cpp - one RTL instance per distinct loop nest -------===//
//
// Array partitions onto the sub-functions' arguments, equivalent sub-functions merged,
// INLINE off and ALLOCATION limit=1; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Target/HLS/HLSTarget.h"

#include "llvm/ADT/MapVector.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSSHAREFUNCTIONS
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
struct ShareFunctions : public mfc::hls::impl::HLSShareFunctionsBase<ShareFunctions> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto top = module.lookupSymbol<func::FuncOp>(entry);
    if (!top) {
      module.emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    // Each outlined function has one call yet: its arguments take the partitions of the
    // arrays passed there.
    SymbolTable outlined(module);
    top.walk([&](func::CallOp call) {
      auto callee = outlined.lookup<func::FuncOp>(call.getCallee());
      if (!callee || !callee.isPrivate())
        return;
      for (auto [index, operand] : llvm::enumerate(call.getOperands()))
        if (auto array = operand.getDefiningOp<memref::AllocaOp>())
          if (Attribute partition = array->getAttr(mfc::hls::kPartitionAttrName))
            callee.setArgAttr(index, mfc::hls::kPartitionAttrName, partition);
    });
    mfc::mergeEquivalentFunctions(module);

    SymbolTable kept(module);
    llvm::MapVector<func::FuncOp, unsigned> calls;
    top.walk([&](func::CallOp call) {
      auto callee = kept.lookup<func::FuncOp>(call.getCallee());
      if (callee && callee.isPrivate() && !callee.isDeclaration())
        ++calls[callee];
    });
    // After the top function's interface pragmas.
    Block &topBody = top.getBody().front();
    auto afterPragmas = llvm::find_if(
        topBody, [](Operation &op) { return !isa<emitc::VerbatimOp>(op); });
    OpBuilder atTop(&getContext());
    atTop.setInsertionPoint(&topBody, afterPragmas);
    for (auto [callee, count] : calls) {
      OpBuilder b = OpBuilder::atBlockBegin(&callee.getBody().front());
      emitc::VerbatimOp::create(b, callee.getLoc(), "#pragma HLS INLINE off");
      if (count < 2)
        continue;
      emitc::VerbatimOp::create(atTop, top.getLoc(),
                                ("#pragma HLS allocation function instances=" +
                                 callee.getSymName() + " limit=1")
                                    .str());
    }
  }
};
} // namespace
