//===- ShapeFolding.cpp - evaluate integer shape subgraphs at import ------===//
//
// Exporters compute shape operands at run time from the shapes of other tensors:
// torch's `chunk` writes `Shape -> Gather -> Add -> Div -> Mul` in front of a Slice,
// a view writes `Shape -> Gather -> Unsqueeze -> Concat` in front of a Reshape. When
// the dims involved are static these are constants, and the converters (Slice, Split,
// Reshape, Expand, ...) need them as constants to produce static shapes. This file
// evaluates such nodes while importing: a node of the integer op set whose inputs are
// small integer constants (or, for Shape, a tensor whose requested dims are static)
// becomes an arith.constant. Anything else (a symbolic dim, a float value, a large
// tensor) is left to the node's converter, which computes it at run time.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mfc::onnx_import;

namespace {
/// Folded tensors stay small: shape vectors, indices, split sizes.
constexpr int64_t kMaxFoldedElements = 4096;

/// A small integer (or bool) tensor, row-major.
struct IntTensor {
  SmallVector<int64_t> shape;
  SmallVector<int64_t> values;
  int32_t onnxType = onnx::TensorProto::INT64;

  int64_t rank() const { return shape.size(); }
};

bool isIntegerOnnxType(int32_t t) {
  switch (t) {
  case onnx::TensorProto::INT8: case onnx::TensorProto::INT16:
  case onnx::TensorProto::INT32: case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT8: case onnx::TensorProto::UINT16:
  case onnx::TensorProto::UINT32: case onnx::TensorProto::BOOL:
    return true;
  default:
    return false;
  }
}

/// Wraps `v` to the range of ONNX integer type `t`, as a cast to it does.
int64_t wrapTo(int64_t v, int32_t t) {
  switch (t) {
  case onnx::TensorProto::BOOL: return v != 0;
  case onnx::TensorProto::INT8: return int8_t(v);
  case onnx::TensorProto::UINT8: return uint8_t(v);
  case onnx::TensorProto::INT16: return int16_t(v);
  case onnx::TensorProto::UINT16: return uint16_t(v);
  case onnx::TensorProto::INT32: return int32_t(v);
  case onnx::TensorProto::UINT32: return uint32_t(v);
  default: return v;
  }
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

int64_t numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

class Folder {
public:
  Folder(GraphImporter &im, const Node &node) : im(im), node(node) {}

  std::optional<SmallVector<OnnxValue>> fold() {
    std::optional<IntTensor> result = evaluate();
    if (!result || result->values.size() > size_t(kMaxFoldedElements))
      return std::nullopt;
    Type elem = im.elementType(result->onnxType);
    auto type = RankedTensorType::get(result->shape, elem);
    SmallVector<APInt> values;
    for (int64_t v : result->values)
      values.push_back(APInt(elem.getIntOrFloatBitWidth(), v, /*isSigned=*/true,
                             /*implicitTrunc=*/true));
    Value cst = arith::ConstantOp::create(im.builder, node.loc,
                                          DenseElementsAttr::get(type, values));
    return SmallVector<OnnxValue>{{cst, result->onnxType}};
  }

private:
  /// Input `i` as a small integer constant.
  std::optional<IntTensor> input(size_t i) {
    Value v = node.input(i);
    if (!v || !isIntegerOnnxType(node.inputType(i)))
      return std::nullopt;
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldedElements)
      return std::nullopt;
    std::optional<SmallVector<int64_t>> values = im.constantInts(v);
    if (!values)
      return std::nullopt;
    IntTensor t{SmallVector<int64_t>(type.getShape()), *values, node.inputType(i)};
    for (int64_t &x : t.values)
      x = wrapTo(x, t.onnxType); // unsigned types read as signed
    return t;
  }

  std::optional<IntTensor> evaluate() {
    StringRef op = node.opType();
    if (op == "Shape")
      return shape();
    if (op == "Identity")
      return input(0);
    if (op == "Cast")
      return castTo();
    if (op == "Unsqueeze" || op == "Squeeze" || op == "Reshape")
      return reshapeLike(op);
    if (op == "Concat")
      return concat();
    if (op == "Gather")
      return gather();
    if (op == "Slice")
      return slice();
    if (op == "Range")
      return range();
    if (op == "ConstantOfShape")
      return constantOfShape();
    if (op == "Expand")
      return expand();
    if (op == "Where")
      return where();
    return elementwise(op);
  }

  std::optional<IntTensor> shape() {
    auto type = cast<RankedTensorType>(node.input(0).getType());
    int64_t rank = type.getRank();
    int64_t start = node.getInt("start", 0), end = node.getInt("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    IntTensor t{{std::max<int64_t>(end - start, 0)}, {}, onnx::TensorProto::INT64};
    for (int64_t d = start; d < end; ++d) {
      if (type.isDynamicDim(d))
        return std::nullopt;
      t.values.push_back(type.getDimSize(d));
    }
    return t;
  }

  std::optional<IntTensor> castTo() {
    std::optional<IntTensor> x = input(0);
    int32_t to = int32_t(node.getInt("to", 0));
    if (!x || !isIntegerOnnxType(to))
      return std::nullopt;
    for (int64_t &v : x->values)
      v = wrapTo(v, to);
    x->onnxType = to;
    return x;
  }

  /// Unsqueeze/Squeeze/Reshape keep the values; the result's shape comes from the
  /// converter's own rules, so take it from a static result of the same rules.
  std::optional<IntTensor> reshapeLike(StringRef op) {
    std::optional<IntTensor> x = input(0);
    if (!x)
      return std::nullopt;
    std::optional<SmallVector<int64_t>> arg =
        node.input(1) ? im.constantInts(node.input(1)) : SmallVector<int64_t>{};
    if (!arg)
      return std::nullopt;
    SmallVector<int64_t> shape;
    if (op == "Reshape") {
      int64_t known = 1, inferred = -1;
      for (auto [i, d] : llvm::enumerate(*arg)) {
        int64_t size = d == 0 && !node.getInt("allowzero", 0) && int64_t(i) < x->rank()
                           ? x->shape[i]
                           : d;
        if (size == -1) {
          if (inferred >= 0)
            return std::nullopt;
          inferred = i;
        } else if (size < 0) {
          return std::nullopt;
        } else {
          known *= size;
        }
        shape.push_back(size);
      }
      if (inferred >= 0) {
        if (known == 0 || int64_t(x->values.size()) % known)
          return std::nullopt;
        shape[inferred] = x->values.size() / known;
      }
    } else {
      int64_t rank = op == "Unsqueeze" ? x->rank() + arg->size() : x->rank();
      SmallVector<bool> marked(rank, false);
      for (int64_t a : *arg) {
        if (a < -rank || a >= rank)
          return std::nullopt;
        marked[a < 0 ? a + rank : a] = true;
      }
      int64_t next = 0;
      for (int64_t d = 0; d < rank; ++d) {
        if (op == "Unsqueeze") {
          shape.push_back(marked[d] ? 1 : x->shape[next++]);
        } else if (!(arg->empty() ? x->shape[d] == 1 : marked[d])) {
          shape.push_back(x->shape[d]);
        } else if (x->shape[d] != 1) {
          return std::nullopt; // the converter reports it
        }
      }
    }
    if (numElements(shape) != int64_t(x->values.size()))
      return std::nullopt;
    x->shape = shape;
    return x;
  }

  std::optional<IntTensor> concat() {
    SmallVector<IntTensor> parts;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      std::optional<IntTensor> t = input(i);
      if (!t || (!parts.empty() && t->rank() != parts[0].rank()))
        return std::nullopt;
      parts.push_back(*t);
    }
    if (parts.empty() || parts[0].rank() == 0)
      return std::nullopt;
    int64_t rank = parts[0].rank(), axis = node.getInt("axis", 0);
    if (axis < -rank || axis >= rank)
      return std::nullopt;
    axis = axis < 0 ? axis + rank : axis;
    IntTensor out{parts[0].shape, {}, parts[0].onnxType};
    out.shape[axis] = 0;
    for (const IntTensor &p : parts) {
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis && p.shape[d] != out.shape[d])
          return std::nullopt;
      out.shape[axis] += p.shape[axis];
    }
    // Outer rows (dims before axis) of each part, one after the other.
    int64_t outer = numElements(ArrayRef<int64_t>(out.shape).take_front(axis));
    for (int64_t o = 0; o < outer; ++o)
      for (const IntTensor &p : parts) {
        int64_t chunk = p.values.size() / std::max<int64_t>(outer, 1);
        out.values.append(p.values.begin() + o * chunk, p.values.begin() + (o + 1) * chunk);
      }
    return out;
  }

