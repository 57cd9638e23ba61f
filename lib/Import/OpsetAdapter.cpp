//===- OpsetAdapter.cpp - newer opsets through libonnx 1.12's schemas -----===//
//
// Debian's libonnx 1.12 knows operator schemas up to opset 17; exporters write 18 and
// later (onnx 1.23 defines up to opset 28). Between 17 and 28 the ops mfc claims changed
// in few ways that matter:
//   - Reduce* (18): `axes` moved from an attribute to an optional input, with
//     `noop_with_empty_axes`;
//   - Split (18): `num_outputs` names the number of (possibly uneven) parts;
//   - Cast (19, 24), QuantizeLinear (19): `saturate` / `round_mode` only affect float8
//     and float4 results, types mfc does not import;
//   - QuantizeLinear (21, 23) and DequantizeLinear (21, 23): `block_size` (blocked
//     quantization), `output_dtype`, `precision`;
//   - Range (27): `stash_type`, the precision of the computation;
// all other revisions only add element types. Rather than re-implementing ONNX type
// inference for every op, the adapter rewrites each node into its opset-17 spelling
// (the same computation) and shape inference runs against the opset-17 schemas. The
// converters see the model's real opset in diagnostics.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"

#include "llvm/ADT/StringMap.h"

#include <cstring>

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// Initializers and Constant node values visible in a graph, by name.
using ConstantMap = llvm::StringMap<const onnx::TensorProto *>;

/// Little-endian `T` elements of an ONNX raw_data string, widened to int64.
template <typename T>
std::optional<SmallVector<int64_t>> rawInts(const std::string &raw) {
  if (raw.size() % sizeof(T))
    return std::nullopt;
  SmallVector<int64_t> values;
  for (size_t i = 0; i < raw.size(); i += sizeof(T)) {
    T v;
    memcpy(&v, raw.data() + i, sizeof(T));
    values.push_back(v);
  }
  return values;
}

/// The int64 values of an integer tensor proto, if it holds int32/int64 data.
std::optional<SmallVector<int64_t>> intValues(const onnx::TensorProto &t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return std::nullopt;
  if (t.data_type() == onnx::TensorProto::INT64)
    return t.has_raw_data() ? rawInts<int64_t>(t.raw_data())
                            : SmallVector<int64_t>(t.int64_data().begin(), t.int64_data().end());
  if (t.data_type() == onnx::TensorProto::INT32)
    return t.has_raw_data() ? rawInts<int32_t>(t.raw_data())
                            : SmallVector<int64_t>(t.int32_data().begin(), t.int32_data().end());
  return std::nullopt;
}

