//===- ExternalizeWeights.cpp - constant globals as top-level arguments ---===//
//
// memref.global constants => trailing arguments of the entry carrying their data; see
// the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSEXTERNALIZEWEIGHTS
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
/// Loads of the 0-d constant `global` => arith.constant of its value.
LogicalResult inlineScalar(memref::GlobalOp global, ElementsAttr data) {
  ModuleOp module = global->getParentOfType<ModuleOp>();
  Type elem = global.getType().getElementType();
  TypedAttr value;
  if (auto dense = dyn_cast<DenseElementsAttr>(data))
    value = cast<TypedAttr>(dense.getSplatValue<Attribute>());
  if (!value)
    return global.emitError("mfc-hls-externalize-weights: a scalar constant without a value");
  SmallVector<memref::GetGlobalOp> uses;
  module.walk([&](memref::GetGlobalOp get) {
    if (get.getName() == global.getSymName())
      uses.push_back(get);
  });
  for (memref::GetGlobalOp get : uses) {
    for (Operation *user : llvm::make_early_inc_range(get->getUsers())) {
      auto load = dyn_cast<memref::LoadOp>(user);
      if (!load)
        return user->emitError("mfc-hls-externalize-weights: a scalar constant used other "
                               "than by loads");
      OpBuilder b(load);
      load.replaceAllUsesWith(arith::ConstantOp::create(b, load.getLoc(), elem, value).getResult());
      load.erase();
    }
    get.erase();
  }
  global.erase();
  return success();
}

struct ExternalizeWeights
    : public mfc::hls::impl::HLSExternalizeWeightsBase<ExternalizeWeights> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entryFunc = module.lookupSymbol<func::FuncOp>(entry);
    if (!entryFunc) {
      module.emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    MLIRContext *context = &getContext();
    for (auto global : llvm::make_early_inc_range(module.getOps<memref::GlobalOp>())) {
      auto data = dyn_cast_or_null<ElementsAttr>(global.getInitialValueAttr());
      if (!global.getConstant() || !data) {
        global.emitError("mfc-hls-externalize-weights: only initialized constant globals "
                         "can become weights");
        return signalPassFailure();
      }
      if (global.getType().getRank() == 0) {
        // A scalar is a constant in the code, not a port.
        if (failed(inlineScalar(global, data)))
          return signalPassFailure();
        continue;
      }
      unsigned index = entryFunc.getNumArguments();
      if (failed(entryFunc.insertArgument(index, global.getType(),
                                          DictionaryAttr::get(context, {}), global.getLoc()))) {
        global.emitError("mfc-hls-externalize-weights: cannot add an argument");
        return signalPassFailure();
      }
      entryFunc.setArgAttr(index, "hls.weight", StringAttr::get(context, global.getSymName()));
      entryFunc.setArgAttr(index, "hls.weight_data", data);
      Value argument = entryFunc.getArgument(index);
      SmallVector<memref::GetGlobalOp> uses;
      module.walk([&](memref::GetGlobalOp get) {
        if (get.getName() == global.getSymName())
          uses.push_back(get);
      });
      for (memref::GetGlobalOp get : uses) {
        if (get->getParentOfType<func::FuncOp>() != entryFunc) {
          get.emitError("mfc-hls-externalize-weights: a weight read outside the entry");
          return signalPassFailure();
        }
        get.replaceAllUsesWith(argument);
        get.erase();
      }
      global.erase();
    }
  }
};
} // namespace