  std::optional<IntTensor> gather() {
    std::optional<IntTensor> indices = input(1);
    std::optional<IntTensor> data = input(0);
    if (!data || !indices || data->rank() == 0)
      return std::nullopt;
    int64_t rank = data->rank(), axis = node.getInt("axis", 0);
    if (axis < -rank || axis >= rank)
      return std::nullopt;
    axis = axis < 0 ? axis + rank : axis;
    int64_t axisSize = data->shape[axis];
    int64_t outer = numElements(ArrayRef<int64_t>(data->shape).take_front(axis));
    int64_t inner = numElements(ArrayRef<int64_t>(data->shape).drop_front(axis + 1));
    IntTensor out{{}, {}, data->onnxType};
    out.shape.append(data->shape.begin(), data->shape.begin() + axis);
    out.shape.append(indices->shape.begin(), indices->shape.end());
    out.shape.append(data->shape.begin() + axis + 1, data->shape.end());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t idx : indices->values) {
        if (idx < -axisSize || idx >= axisSize)
          return std::nullopt; // out of range: the converter's run-time path decides
        idx = idx < 0 ? idx + axisSize : idx;
        auto first = data->values.begin() + (o * axisSize + idx) * inner;
        out.values.append(first, first + inner);
      }
    return out;
  }

  /// Slice of a 1-D tensor (shape vectors).
  std::optional<IntTensor> slice() {
    std::optional<IntTensor> data = input(0), starts = input(1), ends = input(2);
    if (!data || !starts || !ends || data->rank() != 1 || starts->values.size() != 1 ||
        ends->values.size() != 1)
      return std::nullopt;
    int64_t step = 1;
    if (node.input(3)) {
      std::optional<IntTensor> axes = input(3);
      if (!axes || axes->values.size() != 1 || (axes->values[0] != 0 && axes->values[0] != -1))
        return std::nullopt;
    }
    if (node.input(4)) {
      std::optional<IntTensor> steps = input(4);
      if (!steps || steps->values.size() != 1 || steps->values[0] == 0)
        return std::nullopt;
      step = steps->values[0];
    }
    int64_t n = data->values.size();
    auto bound = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v = v < -n ? -n - 1 : v + n; // avoids overflow for INT64_MIN
      return std::clamp(v, lo, hi);
    };
    int64_t start = step > 0 ? bound(starts->values[0], 0, n) : bound(starts->values[0], 0, n - 1);
    int64_t end = step > 0 ? bound(ends->values[0], 0, n) : bound(ends->values[0], -1, n - 1);
    IntTensor out{{0}, {}, data->onnxType};
    for (int64_t i = start; step > 0 ? i < end : i > end; i += step)
      out.values.push_back(data->values[i]);
    out.shape[0] = out.values.size();
    return out;
  }

  std::optional<IntTensor> range() {
    std::optional<IntTensor> start = input(0), limit = input(1), delta = input(2);
    if (!start || !limit || !delta || start->values.size() != 1 || limit->values.size() != 1 ||
        delta->values.size() != 1 || delta->values[0] == 0)
      return std::nullopt;
    int64_t s = start->values[0], l = limit->values[0], d = delta->values[0];
    int64_t count = std::max<int64_t>((l - s + d + (d > 0 ? -1 : 1)) / d, 0);
    if (count > kMaxFoldedElements)
      return std::nullopt;
    IntTensor out{{count}, {}, start->onnxType};
    for (int64_t i = 0; i < count; ++i)
      out.values.push_back(s + i * d);
    return out;
  }

  std::optional<IntTensor> constantOfShape() {
    std::optional<IntTensor> shape = input(0);
    const onnx::AttributeProto *value = node.attr("value");
    if (!shape || !value || !isIntegerOnnxType(value->t().data_type()))
      return std::nullopt; // the default value is a float 0
    for (int64_t d : shape->values)
      if (d < 0 || d > kMaxFoldedElements)
        return std::nullopt;
    if (numElements(shape->values) > kMaxFoldedElements)
      return std::nullopt;
    onnx::TensorProto t = value->t();
    FailureOr<Value> v = im.importTensor(t, node.loc);
    std::optional<SmallVector<int64_t>> fill = succeeded(v) ? im.constantInts(*v) : std::nullopt;
    if (!fill || fill->size() != 1)
      return std::nullopt;
    IntTensor out{shape->values, {}, t.data_type()};
    out.values.assign(numElements(shape->values), wrapTo((*fill)[0], t.data_type()));
    return out;
  }

  /// Numpy broadcasting of `operands` to one shape: the result shape and, per operand,
  /// the source index of every result element.
  std::optional<std::pair<SmallVector<int64_t>, SmallVector<SmallVector<int64_t>>>>
  broadcast(ArrayRef<IntTensor> operands) {
    int64_t rank = 0;
    for (const IntTensor &t : operands)
      rank = std::max(rank, t.rank());
    SmallVector<int64_t> shape(rank, 1);
    for (const IntTensor &t : operands)
      for (int64_t i = 0; i < t.rank(); ++i) {
        int64_t &r = shape[rank - t.rank() + i], d = t.shape[i];
        if (d != 1 && r != 1 && r != d)
          return std::nullopt;
        if (d != 1)
          r = d;
      }
    int64_t n = numElements(shape);
    if (n > kMaxFoldedElements)
      return std::nullopt;
    SmallVector<int64_t> outStrides = stridesOf(shape);
    SmallVector<SmallVector<int64_t>> sources;
    for (const IntTensor &t : operands) {
      SmallVector<int64_t> strides = stridesOf(t.shape), index(n, 0);
      for (int64_t e = 0; e < n; ++e)
        for (int64_t i = 0; i < t.rank(); ++i) {
          int64_t coord = (e / outStrides[rank - t.rank() + i]) % shape[rank - t.rank() + i];
          index[e] += (t.shape[i] == 1 ? 0 : coord) * strides[i];
        }
      sources.push_back(index);
    }
    return std::make_pair(shape, sources);
  }

  std::optional<IntTensor> expand() {
    std::optional<IntTensor> x = input(0), shape = input(1);
    if (!x || !shape)
      return std::nullopt;
    IntTensor target{shape->values, {}, x->onnxType};
    auto b = broadcast({*x, target});
    if (!b)
      return std::nullopt;
    IntTensor out{b->first, {}, x->onnxType};
    for (int64_t src : b->second[0])
      out.values.push_back(x->values[src]);
    return out;
  }

  std::optional<IntTensor> where() {
    std::optional<IntTensor> c = input(0), x = input(1), y = input(2);
    if (!c || !x || !y)
      return std::nullopt;
    auto b = broadcast({*c, *x, *y});
    if (!b)
      return std::nullopt;
    IntTensor out{b->first, {}, x->onnxType};
    for (size_t e = 0; e < b->second[0].size(); ++e)
      out.values.push_back(c->values[b->second[0][e]] ? x->values[b->second[1][e]]
                                                      : y->values[b->second[2][e]]);
    return out;
  }

  std::optional<IntTensor> elementwise(StringRef op) {
    using Fn = std::function<std::optional<int64_t>(int64_t, int64_t)>;
    auto cmp = [](auto f) -> Fn { return [f](int64_t a, int64_t b) { return int64_t(f(a, b)); }; };
    bool isCompare = false;
    Fn fn;
    if (op == "Add") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a + b; };
    else if (op == "Sub") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a - b; };
    else if (op == "Mul") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a * b; };
    else if (op == "Div")
      fn = [](int64_t a, int64_t b) -> std::optional<int64_t> {
        if (b == 0) return std::nullopt; // left to run time, like any other
        return a / b;                    // truncation, as onnxruntime's integer Div
      };
    else if (op == "Max") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return std::max(a, b); };
    else if (op == "Min") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return std::min(a, b); };
    else if (op == "And") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a && b; };
    else if (op == "Or") fn = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a || b; };
    else if (op == "Equal") { fn = cmp(std::equal_to<int64_t>()); isCompare = true; }
    else if (op == "Less") { fn = cmp(std::less<int64_t>()); isCompare = true; }
    else if (op == "LessOrEqual") { fn = cmp(std::less_equal<int64_t>()); isCompare = true; }
    else if (op == "Greater") { fn = cmp(std::greater<int64_t>()); isCompare = true; }
    else if (op == "GreaterOrEqual") { fn = cmp(std::greater_equal<int64_t>()); isCompare = true; }
    else if (op == "Neg" || op == "Abs" || op == "Not") {
      std::optional<IntTensor> x = input(0);
      if (!x)
        return std::nullopt;
      for (int64_t &v : x->values)
        v = wrapTo(op == "Neg" ? -v : op == "Abs" ? std::abs(v) : !v, x->onnxType);
      return x;
    } else {
      return std::nullopt;
    }
    if (node.inputs.size() != 2)
      return std::nullopt; // variadic Max/Min: left to the converter
    std::optional<IntTensor> a = input(0), b = input(1);
    if (!a || !b || a->onnxType != b->onnxType)
      return std::nullopt;
    bool isUnsigned = isUnsignedOnnxType(a->onnxType);
    if (isUnsigned && op != "Add" && op != "Sub" && op != "Mul" && op != "Equal")
      return std::nullopt; // the signed evaluation above would differ
    auto bc = broadcast({*a, *b});
    if (!bc)
      return std::nullopt;
    IntTensor out{bc->first, {}, isCompare ? int32_t(onnx::TensorProto::BOOL) : a->onnxType};
    for (size_t e = 0; e < bc->second[0].size(); ++e) {
      std::optional<int64_t> v = fn(a->values[bc->second[0][e]], b->values[bc->second[1][e]]);
      if (!v)
        return std::nullopt;
      out.values.push_back(wrapTo(*v, out.onnxType));
    }
    return out;
  }

  GraphImporter &im;
  const Node &node;
};
} // namespace

