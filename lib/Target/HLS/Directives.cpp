//===- Directives.cpp - HLS pragmas on loops and the top function ---------===//
//
// Innermost scf.for => PIPELINE II=1; with lanes, the loops of the ternary products
// => PIPELINE + UNROLL and their activation arrays => ARRAY_PARTITION; the entry's
// arguments => INTERFACE m_axi; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "mfc/Target/HLS/HLSTarget.h"

#include "LoopAnalysis.h"

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

/// How on-chip arrays are partitioned: per array, dim => cyclic factor (the most of the
/// accesses that need it: a product's lanes, rows side by side, element lanes).
using Partitions = llvm::MapVector<memref::AllocaOp, llvm::SmallMapVector<unsigned, int64_t, 2>>;

void needPartition(Partitions &partitions, memref::AllocaOp array, unsigned dim, int64_t factor) {
  int64_t &current = partitions[array][dim];
  current = std::max(current, factor);
}

struct Directives : public mfc::hls::impl::HLSDirectivesBase<Directives> {
  using Base::Base;

  /// The pragmas of a ternary product with `lanes` codes a cycle per weight port, for
  /// the loop over the bytes and the loops over a byte's codes in it (one per memory
  /// channel, mfc-hls-split-channels); the on-chip arrays read at an index that moves with
  /// the bytes are partitioned so that each lane has its own port, and those that the
  /// channels' rows index differently so that each row has its own.
  void placeLanes(scf::ForOp byteLoop, ArrayRef<scf::ForOp> codeLoops,
                  Partitions &partitions) {
    OpBuilder b = OpBuilder::atBlockBegin(byteLoop.getBody());
    emitc::VerbatimOp::create(b, byteLoop.getLoc(), "#pragma HLS PIPELINE II=1");
    emitc::VerbatimOp::create(b, byteLoop.getLoc(),
                              "#pragma HLS UNROLL factor=" + std::to_string(lanes / 4));
    // Per array and dim, the row indices the channels' code loops use.
    llvm::MapVector<std::pair<memref::AllocaOp, unsigned>, llvm::SmallSetVector<Value, 4>> rows;
    for (scf::ForOp codeLoop : codeLoops) {
      b.setInsertionPointToStart(codeLoop.getBody());
      emitc::VerbatimOp::create(b, codeLoop.getLoc(), "#pragma HLS UNROLL");
      mfc::hls::forEachAccess(codeLoop, [&](Operation *access, Value buffer, ValueRange indices) {
        auto array = buffer.getDefiningOp<memref::AllocaOp>();
        if (!array || indices.empty())
          return;
        if (isa<memref::LoadOp>(access) && mfc::hls::movesIn(indices.back(), byteLoop))
          needPartition(partitions, array, indices.size() - 1, lanes);
        for (auto [dim, index] : llvm::enumerate(indices))
          if (!mfc::hls::movesIn(index, byteLoop))
            rows[{array, dim}].insert(index);
      });
    }
    for (auto &[arrayDim, indices] : rows)
      if (indices.size() > 1)
        needPartition(partitions, arrayDim.first, arrayDim.second, indices.size());
  }

  /// The pragmas of an element-wise loop whose iterations are independent, with
  /// `elementLanes` elements a cycle: PIPELINE II=1 and UNROLL, and its on-chip arrays
  /// partitioned in the dims it moves along.
  void placeElementLanes(scf::ForOp loop, Partitions &partitions) {
    OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
    // Unrolled completely (the partials of a reduction, tern-expand-ops), the loop is no
    // loop to pipeline: the loop around it is, when it holds nothing else.
    auto parent = dyn_cast<scf::ForOp>(loop->getParentOp());
    if (loop.getStaticTripCount()->getZExtValue() == elementLanes && parent &&
        llvm::hasSingleElement(parent.getBody()->without_terminator())) {
      OpBuilder atParent = OpBuilder::atBlockBegin(parent.getBody());
      emitc::VerbatimOp::create(atParent, parent.getLoc(), "#pragma HLS PIPELINE II=1");
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS UNROLL");
    } else {
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS PIPELINE II=1");
      emitc::VerbatimOp::create(b, loop.getLoc(),
                                "#pragma HLS UNROLL factor=" + std::to_string(elementLanes));
    }
    mfc::hls::forEachAccess(loop, [&](Operation *, Value buffer, ValueRange indices) {
      if (auto array = buffer.getDefiningOp<memref::AllocaOp>())
        for (auto [dim, index] : llvm::enumerate(indices))
          if (mfc::hls::movesIn(index, loop))
            needPartition(partitions, array, dim, elementLanes);
    });
  }

  /// Whether `loop`, an innermost loop outside the products, can take `elementLanes`
  /// elements a cycle: its trip count divides by them and its iterations are independent.
  bool takesElementLanes(scf::ForOp loop) {
    std::optional<APInt> trips = loop.getStaticTripCount();
    return elementLanes > 1 && trips && trips->getZExtValue() % elementLanes == 0 &&
           mfc::hls::hasIndependentIterations(loop);
  }

  /// `#pragma HLS ARRAY_PARTITION variable=<array> cyclic factor=<F> dim=<D>` after
  /// `array` for each partitioned dim, the variable named by the C++ emitter through the
  /// verbatim op's operand.
  void partition(memref::AllocaOp array, ArrayRef<std::pair<unsigned, int64_t>> dims) {
    OpBuilder b(array->getContext());
    b.setInsertionPointAfter(array);
    MemRefType type = array.getType();
    auto asArray = UnrealizedConversionCastOp::create(
        b, array.getLoc(), emitc::ArrayType::get(type.getShape(), type.getElementType()),
        array.getResult());
    // The factor per dim (1: whole), for mfc-hls-share-functions to tell arrays apart.
    SmallVector<int64_t> factors(type.getRank(), 1);
    for (auto [dim, factor] : dims) {
      // A dim smaller than the factor is split into its elements.
      factors[dim] = std::min(factor, type.getDimSize(dim));
      emitc::VerbatimOp::create(
          b, array.getLoc(),
          b.getStringAttr(llvm::formatv("#pragma HLS ARRAY_PARTITION variable={{} cyclic "
                                        "factor={0} dim={1}",
                                        factors[dim], dim + 1)
                              .str()),
          asArray.getResult(0));
    }
    array->setAttr(mfc::hls::kPartitionAttrName, b.getDenseI64ArrayAttr(factors));
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
    if (elementLanes == 0) {
      getOperation().emitError("mfc-hls-directives: element-lanes=0");
      return signalPassFailure();
    }
    Partitions partitions;
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
      if (takesElementLanes(loop))
        return placeElementLanes(loop, partitions);
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      emitc::VerbatimOp::create(b, loop.getLoc(), "#pragma HLS PIPELINE II=1");
    });
    for (auto &[byteLoop, codeLoops] : products)
      placeLanes(byteLoop, codeLoops, partitions);
    for (auto &[array, dims] : partitions)
      partition(array, dims.takeVector());

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
                        !words && (elementLanes > 1 || (weight && lanes > 1))
                            ? " max_widen_bitwidth=512"
                            : "")
              .str());
    }
    emitc::VerbatimOp::create(b, loc, "#pragma HLS INTERFACE s_axilite port=return");
    getOperation()->setAttr("hls.ports", ArrayAttr::get(context, ports));
  }
};
} // namespace
