//===- DetectTernaryMatmul.cpp - contractions with ternary weights --------===//
//
// contraction(x[..., k], W[k, n]), W = a * T, T ternary  =>  tern.matmul(x, pack2(T)) * a
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Packing.h"
#include "mfc/Dialect/Tern/Passes.h"

#include "ElementExpr.h"
#include "Utils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

#include <cmath>

namespace mfc::tern {
#define GEN_PASS_DEF_TERNDETECTTERNARYMATMUL
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

/// A failed match with the reason a user reads in the remark.
struct Mismatch {
  std::string reason;
};
template <typename T>
using Matched = std::variant<T, Mismatch>;

//===----------------------------------------------------------------------===//
// Constant weight values
//===----------------------------------------------------------------------===//

/// The values of a constant tensor as doubles, row-major.
std::optional<std::vector<double>> constantValues(Value value) {
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  Type elem = attr.getElementType();
  std::vector<double> values;
  values.reserve(attr.getNumElements());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    auto read = [&](auto typed) -> bool {
      auto data = typed.tryGetAsArrayRef();
      if (!data)
        return false;
      values.assign(data->begin(), data->end());
      return true;
    };
    bool ok = elem.isF32()        ? read(cast<DenseF32ResourceElementsAttr>(resource))
              : elem.isF64()      ? read(cast<DenseF64ResourceElementsAttr>(resource))
              : elem.isInteger(8) ? read(cast<DenseI8ResourceElementsAttr>(resource))
              : elem.isInteger(32) ? read(cast<DenseI32ResourceElementsAttr>(resource))
              : elem.isInteger(64) ? read(cast<DenseI64ResourceElementsAttr>(resource))
                                   : false;
    if (!ok)
      return std::nullopt;
    return values;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  if (isa<FloatType>(elem)) {
    for (const APFloat &v : dense.getValues<APFloat>())
      values.push_back(v.convertToDouble());
  } else {
    for (const APInt &v : dense.getValues<APInt>())
      values.push_back(double(v.getSExtValue()));
  }
  return values;
}

/// Evaluates one scalar op of an element-wise body over already-computed operands.
std::optional<double> evaluateScalar(Operation *op, ArrayRef<double> in) {
  auto bits = [&](Type t) { return t.getIntOrFloatBitWidth(); };
  return llvm::TypeSwitch<Operation *, std::optional<double>>(op)
      .Case<arith::ConstantOp>([](arith::ConstantOp c) -> std::optional<double> {
        if (auto f = dyn_cast<FloatAttr>(c.getValue()))
          return f.getValueAsDouble();
        if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
          return double(i.getInt());
        return std::nullopt;
      })
      .Case<arith::ExtSIOp, arith::SIToFPOp, arith::ExtFOp>([&](Operation *) { return in[0]; })
      .Case<arith::ExtUIOp, arith::UIToFPOp>([&](Operation *o) -> std::optional<double> {
        double v = in[0];
        return v < 0 ? v + std::ldexp(1.0, bits(o->getOperand(0).getType())) : v;
      })
      .Case<arith::TruncFOp>([&](Operation *) { return double(float(in[0])); })
      .Case<arith::AddFOp, arith::AddIOp>([&](Operation *) { return in[0] + in[1]; })
      .Case<arith::SubFOp, arith::SubIOp>([&](Operation *) { return in[0] - in[1]; })
      .Case<arith::MulFOp, arith::MulIOp>([&](Operation *) { return in[0] * in[1]; })
      .Case<arith::DivFOp>([&](Operation *) { return in[0] / in[1]; })
      .Case<arith::NegFOp>([&](Operation *) { return -in[0]; })
      .Default([](Operation *) { return std::nullopt; });
}

/// Values of `value` when it is a constant, or an all-parallel linalg.generic of
/// constants (DequantizeLinear of a constant, ...), evaluated element by element.
Matched<std::vector<double>> weightValues(Value value) {
  if (std::optional<std::vector<double>> values = constantValues(value))
    return *values;
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return Mismatch{"the weight is not a constant"};
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.hasStaticShape())
    return Mismatch{"the weight is not a constant"};
  SmallVector<std::vector<double>> inputs;
  for (OpOperand *operand : generic.getDpsInputOperands()) {
    std::optional<std::vector<double>> values = constantValues(operand->get());
    if (!values)
      return Mismatch{"the weight is computed from a non-constant value"};
    inputs.push_back(std::move(*values));
  }
  Block &body = generic.getRegion().front();
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  std::vector<double> result(type.getNumElements());
  SmallVector<int64_t> index(type.getRank(), 0);
  llvm::DenseMap<Value, double> scalars;
  for (int64_t linear = 0; linear < type.getNumElements(); ++linear) {
    for (auto [i, operand] : llvm::enumerate(generic.getDpsInputOperands())) {
      auto operandType = cast<RankedTensorType>(operand->get().getType());
      SmallVector<int64_t> at = maps[i].compose(index);
      int64_t offset = 0;
      for (auto [d, size] : llvm::zip_equal(at, operandType.getShape()))
        offset = offset * size + d;
      scalars[body.getArgument(i)] = inputs[i][offset];
    }
    for (Operation &op : body.without_terminator()) {
      SmallVector<double> in;
      for (Value v : op.getOperands()) {
        auto it = scalars.find(v);
        if (it == scalars.end())
          return Mismatch{"the weight's element-wise computation uses a value from outside"};
        in.push_back(it->second);
      }
      std::optional<double> v = evaluateScalar(&op, in);
      if (!v)
        return Mismatch{("the weight's element-wise computation uses '" +
                         op.getName().getStringRef() + "'").str()};
      scalars[op.getResult(0)] = *v;
    }
    result[linear] = scalars.lookup(body.getTerminator()->getOperand(0));
    for (int64_t d = type.getRank() - 1; d >= 0 && ++index[d] == type.getDimSize(d); --d)
      index[d] = 0;
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Ternary analysis and packing
//===----------------------------------------------------------------------===//

struct TernaryWeight {
  std::vector<uint8_t> codes; ///< N rows of packedRowBytes(K)
  std::vector<float> scales;  ///< 1 (per tensor) or N (per column)
  int64_t nonzeros = 0;
};

/// Splits `w` (element (k, n) at `w[k * kStride + n * nStride]`) into a * T.
Matched<TernaryWeight> ternarize(ArrayRef<double> w, int64_t K, int64_t N, int64_t kStride,
                                 int64_t nStride) {
  std::vector<double> magnitude(N, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      double v = std::fabs(w[k * kStride + n * nStride]);
      if (v == 0.0)
        continue;
      if (magnitude[n] == 0.0) {
        magnitude[n] = v;
      } else if (v != magnitude[n]) {
        std::string reason;
        llvm::raw_string_ostream os(reason);
        os << "weight column " << n << " takes magnitudes " << llvm::format("%g", magnitude[n])
           << " and " << llvm::format("%g", v)
           << "; a ternary weight has one nonzero magnitude per column";
        return Mismatch{reason};
      }
    }
  }
  TernaryWeight result;
  double common = 0.0;
  bool perTensor = true;
  for (double m : magnitude) {
    if (m == 0.0)
      continue;
    if (common == 0.0)
      common = m;
    perTensor &= m == common;
  }
  if (perTensor)
    result.scales = {float(common == 0.0 ? 1.0 : common)};
  else
    for (double m : magnitude)
      result.scales.push_back(float(m == 0.0 ? 1.0 : m));
  int64_t rowBytes = packedRowBytes(K);
  result.codes.assign(N * rowBytes, 0);
  SmallVector<int8_t> row(K);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      double v = w[k * kStride + n * nStride];
      row[k] = v > 0 ? 1 : v < 0 ? -1 : 0;
      result.nonzeros += row[k] != 0;
    }
    packTernaryRow(row, MutableArrayRef<uint8_t>(result.codes).slice(n * rowBytes, rowBytes));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Matching the contraction
//===----------------------------------------------------------------------===//

struct ContractionMatch {
  Value input;
  Value weight;
  bool weightTransposed; ///< W is [n, k] rather than [k, n]
};

bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

Matched<ContractionMatch> matchContraction(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return Mismatch{"not a two-operand multiply-accumulate contraction"};
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 || dims->n.size() != 1 || !dims->batch.empty())
    return Mismatch{"the contraction is not over one reduction dim with one output column dim"};
  if (!isZeroFill(op.getDpsInits()[0]))
    return Mismatch{"the contraction accumulates into a non-zero initial value"};
  unsigned k = dims->k[0], n = dims->n[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto isDims = [](AffineMap map, ArrayRef<unsigned> expected) {
    if (map.getNumResults() != expected.size())
      return false;
    for (auto [expr, d] : llvm::zip_equal(map.getResults(), expected))
      if (expr != getAffineDimExpr(d, map.getContext()))
        return false;
    return true;
  };
  for (int w = 0; w < 2; ++w) {
    AffineMap weightMap = maps[w], inputMap = maps[1 - w], outMap = maps[2];
    bool transposed = isDims(weightMap, {n, k});
    if (!transposed && !isDims(weightMap, {k, n}))
      continue;
    // x[..., k] -> y[..., n] with the same leading dims in the same order.
    SmallVector<unsigned> lead;
    for (AffineExpr e : outMap.getResults().drop_back())
      if (auto d = dyn_cast<AffineDimExpr>(e))
        lead.push_back(d.getPosition());
    SmallVector<unsigned> inDims(lead), outDims(lead);
    inDims.push_back(k);
    outDims.push_back(n);
    if (!isDims(inputMap, inDims) || !isDims(outMap, outDims))
      return Mismatch{"the activation is not laid out as x[..., k] -> y[..., n]"};
    return ContractionMatch{op.getDpsInputs()[1 - w], op.getDpsInputs()[w], transposed};
  }
  return Mismatch{"no operand is a [k, n] or [n, k] weight matrix"};
}

//===----------------------------------------------------------------------===//
// Activations that already hold int8 values
//===----------------------------------------------------------------------===//

/// What is known about the values of a float scalar or tensor.
struct NumericRange {
  bool integral = false;
  double lo = -INFINITY, hi = INFINITY;
  bool fitsInt8() const { return integral && lo >= -128 && hi <= 127; }
};

NumericRange rangeOfTensor(Value tensor, int depth);

/// Range of a scalar in the body of the element-wise `generic`.
NumericRange rangeOfScalar(Value v, linalg::GenericOp generic, int depth) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != &generic.getRegion().front() ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return {};
    return rangeOfTensor(generic.getDpsInputs()[arg.getArgNumber()], depth + 1);
  }
  Operation *op = v.getDefiningOp();
  if (!op)
    return {};
  auto both = [&](auto combine) {
    NumericRange a = rangeOfScalar(op->getOperand(0), generic, depth);
    NumericRange b = rangeOfScalar(op->getOperand(1), generic, depth);
    return NumericRange{a.integral && b.integral, combine(a.lo, b.lo), combine(a.hi, b.hi)};
  };
  auto max = [](double a, double b) { return std::max(a, b); };
  auto min = [](double a, double b) { return std::min(a, b); };
  return llvm::TypeSwitch<Operation *, NumericRange>(op)
      .Case<arith::ConstantOp>([](arith::ConstantOp c) {
        auto f = dyn_cast<FloatAttr>(c.getValue());
        if (!f)
          return NumericRange{};
        double x = f.getValueAsDouble();
        return NumericRange{std::nearbyint(x) == x, x, x};
      })
      .Case<math::RoundEvenOp, math::RoundOp, math::FloorOp, math::CeilOp>([&](Operation *o) {
        NumericRange r = rangeOfScalar(o->getOperand(0), generic, depth);
        return NumericRange{true, std::floor(r.lo), std::ceil(r.hi)};
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) { return both(max); })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) { return both(min); })
      .Case<arith::SIToFPOp>([](arith::SIToFPOp c) {
        unsigned bits = c.getIn().getType().getIntOrFloatBitWidth();
        return NumericRange{true, -std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1};
      })
      .Default([](Operation *) { return NumericRange{}; });
}

