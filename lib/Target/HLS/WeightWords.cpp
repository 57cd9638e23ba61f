//===- WeightWords.cpp - packed weights read as ap_uint<512> words --------===//
//
// An int8 weight argument !emitc.array<NxBxi8> => !emitc.array<Wx ap_uint<512>>, and
// each load of byte [i][j] => mfc_weight_byte(arg, i, j, B); see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mfc/Target/HLS/HLSTarget.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSWEIGHTWORDS
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
struct WeightWords : public mfc::hls::impl::HLSWeightWordsBase<WeightWords> {
  /// Rewrites the reads of weight argument `arg` (rows of `rowBytes` bytes) and gives it
  /// the word array type; the arguments of the functions it is passed to are pushed on
  /// `passedOn`.
  LogicalResult toWords(BlockArgument arg, emitc::ArrayType bytes,
                        SmallVectorImpl<BlockArgument> &passedOn) {
    int64_t rowBytes = bytes.getShape().back();
    MLIRContext *context = &getContext();
    auto words = emitc::ArrayType::get(
        {mfc::hls::weightWordCount(bytes.getNumElements())},
        emitc::OpaqueType::get(context, "ap_uint<512>"));
    SmallVector<Operation *> users(arg.getUsers());
    for (Operation *user : users) {
      if (auto call = dyn_cast<emitc::CallOp>(user)) {
        auto callee = SymbolTable::lookupNearestSymbolFrom<emitc::FuncOp>(
            call, call.getCalleeAttr());
        if (!callee || callee.isExternal())
          return call->emitError("mfc-hls-weight-words: a weight is passed to ")
                 << call.getCalleeAttr() << ", no function defined here";
        for (OpOperand &operand : call->getOpOperands())
          if (operand.get() == arg)
            passedOn.push_back(callee.getArgument(operand.getOperandNumber()));
        continue;
      }
      auto element = dyn_cast<emitc::SubscriptOp>(user);
      if (!element || element.getIndices().size() != 2)
        return user->emitError("mfc-hls-weight-words: weight argument ")
               << arg.getArgNumber() << " is used other than by a 2-D subscript or a call";
      SmallVector<Operation *> reads(element->getUsers());
      for (Operation *read : reads) {
        auto load = dyn_cast<emitc::LoadOp>(read);
        if (!load)
          return read->emitError("mfc-hls-weight-words: a weight byte is written or aliased, "
                                 "not only read");
        OpBuilder b(load);
        Value operands[] = {arg, element.getIndices()[0], element.getIndices()[1]};
        ArrayAttr args = b.getArrayAttr({b.getIndexAttr(0), b.getIndexAttr(1),
                                         b.getIndexAttr(2), b.getI64IntegerAttr(rowBytes)});
        auto byte = emitc::CallOpaqueOp::create(b, load.getLoc(), load.getType(),
                                                "mfc_weight_byte", operands, args);
        load.replaceAllUsesWith(byte.getResult(0));
        load.erase();
      }
      element.erase();
    }
    arg.setType(words);
    auto func = cast<emitc::FuncOp>(arg.getOwner()->getParentOp());
    SmallVector<Type> inputs(func.getFunctionType().getInputs());
    inputs[arg.getArgNumber()] = words;
    func.setFunctionType(
        FunctionType::get(context, inputs, func.getFunctionType().getResults()));
    return success();
  }

  void runOnOperation() override {
    // The weight ports of the top function, then the arguments they are passed to
    // (mfc-hls-share-functions' sub-functions), each converted once.
    SmallVector<BlockArgument> worklist;
    for (auto func : getOperation().getOps<emitc::FuncOp>()) {
      if (func.isExternal())
        continue;
      for (BlockArgument arg : func.getArguments())
        if (func.getArgAttr(arg.getArgNumber(), "hls.weight"))
          worklist.push_back(arg);
    }
    while (!worklist.empty()) {
      BlockArgument arg = worklist.pop_back_val();
      auto bytes = dyn_cast<emitc::ArrayType>(arg.getType());
      if (!bytes || !mfc::hls::isPackedWeightType(bytes))
        continue; // a float weight, or converted already
      if (failed(toWords(arg, bytes, worklist)))
        return signalPassFailure();
    }
  }
};
} // namespace
