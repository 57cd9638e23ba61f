//===- ControlFlow.cpp - Scan ---------------------------------------------===//
//
// Scan becomes an scf.for over the sequence: loop-carried states, per-step slices of
// the scan inputs, and per-step results inserted into preallocated scan outputs. The
// body graph is imported inline into the loop body.
//
//===----------------------------------------------------------------------===//
#include "../Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// Dims of `type` with `axis` removed (a per-step slice of a scan input).
RankedTensorType dropAxis(RankedTensorType type, int64_t axis) {
  SmallVector<int64_t> shape(type.getShape());
  shape.erase(shape.begin() + axis);
  return RankedTensorType::get(shape, type.getElementType());
}

/// Records runtime sizes of `value`'s dims under the dim_params of `type`.
void recordSymbols(GraphImporter &im, Location loc, const onnx::TypeProto *type, Value value,
                   ArrayRef<int64_t> valueDims, llvm::StringMap<Value> &symbols) {
  if (!type || !type->has_tensor_type() || !type->tensor_type().has_shape())
    return;
  const auto &dims = type->tensor_type().shape().dim();
  for (int i = 0; i < dims.size() && i < int(valueDims.size()); ++i)
    if (dims[i].has_dim_param() && !symbols.count(dims[i].dim_param()))
      symbols[dims[i].dim_param()] = tensor::DimOp::create(im.builder, loc, value, valueDims[i]);
}

