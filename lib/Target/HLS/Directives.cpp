//===- Directives.cpp - HLS pragmas on loops and the top function ---------===//
//
// Innermost scf.for => PIPELINE II=1; the entry's arguments => INTERFACE m_axi; see
// the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/Support/FormatVariadic.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSDIRECTIVES
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
struct Directives : public mfc::hls::impl::HLSDirectivesBase<Directives> {
  using Base::Base;

  void runOnOperation() override {
    auto entryFunc = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!entryFunc) {
      getOperation().emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    getOperation().walk([](scf::ForOp loop) {
      bool innermost = !loop.getBody()
                            ->walk([](scf::ForOp) { return WalkResult::interrupt(); })
                            .wasInterrupted();
      if (!innermost)
        return;
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS PIPELINE II=1");
    });

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
      // The C++ emitter names the arguments v1, v2, ... in order.
      emitc::VerbatimOp::create(
          b, loc,
          llvm::formatv("#pragma HLS INTERFACE m_axi port=v{0} offset=slave bundle={1} "
                        "depth={2}",
                        index + 1, weight ? "weights" : "io", memref.getNumElements())
              .str());
    }
    emitc::VerbatimOp::create(b, loc, "#pragma HLS INTERFACE s_axilite port=return");
    getOperation()->setAttr("hls.ports", ArrayAttr::get(context, ports));
  }
};
} // namespace
