//===- ControlFlow.cpp - Scan and Loop ------------------------------------===//
//
// Scan becomes an scf.for over the sequence: loop-carried states, per-step slices of
// the scan inputs, and per-step results inserted into preallocated scan outputs. Loop
// becomes an scf.while over (iteration, condition, states, scan outputs). The body
// graph is imported inline into the loop body.
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

/// Offsets, sizes and strides of the unit slice of `tensor` at `index` along `axis`.
std::tuple<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
unitSlice(OpBuilder &b, Location loc, Value tensor, int64_t axis, Value index) {
  int64_t rank = cast<RankedTensorType>(tensor.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
  offsets[axis] = index;
  sizes[axis] = b.getIndexAttr(1);
  return {offsets, sizes, strides};
}

/// An empty tensor for the per-step outputs `out` of a body stacked along `axis`
/// (`length` steps). Dynamic per-step dims are sized through their dim_params.
FailureOr<Value> stackedOutput(GraphImporter &im, const Node &node,
                               const onnx::ValueInfoProto &out, int64_t &axis, Value length,
                               const llvm::StringMap<Value> &symbols) {
  Location loc = node.loc;
  FailureOr<RankedTensorType> stepType =
      im.tensorType(out.type(), loc, "body output '" + out.name() + "'");
  if (failed(stepType))
    return failure();
  int64_t rank = stepType->getRank() + 1;
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return im.error(node, "scan output axis ") << axis << " is out of range";
  SmallVector<int64_t> shape(stepType->getShape());
  shape.insert(shape.begin() + axis, ShapedType::kDynamic);
  SmallVector<Value> dynDims;
  const auto &dims = out.type().tensor_type().shape().dim();
  for (int64_t d = 0, s = 0; d < rank; ++d) {
    if (d == axis) {
      dynDims.push_back(length);
      continue;
    }
    if (ShapedType::isDynamic(shape[d])) {
      const std::string &symbol = dims[s].dim_param();
      auto it = symbols.find(symbol);
      if (symbol.empty() || it == symbols.end())
        return im.error(node, "dimension ")
               << s << " of scan output '" << out.name()
               << "' is unknown; give it a dim_param shared with an input";
      dynDims.push_back(it->second);
    }
    ++s;
  }
  return im.emptyTensor(loc, shape, stepType->getElementType(), dynDims);
}

/// `step` inserted into `acc` at `index` along `axis`.
Value insertStep(OpBuilder &b, Location loc, Value acc, Value step, int64_t axis, Value index) {
  auto [offsets, sizes, strides] = unitSlice(b, loc, acc, axis, index);
  auto stepType = dropAxis(cast<RankedTensorType>(acc.getType()), axis);
  if (step.getType() != stepType)
    step = tensor::CastOp::create(b, loc, stepType, step);
  return tensor::InsertSliceOp::create(b, loc, step, acc, offsets, sizes, strides);
}

/// The next value of a loop-carried `carried` state, cast to its type when compatible.
FailureOr<Value> nextState(GraphImporter &im, const Node &node, Value next, Type carried,
                           int64_t index) {
  if (next.getType() == carried)
    return next;
  if (failed(verifyCompatibleShape(next.getType(), carried)) ||
      getElementTypeOrSelf(next) != getElementTypeOrSelf(carried))
    return im.error(node, "body output ") << index << " is " << next.getType()
                                          << " but the state is " << carried;
  return tensor::CastOp::create(im.builder, node.loc, carried, next).getResult();
}

/// A copy of the node's `body` graph attribute (importing takes its initializer bytes).
FailureOr<onnx::GraphProto> bodyGraphOf(GraphImporter &im, const Node &node) {
  const onnx::AttributeProto *attr = node.attr("body");
  if (!attr || !attr->has_g())
    return im.error(node, "missing body graph");
  return attr->g();
}

FailureOr<SmallVector<OnnxValue>> convertScan(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  FailureOr<onnx::GraphProto> bodyGraph = bodyGraphOf(im, node);
  if (failed(bodyGraph))
    return failure();
  onnx::GraphProto &body = *bodyGraph;
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
    FailureOr<Value> stacked = stackedOutput(im, node, out, outAxes[k], length, symbols);
    if (failed(stacked))
      return failure();
    inits.push_back(*stacked);
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
  llvm::StringMap<OnnxValue> bound;
  for (int64_t i = 0; i < numStates; ++i)
    bound[body.input(i).name()] = {loop.getRegionIterArg(i), states[i].elemType};
  for (auto [j, in] : llvm::enumerate(scanInputs)) {
    auto [offsets, sizes, strides] = unitSlice(b, loc, in.value, inAxes[j], inDirs[j] ? reversedT : t);
    auto stepType = dropAxis(cast<RankedTensorType>(in.value.getType()), inAxes[j]);
    Value step = tensor::ExtractSliceOp::create(b, loc, stepType, in.value, offsets, sizes, strides);
    bound[body.input(numStates + j).name()] = {step, in.elemType};
  }
  FailureOr<SmallVector<OnnxValue>> outputs = im.importBody(body, bound);
  if (failed(outputs))
    return failure();

  SmallVector<Value> yields;
  for (int64_t i = 0; i < numStates; ++i) {
    FailureOr<Value> next =
        nextState(im, node, (*outputs)[i].value, loop.getRegionIterArg(i).getType(), i);
    if (failed(next))
      return failure();
    yields.push_back(*next);
  }
  for (int64_t k = 0; k < numScanOutputs; ++k)
    yields.push_back(insertStep(b, loc, loop.getRegionIterArg(numStates + k),
                                (*outputs)[numStates + k].value, outAxes[k],
                                outDirs[k] ? reversedT : t));
  scf::YieldOp::create(b, loc, yields);

  SmallVector<OnnxValue> results;
  for (int64_t i = 0; i < numStates; ++i)
    results.push_back({loop.getResult(i), states[i].elemType});
  for (int64_t k = 0; k < numScanOutputs; ++k)
    results.push_back({loop.getResult(numStates + k), scanOutTypes[k]});
  return results;
}
/// A scalar from a rank-0 or single-element tensor.
Value scalarOf(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> zeros(type.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
  return tensor::ExtractOp::create(b, loc, tensor, zeros);
}

FailureOr<SmallVector<OnnxValue>> convertLoop(GraphImporter &im, const Node &node) {
  OpBuilder &b = im.builder;
  Location loc = node.loc;
  FailureOr<onnx::GraphProto> bodyGraph = bodyGraphOf(im, node);
  if (failed(bodyGraph))
    return failure();
  onnx::GraphProto &body = *bodyGraph;
  Value tripCount = node.input(0), condition = node.input(1);
  int64_t numStates = int64_t(node.inputs.size()) - 2;
  int64_t numScanOutputs = body.output_size() - 1 - numStates;
  if (numStates < 0 || numScanOutputs < 0 || body.input_size() != numStates + 2)
    return im.error(node, "body has ") << body.input_size() << " inputs and "
                                       << body.output_size() << " outputs for "
                                       << numStates << " loop-carried values";
  if (numScanOutputs && !tripCount)
    return im.error(node, "scan outputs need a trip count (input M): a loop that only "
                          "stops on its condition would have to grow them");

  // Scan outputs are preallocated for M steps and cut to the steps taken.
  Value bound = tripCount ? arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                       scalarOf(b, loc, tripCount))
                          : Value();
  llvm::StringMap<Value> symbols;
  SmallVector<Value> inits{arith::ConstantIndexOp::create(b, loc, 0),
                           condition ? scalarOf(b, loc, condition)
                                     : arith::ConstantOp::create(b, loc, b.getBoolAttr(true))};
  for (int64_t i = 0; i < numStates; ++i) {
    Value state = node.input(2 + i);
    inits.push_back(state);
    int64_t rank = cast<RankedTensorType>(state.getType()).getRank();
    recordSymbols(im, loc, &body.input(2 + i).type(), state,
                  llvm::to_vector(llvm::seq<int64_t>(0, rank)), symbols);
  }
  SmallVector<int64_t> axes(numScanOutputs, 0);
  SmallVector<int32_t> scanOutTypes;
  for (int64_t k = 0; k < numScanOutputs; ++k) {
    const onnx::ValueInfoProto &out = body.output(1 + numStates + k);
    FailureOr<Value> stacked = stackedOutput(im, node, out, axes[k], bound, symbols);
    if (failed(stacked))
      return failure();
    inits.push_back(*stacked);
    scanOutTypes.push_back(out.type().tensor_type().elem_type());
  }

  auto loop = scf::WhileOp::create(b, loc, ValueRange(inits).getTypes(), inits);
  OpBuilder::InsertionGuard guard(b);
  {
    // Continue while i < M (when M is given) and the condition holds.
    Block *before = b.createBlock(&loop.getBefore(), {}, ValueRange(inits).getTypes(),
                                  SmallVector<Location>(inits.size(), loc));
    Value go = before->getArgument(1);
    if (bound)
      go = arith::AndIOp::create(
          b, loc, go,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, before->getArgument(0), bound));
    scf::ConditionOp::create(b, loc, go, before->getArguments());
  }
  Block *after = b.createBlock(&loop.getAfter(), {}, ValueRange(inits).getTypes(),
                               SmallVector<Location>(inits.size(), loc));
  Value i = after->getArgument(0);
  Value iteration = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({}, b.getI64Type()),
      ValueRange{arith::IndexCastOp::create(b, loc, b.getI64Type(), i)});
  Value condIn = tensor::FromElementsOp::create(b, loc, RankedTensorType::get({}, b.getI1Type()),
                                                ValueRange{after->getArgument(1)});
  llvm::StringMap<OnnxValue> boundNames;
  boundNames[body.input(0).name()] = {iteration, onnx::TensorProto::INT64};
  boundNames[body.input(1).name()] = {condIn, onnx::TensorProto::BOOL};
  for (int64_t s = 0; s < numStates; ++s)
    boundNames[body.input(2 + s).name()] = {after->getArgument(2 + s), node.inputType(2 + s)};
  FailureOr<SmallVector<OnnxValue>> outputs = im.importBody(body, boundNames);
  if (failed(outputs))
    return failure();
  SmallVector<Value> yields{
      arith::AddIOp::create(b, loc, i, arith::ConstantIndexOp::create(b, loc, 1)),
      scalarOf(b, loc, (*outputs)[0].value)};
  for (int64_t s = 0; s < numStates; ++s) {
    FailureOr<Value> next =
        nextState(im, node, (*outputs)[1 + s].value, after->getArgument(2 + s).getType(), s);
    if (failed(next))
      return failure();
    yields.push_back(*next);
  }
  for (int64_t k = 0; k < numScanOutputs; ++k)
    yields.push_back(insertStep(b, loc, after->getArgument(2 + numStates + k),
                                (*outputs)[1 + numStates + k].value, axes[k], i));
  scf::YieldOp::create(b, loc, yields);

  b.setInsertionPointAfter(loop);
  SmallVector<OnnxValue> results;
  for (int64_t s = 0; s < numStates; ++s)
    results.push_back({loop.getResult(2 + s), node.inputType(2 + s)});
  Value steps = loop.getResult(0);
  for (int64_t k = 0; k < numScanOutputs; ++k) {
    Value stacked = loop.getResult(2 + numStates + k);
    int64_t rank = cast<RankedTensorType>(stacked.getType()).getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, stacked);
    sizes[0] = steps;
    results.push_back({tensor::ExtractSliceOp::create(b, loc, stacked, offsets, sizes, strides),
                       scanOutTypes[k]});
  }
  return results;
}
} // namespace

void mfc::onnx_import::registerControlFlowOps(ConverterTable &table) {
  table["Scan"] = {convertScan, 13, kLatestOpset}; // Scan-11 and Scan-16 differ only in bfloat16
  table["Loop"] = {convertLoop, 13, kLatestOpset};
}