FailureOr<SmallVector<OnnxValue>> convertScan(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  const onnx::AttributeProto *bodyAttr = node.attr("body");
  if (!bodyAttr || !bodyAttr->has_g())
    return im.error(node, "missing body graph");
  onnx::GraphProto body = bodyAttr->g(); // a copy: importing takes initializer bytes
  int64_t numScanInputs = node.getInt("num_scan_inputs", 0);
  int64_t numStates = int64_t(node.inputs.size()) - numScanInputs;
  int64_t numScanOutputs = body.output_size() - numStates;
  if (numScanInputs < 1 || numStates < 0 || numScanOutputs < 0 ||
      body.input_size() != numStates + numScanInputs)
    return im.error(node, "body has ") << body.input_size() << " inputs and "
                                       << body.output_size() << " outputs for " << numStates
                                       << " states and " << numScanInputs << " scan inputs";
  auto attrOr = [&](StringRef name, int64_t count) {
    SmallVector<int64_t> values = node.getInts(name).value_or(SmallVector<int64_t>());
    values.resize(count, 0);
    return values;
  };
  SmallVector<int64_t> inAxes = attrOr("scan_input_axes", numScanInputs);
  SmallVector<int64_t> inDirs = attrOr("scan_input_directions", numScanInputs);
  SmallVector<int64_t> outAxes = attrOr("scan_output_axes", numScanOutputs);
  SmallVector<int64_t> outDirs = attrOr("scan_output_directions", numScanOutputs);

  SmallVector<OnnxValue> states(node.inputs.begin(), node.inputs.begin() + numStates);
  SmallVector<OnnxValue> scanInputs(node.inputs.begin() + numStates, node.inputs.end());
  for (auto [j, in] : llvm::enumerate(scanInputs)) {
    int64_t rank = cast<RankedTensorType>(in.value.getType()).getRank();
    if (inAxes[j] < -rank || inAxes[j] >= rank)
      return im.error(node, "scan input axis ") << inAxes[j] << " is out of range";
    if (inAxes[j] < 0)
      inAxes[j] += rank;
  }
  Value length = tensor::DimOp::create(b, loc, scanInputs[0].value, inAxes[0]);

  // Runtime sizes of the symbolic dims the body's outputs may use.
  llvm::StringMap<Value> symbols;
  for (int64_t i = 0; i < numStates + numScanInputs; ++i) {
    Value outer = node.input(i);
    int64_t rank = cast<RankedTensorType>(outer.getType()).getRank();
    SmallVector<int64_t> dims;
    for (int64_t d = 0; d < rank; ++d)
      if (i < numStates || d != inAxes[i - numStates])
        dims.push_back(d);
    recordSymbols(im, loc, &body.input(i).type(), outer, dims, symbols);
  }

  // Preallocated scan outputs: [length, per-step shape...] moved to the output axis.
  SmallVector<Value> inits;
  for (const OnnxValue &s : states)
    inits.push_back(s.value);
  SmallVector<int32_t> scanOutTypes;
  for (int64_t k = 0; k < numScanOutputs; ++k) {
    const onnx::ValueInfoProto &out = body.output(numStates + k);
    FailureOr<RankedTensorType> stepType = im.tensorType(out.type(), loc, "scan output '" + out.name() + "'");
    if (failed(stepType))
      return failure();
    int64_t rank = stepType->getRank() + 1;
    if (outAxes[k] < 0)
      outAxes[k] += rank;
    if (outAxes[k] < 0 || outAxes[k] >= rank)
      return im.error(node, "scan output axis ") << outAxes[k] << " is out of range";
    SmallVector<int64_t> shape(stepType->getShape());
    SmallVector<Value> dynDims;
    shape.insert(shape.begin() + outAxes[k], ShapedType::kDynamic);
    const auto &dims = out.type().tensor_type().shape().dim();
    for (int64_t d = 0, s = 0; d < rank; ++d) {
      if (d == outAxes[k]) {
        dynDims.push_back(length);
        continue;
      }
      if (ShapedType::isDynamic(shape[d])) {
        const std::string &symbol = dims[s].dim_param();
        auto it = symbols.find(symbol);
        if (symbol.empty() || it == symbols.end())
          return im.error(node, "dimension ")
                 << s << " of scan output '" << out.name()
                 << "' is unknown; give it a dim_param shared with a Scan input";
        dynDims.push_back(it->second);
      }
      ++s;
    }
    inits.push_back(im.emptyTensor(loc, shape, stepType->getElementType(), dynDims));
    scanOutTypes.push_back(out.type().tensor_type().elem_type());
  }

  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, zero, length, one, inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value t = loop.getInductionVar();
  Value reversedT; // length - 1 - t, for reverse directions
  if (llvm::is_contained(inDirs, 1) || llvm::is_contained(outDirs, 1))
    reversedT = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, length, one), t);
  auto sliceOffsets = [&](Value tensor, int64_t axis, Value index) {
    int64_t rank = cast<RankedTensorType>(tensor.getType()).getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
    offsets[axis] = index;
    sizes[axis] = b.getIndexAttr(1);
    return std::make_tuple(offsets, sizes, strides);
  };

  llvm::StringMap<OnnxValue> bound;
  for (int64_t i = 0; i < numStates; ++i)
    bound[body.input(i).name()] = {loop.getRegionIterArg(i), states[i].elemType};
  for (auto [j, in] : llvm::enumerate(scanInputs)) {
    auto [offsets, sizes, strides] = sliceOffsets(in.value, inAxes[j], inDirs[j] ? reversedT : t);
    auto stepType = dropAxis(cast<RankedTensorType>(in.value.getType()), inAxes[j]);
    Value step = tensor::ExtractSliceOp::create(b, loc, stepType, in.value, offsets, sizes, strides);
    bound[body.input(numStates + j).name()] = {step, in.elemType};
  }
  FailureOr<SmallVector<OnnxValue>> outputs = im.importBody(body, bound);
  if (failed(outputs))
    return failure();

  SmallVector<Value> yields;
  for (int64_t i = 0; i < numStates; ++i) {
    Value next = (*outputs)[i].value;
    Type carried = loop.getRegionIterArg(i).getType();
    if (next.getType() != carried) {
      if (failed(verifyCompatibleShape(next.getType(), carried)) ||
          getElementTypeOrSelf(next) != getElementTypeOrSelf(carried))
        return im.error(node, "body output ") << i << " is " << next.getType()
                                              << " but the state is " << carried;
      next = tensor::CastOp::create(b, loc, carried, next);
    }
    yields.push_back(next);
  }
  for (int64_t k = 0; k < numScanOutputs; ++k) {
    Value acc = loop.getRegionIterArg(numStates + k);
    auto [offsets, sizes, strides] = sliceOffsets(acc, outAxes[k], outDirs[k] ? reversedT : t);
    Value step = (*outputs)[numStates + k].value;
    auto stepType = dropAxis(cast<RankedTensorType>(acc.getType()), outAxes[k]);
    if (step.getType() != stepType)
      step = tensor::CastOp::create(b, loc, stepType, step);
    yields.push_back(tensor::InsertSliceOp::create(b, loc, step, acc, offsets, sizes, strides));
  }
  scf::YieldOp::create(b, loc, yields);

  SmallVector<OnnxValue> results;
  for (int64_t i = 0; i < numStates; ++i)
    results.push_back({loop.getResult(i), states[i].elemType});
  for (int64_t k = 0; k < numScanOutputs; ++k)
    results.push_back({loop.getResult(numStates + k), scanOutTypes[k]});
  return results;
}
} // namespace

void mfc::onnx_import::registerControlFlowOps(ConverterTable &table) {
  table["Scan"] = {convertScan, 16, 17};
}