onnx::AttributeProto *findAttr(onnx::NodeProto &node, StringRef name) {
  for (onnx::AttributeProto &a : *node.mutable_attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

void eraseAttr(onnx::NodeProto &node, StringRef name) {
  auto *attrs = node.mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i)
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

bool isReduce(StringRef opType) {
  return opType.starts_with("Reduce") && opType != "ReduceSum";
}

class Adapter {
public:
  Adapter(MLIRContext &ctx, int opset) : ctx(ctx), opset(opset) {}

  LogicalResult adaptGraph(onnx::GraphProto &graph, ConstantMap constants) {
    for (const onnx::TensorProto &init : graph.initializer()) {
      constants[init.name()] = &init;
      dimsOf[init.name()] = SmallVector<int64_t>(init.dims().begin(), init.dims().end());
    }
    for (const auto *infos : {&graph.input(), &graph.value_info()})
      for (const onnx::ValueInfoProto &info : *infos)
        if (info.type().has_tensor_type() && info.type().tensor_type().has_shape()) {
          SmallVector<int64_t> dims;
          for (const auto &d : info.type().tensor_type().shape().dim())
            dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
          dimsOf[info.name()] = dims;
        }
    bool ok = true;
    for (onnx::NodeProto &node : *graph.mutable_node()) {
      if (node.op_type() == "Constant" && node.attribute_size() == 1 &&
          node.output_size() == 1)
        recordConstant(node, constants);
      if (failed(adaptNode(node, constants)))
        ok = false;
      for (onnx::AttributeProto &attr : *node.mutable_attribute())
        if (attr.has_g() && failed(adaptGraph(*attr.mutable_g(), constants)))
          ok = false;
    }
    return success(ok);
  }

private:
  /// A Constant node's value, whichever attribute holds it (integer lists as tensors).
  void recordConstant(const onnx::NodeProto &node, ConstantMap &constants) {
    const onnx::AttributeProto &a = node.attribute(0);
    if (a.name() == "value") {
      constants[node.output(0)] = &a.t();
      return;
    }
    if (a.name() != "value_ints" && a.name() != "value_int")
      return;
    auto tensor = std::make_unique<onnx::TensorProto>();
    tensor->set_data_type(onnx::TensorProto::INT64);
    if (a.name() == "value_int") {
      tensor->add_int64_data(a.i());
    } else {
      tensor->add_dims(a.ints_size());
      for (int64_t v : a.ints())
        tensor->add_int64_data(v);
    }
    constants[node.output(0)] = tensor.get();
    ownedConstants.push_back(std::move(tensor));
  }

  InFlightDiagnostic error(const onnx::NodeProto &node, const Twine &message) {
    return emitError(NameLoc::get(StringAttr::get(&ctx, node.name())))
           << "node '" << node.name() << "' (" << node.op_type() << ", opset " << opset
           << "): " << message;
  }

  LogicalResult adaptNode(onnx::NodeProto &node, const ConstantMap &constants) {
    StringRef op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      return success();
    if (opset >= 18 && isReduce(op))
      return adaptReduce(node, constants);
    if (opset >= 18 && op == "Split") {
      if (onnx::AttributeProto *n = findAttr(node, "num_outputs")) {
        if (n->i() != node.output_size())
          return error(node, "num_outputs is ") << n->i() << " but the node has "
                                                << node.output_size() << " outputs";
        eraseAttr(node, "num_outputs");
        unevenSplitSizes(node);
      }
      return success();
    }
    if (op == "Range") {
      // Range-27: the precision of the computation; mfc computes in the element type,
      // which for the types it supports (integers, float32) is what stash_type 1 asks.
      if (onnx::AttributeProto *stash = findAttr(node, "stash_type")) {
        if (stash->i() != onnx::TensorProto::FLOAT)
          return error(node, "stash_type ") << stash->i() << " is not supported";
        eraseAttr(node, "stash_type");
      }
      return success();
    }
    if (op == "Cast" || op == "QuantizeLinear") {
      eraseAttr(node, "saturate");   // float8 results only
      eraseAttr(node, "round_mode"); // float8/float4 results only
    }
    if (op == "QuantizeLinear" || op == "DequantizeLinear") {
      if (onnx::AttributeProto *block = findAttr(node, "block_size")) {
        if (block->i() != 0)
          return error(node, "blocked quantization (block_size ")
                 << block->i() << ") is not supported";
        eraseAttr(node, "block_size");
      }
      if (onnx::AttributeProto *precision = findAttr(node, "precision")) {
        if (precision->i() != 0 && precision->i() != onnx::TensorProto::FLOAT)
          return error(node, "precision ") << precision->i() << " is not supported";
        eraseAttr(node, "precision");
      }
      if (onnx::AttributeProto *dtype = findAttr(node, "output_dtype")) {
        if (failed(adaptOutputDtype(node, dtype->i(), constants)))
          return failure();
        eraseAttr(node, "output_dtype");
      }
    }
    return success();
  }

  /// Split-18 with `num_outputs` parts of a dim that does not divide evenly: all but
  /// the last part have ceil(dim / parts) elements. Split-13 needs those sizes as an
  /// input; they are known where the input's dim is (graph inputs, initializers,
  /// value_info). Otherwise Split-13's equal parts are the same computation.
  void unevenSplitSizes(onnx::NodeProto &node) {
    auto dims = dimsOf.find(node.input(0));
    if (dims == dimsOf.end())
      return;
    int64_t rank = dims->second.size(), axis = 0;
    if (onnx::AttributeProto *a = findAttr(node, "axis"))
      axis = a->i();
    if (axis < -rank || axis >= rank)
      return;
    int64_t dim = dims->second[axis < 0 ? axis + rank : axis], parts = node.output_size();
    if (dim < 0 || dim % parts == 0)
      return;
    int64_t chunk = (dim + parts - 1) / parts;
    onnx::TensorProto sizes;
    sizes.set_name(node.name() + "/num_outputs_sizes");
    sizes.set_data_type(onnx::TensorProto::INT64);
    sizes.add_dims(parts);
    for (int64_t i = 0; i < parts; ++i)
      sizes.add_int64_data(i + 1 < parts ? chunk : std::max<int64_t>(dim - chunk * (parts - 1), 0));
    node.add_input(sizes.name());
    extraInitializers.push_back(std::move(sizes));
  }

  /// Reduce*-18: a constant `axes` input becomes the opset-13 attribute; with
  /// `noop_with_empty_axes` and no axes the node is an Identity.
  LogicalResult adaptReduce(onnx::NodeProto &node, const ConstantMap &constants) {
    onnx::AttributeProto *noop = findAttr(node, "noop_with_empty_axes");
    bool noopIfEmpty = noop && noop->i() != 0;
    SmallVector<int64_t> axes;
    if (node.input_size() >= 2 && !node.input(1).empty()) {
      auto it = constants.find(node.input(1));
      std::optional<SmallVector<int64_t>> values;
      if (it != constants.end())
        values = intValues(*it->second);
      if (!values)
        return error(node, "axes (input 1) must be a constant");
      axes = *values;
    }
    eraseAttr(node, "noop_with_empty_axes");
    node.mutable_input()->DeleteSubrange(1, node.input_size() - 1);
    if (axes.empty() && noopIfEmpty) {
      node.set_op_type("Identity");
      node.clear_attribute();
      return success();
    }
    if (!axes.empty()) {
      onnx::AttributeProto *attr = node.add_attribute();
      attr->set_name("axes");
      attr->set_type(onnx::AttributeProto::INTS);
      for (int64_t a : axes)
        attr->add_ints(a);
    }
    return success();
  }

  /// QuantizeLinear-21 `output_dtype` without a zero point is the same as a zero
  /// point 0 of that type; DequantizeLinear-23 `output_dtype` must be the scale's type.
  LogicalResult adaptOutputDtype(onnx::NodeProto &node, int64_t dtype,
                                 const ConstantMap &constants) {
    if (dtype == 0)
      return success();
    if (node.op_type() == "DequantizeLinear") {
      auto scale = node.input_size() > 1 ? constants.find(node.input(1)) : constants.end();
      if (scale != constants.end() && scale->second->data_type() == dtype)
        return success();
      return error(node, "output_dtype ") << dtype << " differs from the scale's type";
    }
    bool hasZeroPoint = node.input_size() > 2 && !node.input(2).empty();
    if (hasZeroPoint)
      return success(); // the zero point's type decides, as output_dtype must agree
    if (dtype != onnx::TensorProto::INT8 && dtype != onnx::TensorProto::UINT8)
      return error(node, "output_dtype ") << dtype << " is not int8 or uint8";
    onnx::TensorProto zeroPoint;
    zeroPoint.set_name(node.name() + "/output_dtype_zero_point");
    zeroPoint.set_data_type(dtype);
    zeroPoint.add_int32_data(0);
    extraInitializers.push_back(zeroPoint);
    while (node.input_size() < 2)
      node.add_input("");
    node.add_input(zeroPoint.name());
    return success();
  }

public:
  /// Initializers the adapter creates, added to the main graph (names are unique).
  std::vector<onnx::TensorProto> extraInitializers;

private:
  MLIRContext &ctx;
  int opset;
  std::vector<std::unique_ptr<onnx::TensorProto>> ownedConstants;
  /// Dims (-1 where unknown) of the values whose type a graph declares.
  llvm::StringMap<SmallVector<int64_t>> dimsOf;
};
} // namespace

LogicalResult mfc::onnx_import::adaptToInferenceOpset(MLIRContext &ctx,
                                                      onnx::ModelProto &model) {
  int opset = 0;
  onnx::OperatorSetIdProto *defaultImport = nullptr;
  for (onnx::OperatorSetIdProto &id : *model.mutable_opset_import())
    if (id.domain().empty() || id.domain() == "ai.onnx") {
      opset = id.version();
      defaultImport = &id;
    }
  if (!defaultImport || opset <= kInferenceOpset)
    return success();
  Adapter adapter(ctx, opset);
  if (failed(adapter.adaptGraph(*model.mutable_graph(), {})))
    return failure();
  for (onnx::TensorProto &init : adapter.extraInitializers)
    *model.mutable_graph()->add_initializer() = std::move(init);
  defaultImport->set_version(kInferenceOpset);
  return success();
}