/// Range of every element of `tensor`: a constant, or an element-wise generic.
NumericRange rangeOfTensor(Value tensor, int depth) {
  if (depth > 8) // chains of element-wise ops this long are not quantization chains
    return {};
  if (std::optional<std::vector<double>> values = constantValues(tensor)) {
    NumericRange r{true, INFINITY, -INFINITY};
    for (double x : *values) {
      r.integral &= std::nearbyint(x) == x;
      r.lo = std::min(r.lo, x);
      r.hi = std::max(r.hi, x);
    }
    return r;
  }
  if (auto cast = tensor.getDefiningOp<tensor::CastOp>())
    return rangeOfTensor(cast.getSource(), depth + 1);
  auto generic = tensor.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return {};
  Value yielded = generic.getRegion().front().getTerminator()->getOperand(0);
  return rangeOfScalar(yielded, generic, depth);
}

/// The int8 tensor that `input` is the element-wise sitofp of (tern.quantize_act's values,
/// as tern-fuse-quantize-act leaves them), or null.
Value int8Source(Value input) {
  auto generic = input.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      !llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap m) { return m.isIdentity(); }))
    return nullptr;
  Block &body = generic.getRegion().front();
  auto convert = body.getTerminator()->getOperand(0).getDefiningOp<arith::SIToFPOp>();
  if (!convert || convert.getIn() != body.getArgument(0) || !convert.getIn().getType().isInteger(8))
    return nullptr;
  return generic.getDpsInputs()[0];
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// A resource name from the op's location (the ONNX node name) when it has one.
std::string blobName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return (name.getName().getValue() + ".ternary").str();
  return "ternary_weights";
}

