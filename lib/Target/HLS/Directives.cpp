//===- Directives.cpp - HLS pragmas on loops and the top function ---------===//
//
// Innermost scf.for => PIPELINE II=1; with lanes, the loops of the ternary products
// => PIPELINE + UNROLL and their activation arrays => ARRAY_PARTITION; the entry's
// arguments => INTERFACE m_axi; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mfc/Target/HLS/HLSTarget.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSDIRECTIVES
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
/// Whether `loop` runs over the 4 codes of a packed byte in a ternary product:
/// 4 iterations that load an i8 weight port of `entry`.
bool isCodeLoop(scf::ForOp loop, func::FuncOp entry) {
  std::optional<APInt> trips = loop.getStaticTripCount();
  if (!trips || *trips != 4)
    return false;
  return loop.getBody()
      ->walk([&](memref::LoadOp load) {
        auto port = dyn_cast<BlockArgument>(load.getMemRef());
        bool weight = port && port.getOwner() == &entry.getBody().front() &&
                      entry.getArgAttr(port.getArgNumber(), "hls.weight") &&
                      load.getType().isInteger(8);
        return weight ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

struct Directives : public mfc::hls::impl::HLSDirectivesBase<Directives> {
  using Base::Base;

  /// The pragmas of a ternary product with `lanes` codes a cycle, for the loop over a
  /// byte's codes and the loop over the bytes around it; the on-chip arrays read at an
  /// index that moves with them are partitioned so that each lane has its own port.
  void placeLanes(scf::ForOp codeLoop, scf::ForOp byteLoop,
                  llvm::SetVector<memref::AllocaOp> &partitioned) {
    OpBuilder b = OpBuilder::atBlockBegin(codeLoop.getBody());
    emitc::VerbatimOp::create(b, codeLoop.getLoc(), "#pragma HLS UNROLL");
    b.setInsertionPointToStart(byteLoop.getBody());
    emitc::VerbatimOp::create(b, byteLoop.getLoc(), "#pragma HLS PIPELINE II=1");
    emitc::VerbatimOp::create(b, byteLoop.getLoc(),
                              "#pragma HLS UNROLL factor=" + std::to_string(lanes / 4));
    codeLoop.getBody()->walk([&](memref::LoadOp load) {
      auto array = load.getMemRef().getDefiningOp<memref::AllocaOp>();
      if (array && !load.getIndices().empty() &&
          byteLoop->isAncestor(load.getIndices().back().getParentBlock()->getParentOp()))
        partitioned.insert(array);
    });
  }

  /// `#pragma HLS ARRAY_PARTITION variable=<array> cyclic factor=<lanes>` after `array`,
  /// the variable named by the C++ emitter through the verbatim op's operand.
  void partition(memref::AllocaOp array) {
    OpBuilder b(array->getContext());
    b.setInsertionPointAfter(array);
    MemRefType type = array.getType();
    auto asArray = UnrealizedConversionCastOp::create(
        b, array.getLoc(), emitc::ArrayType::get(type.getShape(), type.getElementType()),
        array.getResult());
    emitc::VerbatimOp::create(
        b, array.getLoc(),
        b.getStringAttr(llvm::formatv("#pragma HLS ARRAY_PARTITION variable={{} cyclic "
                                      "factor={0} dim={1}",
                                      lanes, type.getRank())
                            .str()),
        asArray.getResult(0));
  }

  void runOnOperation() override {
    auto entryFunc = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!entryFunc) {
      getOperation().emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    if (!mfc::hls::isValidLaneCount(lanes)) {
      getOperation().emitError() << "mfc-hls-directives: lanes=" << unsigned(lanes)
                                 << " is neither 1 nor a multiple of 4 (the codes of a byte)";
      return signalPassFailure();
    }
    llvm::SetVector<memref::AllocaOp> partitioned;
    getOperation().walk([&](scf::ForOp loop) {
      bool innermost = !loop.getBody()
                            ->walk([](scf::ForOp) { return WalkResult::interrupt(); })
                            .wasInterrupted();
      if (!innermost)
        return;
      auto byteLoop = dyn_cast<scf::ForOp>(loop->getParentOp());
      if (lanes > 1 && byteLoop && isCodeLoop(loop, entryFunc))
        return placeLanes(loop, byteLoop, partitioned);
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS PIPELINE II=1");
    });
    for (memref::AllocaOp array : partitioned)
      partition(array);

    OpBuilder b = OpBuilder::atBlockBegin(&entryFunc.getBody().front());
    Location loc = entryFunc.getLoc();
    MLIRContext *context = &getContext();
    SmallVector<Attribute> ports;
    for (auto [index, type] : llvm::enumerate(entryFunc.getArgumentTypes())) {
      auto memref = dyn_cast<MemRefType>(type);
      if (!memref || !memref.hasStaticShape()) {
        entryFunc.emitError() << "mfc-hls-directives: argument " << index
                              << " is no statically shaped buffer (" << type << ")";
        return signalPassFailure();
      }
      auto weightName = entryFunc.getArgAttrOfType<StringAttr>(index, "hls.weight");
      bool weight = static_cast<bool>(weightName);
      bool output = static_cast<bool>(entryFunc.getArgAttr(index, "bufferize.result"));
      auto onnxName = entryFunc.getArgAttrOfType<StringAttr>(index, "onnx.name");
      SmallVector<NamedAttribute> port{
          b.getNamedAttr("name", weight     ? weightName
                                 : onnxName ? onnxName
                                            : b.getStringAttr("arg" + Twine(index))),
          b.getNamedAttr("role", b.getStringAttr(weight ? "weight" : output ? "output" : "input")),
          b.getNamedAttr("type", TypeAttr::get(memref))};
      if (weight)
        port.push_back(b.getNamedAttr("data", entryFunc.getArgAttr(index, "hls.weight_data")));
      ports.push_back(DictionaryAttr::get(context, port));
      // Packed ternary codes are read as 512-bit words (mfc-hls-weight-words); other
      // weights (norm scales) are as wide as their elements, widened with lanes.
      bool words = weight && mfc::hls::isPackedWeightType(memref);
      int64_t depth = words ? mfc::hls::weightWordCount(memref.getNumElements())
                            : memref.getNumElements();
      // The C++ emitter names the arguments v1, v2, ... in order.
      emitc::VerbatimOp::create(
          b, loc,
          llvm::formatv("#pragma HLS INTERFACE m_axi port=v{0} offset=slave bundle={1} "
                        "depth={2}{3}",
                        index + 1, weight ? "weights" : "io", depth,
                        weight && !words && lanes > 1 ? " max_widen_bitwidth=512" : "")
              .str());
    }
    emitc::VerbatimOp::create(b, loc, "#pragma HLS INTERFACE s_axilite port=return");
    getOperation()->setAttr("hls.ports", ArrayAttr::get(context, ports));
  }
};
} // namespace
