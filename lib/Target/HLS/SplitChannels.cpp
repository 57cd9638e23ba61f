//===- SplitChannels.cpp - packed weights over memory channels ------------===//
//
// A packed weight %w[N][B] read in a product's row loop => C ports %w.ch<c> holding
// rows c, c + C, ..., the row loop unrolled and jammed by C; see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/Passes.h"

#include "LoopAnalysis.h"

#include "mfc/Target/HLS/HLSTarget.h"
#include "mfc/Target/HostToolchain.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mfc::hls {
#define GEN_PASS_DEF_HLSSPLITCHANNELS
#include "Target/HLS/Passes.h.inc"
} // namespace mfc::hls

using namespace mlir;

namespace {
/// The value of `v` when it is an integer constant, or a sum or product of them.
std::optional<int64_t> constantValue(Value v) {
  if (std::optional<int64_t> constant = getConstantIntValue(v))
    return constant;
  Operation *op = v.getDefiningOp();
  if (!op || !isa<arith::AddIOp, arith::MulIOp>(op))
    return std::nullopt;
  std::optional<int64_t> lhs = constantValue(op->getOperand(0));
  std::optional<int64_t> rhs = constantValue(op->getOperand(1));
  if (!lhs || !rhs)
    return std::nullopt;
  return isa<arith::AddIOp>(op) ? *lhs + *rhs : *lhs * *rhs;
}

/// The row `index` reads relative to `iv`: 0 for `iv` itself, c for `iv + c`; without
/// `iv`, the constant `index`.
std::optional<int64_t> rowOffset(Value index, Value iv) {
  if (!iv)
    return constantValue(index);
  if (index == iv)
    return 0;
  auto add = index.getDefiningOp<arith::AddIOp>();
  if (!add)
    return std::nullopt;
  for (auto [base, offset] : {std::pair(add.getLhs(), add.getRhs()),
                              std::pair(add.getRhs(), add.getLhs())}) {
    std::optional<int64_t> constant = constantValue(offset);
    std::optional<int64_t> rest = constant ? rowOffset(base, iv) : std::nullopt;
    if (rest)
      return *rest + *constant;
  }
  return std::nullopt;
}

/// The loop over the rows of weight `weight` with `rows` rows: every use of the weight is
/// a load at [iv, ...] of one scf.for from 0 to `rows` step 1 without results.
scf::ForOp rowLoopOf(BlockArgument weight, int64_t rows) {
  scf::ForOp rowLoop;
  for (Operation *user : weight.getUsers()) {
    auto load = dyn_cast<memref::LoadOp>(user);
    if (!load)
      return nullptr;
    scf::ForOp loop = scf::getForInductionVarOwner(load.getIndices().front());
    if (!loop || (rowLoop && loop != rowLoop))
      return nullptr;
    rowLoop = loop;
  }
  if (!rowLoop || rowLoop.getNumResults() != 0 ||
      getConstantIntValue(rowLoop.getLowerBound()) != 0 ||
      getConstantIntValue(rowLoop.getStep()) != 1 ||
      getConstantIntValue(rowLoop.getUpperBound()) != rows)
    return nullptr;
  return rowLoop;
}

/// Rows c, c + C, ... of `data` (rows of `rowBytes` bytes), as an i8 tensor attribute.
FailureOr<DenseElementsAttr> channelRows(Attribute data, MemRefType channelType,
                                         unsigned channel, unsigned channels) {
  std::optional<ArrayRef<char>> bytes = mfc::constantBytes(data);
  int64_t rowBytes = channelType.getDimSize(1), rows = channelType.getDimSize(0);
  auto dense = dyn_cast<DenseElementsAttr>(data);
  bool splat = dense && dense.isSplat();
  if (!bytes && !splat)
    return failure();
  std::vector<char> slice(rows * rowBytes);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t byte = 0; byte < rowBytes; ++byte)
      slice[row * rowBytes + byte] =
          splat ? dense.getRawData()[0]
                : (*bytes)[(row * channels + channel) * rowBytes + byte];
  auto type = RankedTensorType::get(channelType.getShape(), channelType.getElementType());
  return DenseElementsAttr::getFromRawBuffer(type, slice);
}

struct SplitChannels : public mfc::hls::impl::HLSSplitChannelsBase<SplitChannels> {
  using Base::Base;