/// Shape vectors with some elements known (Concat of a symbolic batch and constants,
/// torch's view shapes): small int64 tensors of rank <= 1 built element by element as
/// tensor.from_elements, so that a Reshape reads the constant elements as static dims.
class PartialFolder {
public:
  PartialFolder(GraphImporter &im, const Node &node) : im(im), node(node) {}

  std::optional<SmallVector<OnnxValue>> fold() {
    std::optional<std::pair<SmallVector<Value>, int64_t>> result = evaluate();
    if (!result)
      return std::nullopt;
    auto [elements, rank] = *result;
    auto type = RankedTensorType::get(rank ? SmallVector<int64_t>{int64_t(elements.size())}
                                           : SmallVector<int64_t>{},
                                      im.builder.getI64Type());
    // All elements known (a static dim of an otherwise symbolic Shape): a constant, which
    // the converters read as one.
    SmallVector<APInt> known;
    for (Value e : elements) {
      APInt c;
      if (!matchPattern(e, m_ConstantInt(&c)))
        break;
      known.push_back(c.sextOrTrunc(64));
    }
    Value v = known.size() == elements.size()
                  ? arith::ConstantOp::create(im.builder, node.loc,
                                              DenseElementsAttr::get(type, known)).getResult()
                  : tensor::FromElementsOp::create(im.builder, node.loc, type, elements).getResult();
    return SmallVector<OnnxValue>{{v, onnx::TensorProto::INT64}};
  }

private:
  /// The i64 elements of a small int64 tensor of rank <= 1 known element by element.
  std::optional<SmallVector<Value>> elements(size_t i) {
    Value v = node.input(i);
    if (!v || node.inputType(i) != onnx::TensorProto::INT64)
      return std::nullopt;
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() > 1 || !type.hasStaticShape() || type.getNumElements() > 16)
      return std::nullopt;
    if (auto fromElements = v.getDefiningOp<tensor::FromElementsOp>())
      return SmallVector<Value>(fromElements.getElements());
    std::optional<SmallVector<int64_t>> values = im.constantInts(v);
    if (!values)
      return std::nullopt;
    SmallVector<Value> result;
    for (int64_t x : *values)
      result.push_back(arith::ConstantOp::create(im.builder, node.loc, im.builder.getI64IntegerAttr(x)));
    return result;
  }

  int64_t rankOf(size_t i) { return cast<RankedTensorType>(node.input(i).getType()).getRank(); }

  std::optional<std::pair<SmallVector<Value>, int64_t>> evaluate() {
    StringRef op = node.opType();
    if (op == "Identity") {
      if (auto e = elements(0))
        return std::make_pair(*e, rankOf(0));
      return std::nullopt;
    }
    if (op == "Concat") {
      SmallVector<Value> all;
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        std::optional<SmallVector<Value>> e = elements(i);
        if (!e || rankOf(i) != 1)
          return std::nullopt;
        all.append(*e);
      }
      return std::make_pair(all, int64_t(1));
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
      std::optional<SmallVector<Value>> e = elements(0);
      if (!e || e->size() != 1)
        return std::nullopt;
      return std::make_pair(*e, int64_t(op == "Unsqueeze" ? 1 : 0));
    }
    if (op == "Gather") {
      std::optional<SmallVector<Value>> data = elements(0);
      std::optional<SmallVector<int64_t>> idx = im.constantInts(node.input(1));
      if (!data || rankOf(0) != 1 || !idx || rankOf(1) > 1 || node.getInt("axis", 0) != 0)
        return std::nullopt;
      int64_t n = data->size();
      SmallVector<Value> picked;
      for (int64_t i : *idx) {
        if (i < -n || i >= n)
          return std::nullopt;
        picked.push_back((*data)[i < 0 ? i + n : i]);
      }
      return std::make_pair(picked, rankOf(1) ? int64_t(1) : int64_t(0));
    }
    return std::nullopt;
  }

  GraphImporter &im;
  const Node &node;
};

std::optional<SmallVector<OnnxValue>>
mfc::onnx_import::foldIntegerNode(GraphImporter &im, const Node &node) {
  if (node.numOutputs() != 1)
    return std::nullopt;
  if (std::optional<SmallVector<OnnxValue>> folded = Folder(im, node).fold())
    return folded;
  return PartialFolder(im, node).fold();
}
