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
#include "llvm/ADT/MapVector.h"
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

/// Whether `index` changes from one iteration of `loop` to the next: it is computed in
/// the loop from an induction variable of the loop or of one nested in it.
bool movesIn(Value index, scf::ForOp loop) {
  if (auto arg = dyn_cast<BlockArgument>(index))
    return loop->isAncestor(arg.getOwner()->getParentOp());
  Operation *def = index.getDefiningOp();
  return loop->isAncestor(def) &&
         llvm::any_of(def->getOperands(), [&](Value operand) { return movesIn(operand, loop); });
}

/// How an on-chip array is partitioned: cyclically by the lanes in its last dim, and by
/// the rows computed side by side in the dims (dim, rows) they index.
struct Partition {
  bool lanes = false;
  SmallVector<std::pair<unsigned, int64_t>> rowDims;
};

struct Directives : public mfc::hls::impl::HLSDirectivesBase<Directives> {
  using Base::Base;

  /// The pragmas of a ternary product with `lanes` codes a cycle per weight port, for
  /// the loop over the bytes and the loops over a byte's codes in it (one per memory
  /// channel, mfc-hls-split-channels); the on-chip arrays read at an index that moves with
  /// the bytes are partitioned so that each lane has its own port, and those that the
  /// channels' rows index differently so that each row has its own.
  void placeLanes(scf::ForOp byteLoop, ArrayRef<scf::ForOp> codeLoops,
                  llvm::MapVector<memref::AllocaOp, Partition> &partitioned) {
    OpBuilder b = OpBuilder::atBlockBegin(byteLoop.getBody());
    emitc::VerbatimOp::create(b, byteLoop.getLoc(), "#pragma HLS PIPELINE II=1");
    emitc::VerbatimOp::create(b, byteLoop.getLoc(),
                              "#pragma HLS UNROLL factor=" + std::to_string(lanes / 4));
    // Per array and dim, the row indices the channels' code loops use.
    llvm::MapVector<std::pair<memref::AllocaOp, unsigned>, llvm::SmallSetVector<Value, 4>> rows;
    for (scf::ForOp codeLoop : codeLoops) {
      b.setInsertionPointToStart(codeLoop.getBody());
      emitc::VerbatimOp::create(b, codeLoop.getLoc(), "#pragma HLS UNROLL");
      codeLoop.getBody()->walk([&](Operation *access) {
        Value buffer;
        ValueRange indices;
        if (auto load = dyn_cast<memref::LoadOp>(access))
          buffer = load.getMemRef(), indices = load.getIndices();
        else if (auto store = dyn_cast<memref::StoreOp>(access))
          buffer = store.getMemRef(), indices = store.getIndices();
        auto array = buffer ? buffer.getDefiningOp<memref::AllocaOp>() : nullptr;
        if (!array || indices.empty())
          return;
        if (isa<memref::LoadOp>(access) && movesIn(indices.back(), byteLoop))
          partitioned[array].lanes = true;
        for (auto [dim, index] : llvm::enumerate(indices))
          if (!movesIn(index, byteLoop))
            rows[{array, dim}].insert(index);
      });
    }
    for (auto &[arrayDim, indices] : rows)
      if (indices.size() > 1)
        partitioned[arrayDim.first].rowDims.push_back({arrayDim.second, indices.size()});
  }

  /// `#pragma HLS ARRAY_PARTITION variable=<array> cyclic factor=<F> dim=<D>` after
  /// `array` for each partitioned dim, the variable named by the C++ emitter through the
  /// verbatim op's operand.
  void partition(memref::AllocaOp array, const Partition &how) {
    OpBuilder b(array->getContext());
    b.setInsertionPointAfter(array);
    MemRefType type = array.getType();
    auto asArray = UnrealizedConversionCastOp::create(
        b, array.getLoc(), emitc::ArrayType::get(type.getShape(), type.getElementType()),
        array.getResult());
    SmallVector<std::pair<unsigned, int64_t>> dims(how.rowDims);
    if (how.lanes)
      dims.push_back({type.getRank() - 1, lanes});
    for (auto [dim, factor] : dims)
      emitc::VerbatimOp::create(
          b, array.getLoc(),
          b.getStringAttr(llvm::formatv("#pragma HLS ARRAY_PARTITION variable={{} cyclic "
                                        "factor={0} dim={1}",
                                        factor, dim + 1)
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
    llvm::MapVector<memref::AllocaOp, Partition> partitioned;
    // Byte loops of ternary products and their code loops, in order.
    llvm::MapVector<scf::ForOp, SmallVector<scf::ForOp>> products;
    getOperation().walk([&](scf::ForOp loop) {
      bool innermost = !loop.getBody()
                            ->walk([](scf::ForOp) { return WalkResult::interrupt(); })
                            .wasInterrupted();
      if (!innermost)
        return;
      auto byteLoop = dyn_cast<scf::ForOp>(loop->getParentOp());
      if (lanes > 1 && byteLoop && isCodeLoop(loop, entryFunc))
        return products[byteLoop].push_back(loop);
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS PIPELINE II=1");
    });
    for (auto &[byteLoop, codeLoops] : products)
      placeLanes(byteLoop, codeLoops, partitioned);
    for (auto &[array, how] : partitioned)
      partition(array, how);

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
      auto channel = entryFunc.getArgAttrOfType<IntegerAttr>(index, "hls.channel");
      if (channel)
        port.push_back(b.getNamedAttr("channel", channel));
      ports.push_back(DictionaryAttr::get(context, port));
      // Packed ternary codes are read as 512-bit words (mfc-hls-weight-words); other
      // weights (norm scales) are as wide as their elements, widened with lanes.
      bool words = weight && mfc::hls::isPackedWeightType(memref);
      int64_t depth = words ? mfc::hls::weightWordCount(memref.getNumElements())
                            : memref.getNumElements();
      // The C++ emitter names the arguments v1, v2, ... in order.
      // A weight spread over memory channels reads each on a bundle (AXI master) of its own.
      std::string bundle = weight ? "weights" : "io";
      if (channel)
        bundle += std::to_string(channel.getInt());
      emitc::VerbatimOp::create(
          b, loc,
          llvm::formatv("#pragma HLS INTERFACE m_axi port=v{0} offset=slave bundle={1} "
                        "depth={2}{3}",
                        index + 1, bundle, depth,
                        weight && !words && lanes > 1 ? " max_widen_bitwidth=512" : "")
              .str());
    }
    emitc::VerbatimOp::create(b, loc, "#pragma HLS INTERFACE s_axilite port=return");
    getOperation()->setAttr("hls.ports", ArrayAttr::get(context, ports));
  }
};
} // namespace