  /// Spreads `weight`, whose row loop `rowLoop` has been unrolled and jammed, over the
  /// channels: new arguments after it, its loads redirected to them. A null `rowLoop`:
  /// the loop had C rows and is gone, its rows are constants.
  LogicalResult split(func::FuncOp entryFunc, BlockArgument weight, scf::ForOp rowLoop) {
    auto type = cast<MemRefType>(weight.getType());
    auto channelType =
        MemRefType::get({type.getDimSize(0) / channels, type.getDimSize(1)}, type.getElementType());
    unsigned index = weight.getArgNumber();
    auto name = entryFunc.getArgAttrOfType<StringAttr>(index, "hls.weight");
    Attribute data = entryFunc.getArgAttr(index, "hls.weight_data");
    SmallVector<DenseElementsAttr> channelData;
    for (unsigned channel = 0; channel < channels; ++channel) {
      FailureOr<DenseElementsAttr> rows = channelRows(data, channelType, channel, channels);
      if (failed(rows))
        return entryFunc.emitError("mfc-hls-split-channels: the data of weight '")
               << name.getValue() << "' has no flat layout";
      channelData.push_back(*rows);
    }

    MLIRContext *context = &getContext();
    Builder b(context);
    SmallVector<BlockArgument> ports;
    for (unsigned channel = 0; channel < channels; ++channel) {
      unsigned at = index + 1 + channel;
      NamedAttribute attrs[] = {
          b.getNamedAttr("hls.weight", b.getStringAttr(name.getValue() + ".ch" +
                                                       std::to_string(channel))),
          b.getNamedAttr("hls.weight_data", channelData[channel]),
          b.getNamedAttr("hls.channel", b.getI32IntegerAttr(channel))};
      if (failed(entryFunc.insertArgument(at, channelType, b.getDictionaryAttr(attrs),
                                          weight.getLoc())))
        return entryFunc.emitError("mfc-hls-split-channels: cannot add an argument");
      ports.push_back(entryFunc.getArgument(at));
    }
    // Row %iv + c is row %iv / C of channel c (%iv steps by C now).
    Value iv, channelRow;
    if (rowLoop) {
      iv = rowLoop.getInductionVar();
      OpBuilder atBody = OpBuilder::atBlockBegin(rowLoop.getBody());
      channelRow = arith::DivSIOp::create(
          atBody, rowLoop.getLoc(), iv,
          arith::ConstantIndexOp::create(atBody, rowLoop.getLoc(), channels));
    }
    for (Operation *user : llvm::make_early_inc_range(weight.getUsers())) {
      auto load = cast<memref::LoadOp>(user);
      std::optional<int64_t> channel = rowOffset(load.getIndices().front(), iv);
      if (!channel || *channel < 0 || *channel >= int64_t(channels))
        return load.emitError("mfc-hls-split-channels: a weight row that is not the row "
                              "loop's induction variable plus a channel");
      SmallVector<Value> indices(load.getIndices());
      OpBuilder at(load);
      indices.front() =
          rowLoop ? channelRow : arith::ConstantIndexOp::create(at, load.getLoc(), 0);
      load.replaceAllUsesWith(
          memref::LoadOp::create(at, load.getLoc(), ports[*channel], indices).getResult());
      load.erase();
    }
    if (failed(entryFunc.eraseArgument(index)))
      return entryFunc.emitError("mfc-hls-split-channels: cannot remove an argument");
    return success();
  }

  void runOnOperation() override {
    auto entryFunc = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!entryFunc) {
      getOperation().emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    if (channels == 0) {
      getOperation().emitError("mfc-hls-split-channels: channels=0");
      return signalPassFailure();
    }
    if (channels == 1)
      return;
    SmallVector<BlockArgument> weights;
    for (BlockArgument arg : entryFunc.getArguments()) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      if (entryFunc.getArgAttr(arg.getArgNumber(), "hls.weight") && type &&
          type.hasStaticShape() && mfc::hls::isPackedWeightType(type) &&
          type.getDimSize(0) % channels == 0)
        weights.push_back(arg);
    }
    for (BlockArgument weight : weights) {
      scf::ForOp rowLoop =
          rowLoopOf(weight, cast<MemRefType>(weight.getType()).getDimSize(0));
      if (!rowLoop || !mfc::hls::hasIndependentIterations(rowLoop))
        continue;
      // The transform may build a new loop, which the first row's loads (the original
      // ops) lead to, or none when the loop had C rows. A loop it cannot jam (one with
      // results inside) stays as it was, and its weight one port.
      auto firstRow = cast<memref::LoadOp>(*weight.getUsers().begin());
      if (failed(loopUnrollJamByFactor(rowLoop, channels)))
        continue;
      rowLoop = scf::getForInductionVarOwner(firstRow.getIndices().front());
      if (failed(split(entryFunc, weight, rowLoop)))
        return signalPassFailure();
    }
  }
};
} // namespace