struct DetectTernaryMatmul
    : public mfc::tern::impl::TernDetectTernaryMatmulBase<DetectTernaryMatmul> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() == 1 && op.getNumDpsInputs() == 2)
        contractions.push_back(op);
    });
    for (linalg::GenericOp op : contractions)
      rewrite(op);
  }

  void rewrite(linalg::GenericOp op) {
    auto notRewritten = [&](const Mismatch &m) {
      if (remarks)
        op.emitRemark() << "not rewritten to tern.matmul: " << m.reason;
    };
    Matched<ContractionMatch> match = matchContraction(op);
    if (auto *m = std::get_if<Mismatch>(&match))
      return notRewritten(*m);
    auto &[input, weight, transposed] = std::get<ContractionMatch>(match);
    auto inputType = cast<RankedTensorType>(input.getType());
    auto weightType = cast<RankedTensorType>(weight.getType());
    if (!isa<FloatType>(inputType.getElementType()) || !weightType.hasStaticShape())
      return notRewritten({"only float activations and static weight shapes are handled"});
    Matched<std::vector<double>> values = weightValues(weight);
    if (auto *m = std::get_if<Mismatch>(&values))
      return notRewritten(*m);
    int64_t K = weightType.getDimSize(transposed ? 1 : 0);
    int64_t N = weightType.getDimSize(transposed ? 0 : 1);
    Matched<TernaryWeight> ternary =
        ternarize(std::get<std::vector<double>>(values), K, N, transposed ? 1 : N,
                  transposed ? K : 1);
    if (auto *m = std::get_if<Mismatch>(&ternary))
      return notRewritten(*m);
    TernaryWeight &t = std::get<TernaryWeight>(ternary);

    OpBuilder b(op);
    Location loc = op.getLoc();
    auto codesType = RankedTensorType::get({N, packedRowBytes(K)}, b.getI8Type());
    auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign<uint8_t>(t.codes);
    Value codes = arith::ConstantOp::create(
        b, loc, DenseResourceElementsAttr::get(codesType, blobName(loc), std::move(blob)));
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    SmallVector<int64_t> accShape(inputType.getShape());
    accShape.back() = N;
    Type floatType = inputType.getElementType();
    Value acc;
    bool int8Activations = rangeOfTensor(input, 0).fitsInt8();
    if (int8Activations) {
      // Activations that are already int8 values (a quantization chain's clip(round(.)))
      // accumulate exactly in i32, which vectorizes; the sum converts back once.
      Value q = int8Source(input);
      if (!q)
        q = mapElements(b, loc, input, b.getI8Type(), [](OpBuilder &nb, Location l, Value x) {
          return arith::FPToSIOp::create(nb, l, nb.getI8Type(), x).getResult();
        });
      auto accType = RankedTensorType::get(accShape, b.getI32Type());
      Value sum = MatmulOp::create(b, loc, accType, q, codes);
      acc = mapElements(
          b, loc, sum, floatType,
          [&](OpBuilder &nb, Location l, Value x) {
            return arith::SIToFPOp::create(nb, l, floatType, x).getResult();
          },
          /*sizedLike=*/input);
    } else {
      acc = MatmulOp::create(b, loc, RankedTensorType::get(accShape, floatType), input, codes);
    }
    Value scaled = scale(b, loc, acc, t.scales);
    if (scaled.getType() != resultType)
      scaled = tensor::CastOp::create(b, loc, resultType, scaled);
    if (remarks)
      op.emitRemark() << "rewritten to tern.matmul: " << K << "x" << N << " weight, "
                      << t.nonzeros << " nonzeros, "
                      << (t.scales.size() == 1 ? "per-tensor" : "per-column") << " scale, "
                      << (int8Activations ? "int8 activations (i32 accumulation)"
                                          : "float activations");
    op.getResult(0).replaceAllUsesWith(scaled);
    SmallVector<Value> operands(op->getOperands());
    op.erase();
    eraseDeadProducers(operands);
  }

  /// acc * a: once per output element, after the accumulation.
  Value scale(OpBuilder &b, Location loc, Value acc, ArrayRef<float> scales) {
    if (scales.size() == 1 && scales[0] == 1.0f)
      return acc;
    auto accType = cast<RankedTensorType>(acc.getType());
    int64_t rank = accType.getRank();
    auto scaleType = RankedTensorType::get({int64_t(scales.size())}, accType.getElementType());
    Value scaleTensor = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scaleType, scales));
    SmallVector<AffineMap> maps =
        elementwiseMaps(b.getContext(), rank, {Operand::Full, Operand::PerFeature});
    if (scales.size() == 1)
      maps[1] = AffineMap::get(rank, 0, b.getAffineConstantExpr(0));
    return generic(b, loc, accType, acc, ValueRange{acc, scaleTensor}, maps,
                   SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                   std::nullopt, [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                     return arith::MulFOp::create(nb, l, args[0], args[1]);
                   });
  }
};
} // namespace
