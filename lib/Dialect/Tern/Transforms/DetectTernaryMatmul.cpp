//===- DetectTernaryMatmul.cpp - contractions with ternary weights --------===//
//
// contraction(x[..., k], W[k, n]), W = a * T, T ternary  =>  tern.matmul(x, pack2(T)) * a
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Packing.h"
#include "mfc/Dialect/Tern/Passes.h"

#include "ConstantEval.h"
#include "ElementExpr.h"
#include "NumericRange.h"
#include "Utils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Threading.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <numeric>

namespace mfc::tern {
#define GEN_PASS_DEF_TERNDETECTTERNARYMATMUL
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {


//===----------------------------------------------------------------------===//
// Ternary analysis and packing
//===----------------------------------------------------------------------===//

struct TernaryWeight {
  std::vector<uint8_t> codes;   ///< N rows of packedRowBytes(K)
  std::vector<float> scales;    ///< 1 (per tensor) or N (per column)
  std::vector<int32_t> rowSums; ///< sum_k T[n, k] for each output n
  int64_t nonzeros = 0;
};

/// Whether two weight magnitudes are one. Exporters write the straight-through
/// estimator as arithmetic, w + (a * T - w), which a constant folder evaluates in float32:
/// a * T up to rounding. Magnitudes within 4 float32 ulps count as one (the packed weight
/// takes the first seen); anything farther apart is a different value.
bool sameMagnitude(double a, double b) {
  constexpr double kTolerance = 4.0 / (1 << 23);
  return std::fabs(a - b) <= kTolerance * std::max(a, b);
}

/// The elements of `value` when it is a float32 constant whose data is in memory as
/// float32 (a resource blob, or a dense attribute that is no splat).
std::optional<ArrayRef<float>> float32Data(Value value) {
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.getElementType().isF32())
    return std::nullopt;
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr))
    return resource.tryGetAsArrayRef();
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr); dense && !dense.isSplat())
    return ArrayRef<float>(reinterpret_cast<const float *>(dense.getRawData().data()),
                           dense.getNumElements());
  return std::nullopt;
}

/// Why `w` (element (k, n) at `w[k * kStride + n * nStride]`) is no a * T: the first
/// column, in order, with an infinite or NaN element or a second magnitude.
template <typename Element>
Mismatch columnMismatch(ArrayRef<Element> w, int64_t K, int64_t N, int64_t kStride,
                        int64_t nStride) {
  for (int64_t n = 0; n < N; ++n) {
    double magnitude = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      double v = std::fabs(w[k * kStride + n * nStride]);
      if (v == 0.0)
        continue;
      // An infinite magnitude would pass any relative tolerance; NaN would compare unequal
      // only by accident of order. Neither is a scale of a ternary weight.
      if (!std::isfinite(v))
        return Mismatch{("weight column " + Twine(n) + " holds " + (std::isnan(v) ? "NaN" : "inf") +
                         " (row " + Twine(k) + "); a ternary weight is finite")
                            .str()};
      if (magnitude == 0.0) {
        magnitude = v;
      } else if (!sameMagnitude(v, magnitude)) {
        std::string reason;
        llvm::raw_string_ostream os(reason);
        os << "weight column " << n << " takes magnitudes " << llvm::format("%g", magnitude)
           << " and " << llvm::format("%g", v)
           << "; a ternary weight has one nonzero magnitude per column";
        return Mismatch{reason};
      }
    }
  }
  return Mismatch{"the weight is not ternary"};
}

/// Splits `w` (element (k, n) at `w[k * kStride + n * nStride]`) into a * T; `w` holds
/// float (a constant weight, read in place) or double (evaluated) elements. Columns are
/// independent: tiles of 64 of them are analysed on the context's threads.
template <typename Element>
Matched<TernaryWeight> ternarize(MLIRContext *context, ArrayRef<Element> w, int64_t K,
                                 int64_t N, int64_t kStride, int64_t nStride) {
  // Each task takes 64 columns, their elements in 64 x 64 tiles, in memory order within a
  // tile: a column walk of a large weight would miss the cache at every element, and so
  // would the writes of T[n, k] in a walk by rows of W[k, n]. For each column, k ascends,
  // so its first nonzero magnitude is the one a column walk sees first.
  constexpr int64_t kTile = 64;
  int64_t columnTiles = (N + kTile - 1) / kTile;
  auto forEachElement = [&](auto &&visit) {
    mlir::parallelFor(context, 0, columnTiles, [&](size_t columnTile) {
      int64_t n0 = columnTile * kTile, n1 = std::min(n0 + kTile, N);
      for (int64_t k0 = 0; k0 < K; k0 += kTile) {
        int64_t k1 = std::min(k0 + kTile, K);
        if (nStride <= kStride) {
          for (int64_t k = k0; k < k1; ++k)
            for (int64_t n = n0; n < n1; ++n)
              visit(columnTile, k, n, w[k * kStride + n * nStride]);
        } else {
          for (int64_t n = n0; n < n1; ++n)
            for (int64_t k = k0; k < k1; ++k)
              visit(columnTile, k, n, w[k * kStride + n * nStride]);
        }
      }
    });
  };
  std::vector<double> magnitude(N, 0.0);
  std::vector<char> ternaryTile(columnTiles, true);
  forEachElement([&](size_t columnTile, int64_t, int64_t n, Element value) {
    double v = std::fabs(double(value));
    if (v == 0.0 || v == magnitude[n])
      return;
    if (!std::isfinite(v) || (magnitude[n] != 0.0 && !sameMagnitude(v, magnitude[n])))
      ternaryTile[columnTile] = false;
    else if (magnitude[n] == 0.0)
      magnitude[n] = v;
  });
  if (!llvm::all_of(ternaryTile, [](char ternary) { return ternary; }))
    return columnMismatch(w, K, N, kStride, nStride);
  TernaryWeight result;
  double common = 0.0;
  bool perTensor = true;
  for (double m : magnitude) {
    if (m == 0.0)
      continue;
    if (common == 0.0)
      common = m;
    perTensor &= sameMagnitude(m, common);
  }
  if (perTensor)
    result.scales = {float(common == 0.0 ? 1.0 : common)};
  else
    for (double m : magnitude)
      result.scales.push_back(float(m == 0.0 ? 1.0 : m));
  // T[n, k], row by row as the packing takes it.
  std::vector<int8_t> signs(N * K);
  std::vector<int64_t> nonzerosInTile(columnTiles, 0);
  result.rowSums.assign(N, 0);
  forEachElement([&](size_t columnTile, int64_t k, int64_t n, Element v) {
    int8_t sign = v > 0 ? 1 : v < 0 ? -1 : 0;
    signs[n * K + k] = sign;
    nonzerosInTile[columnTile] += sign != 0;
    result.rowSums[n] += sign;
  });
  result.nonzeros = std::accumulate(nonzerosInTile.begin(), nonzerosInTile.end(), int64_t(0));
  int64_t rowBytes = packedRowBytes(K);
  result.codes.assign(N * rowBytes, 0);
  mlir::parallelFor(context, 0, N, [&](size_t n) {
    packTernaryRow(ArrayRef<int8_t>(signs).slice(n * K, K),
                   MutableArrayRef<uint8_t>(result.codes).slice(n * rowBytes, rowBytes));
  });
  return result;
}

//===----------------------------------------------------------------------===//
// Matching the contraction
//===----------------------------------------------------------------------===//

/// How MatMulInteger widens one factor: ext(x) [- ext(zero_point)].
struct IntegerFactor {
  bool isUnsigned = false;
  OpOperand *zeroPoint = nullptr; ///< the generic's zero-point input, if any
};

struct ContractionMatch {
  Value input;
  Value weight;
  bool weightTransposed; ///< W is [n, k] rather than [k, n]
  /// MatMulInteger: how the activation and the weight are widened.
  std::optional<IntegerFactor> inputFactor, weightFactor;
};

bool isZeroSplat(Value value) {
  DenseElementsAttr attr;
  return matchPattern(value, m_Constant(&attr)) && attr.isSplat() &&
         attr.getElementType().isInteger() && attr.getSplatValue<APInt>().isZero();
}

bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && (matchPattern(fill.getInputs()[0], m_AnyZeroFloat()) ||
                  matchPattern(fill.getInputs()[0], m_Zero()));
}

/// MatMulInteger's body, acc + (ext(a) [- ext(zp_a)]) * (ext(b) [- ext(zp_b)]) over 8-bit
/// a and b: how each of the two factors (inputs 0 and 1) is widened.
Matched<std::array<IntegerFactor, 2>> integerFactors(linalg::GenericOp op) {
  Mismatch notMatMulInteger{"the integer contraction is not acc + (a - zp_a) * (b - zp_b) of 8-bit a, b"};
  Block &body = op.getRegion().front();
  auto sum = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddIOp>();
  if (!sum)
    return notMatMulInteger;
  Value accumulator = body.getArguments().back();
  Value productValue = sum.getLhs() == accumulator ? sum.getRhs() : sum.getLhs();
  auto product = productValue.getDefiningOp<arith::MulIOp>();
  if (!product || (sum.getLhs() != accumulator && sum.getRhs() != accumulator))
    return notMatMulInteger;
  // ext(arg) of an 8-bit block argument: the argument and whether it is zero-extended.
  auto widened = [&](Value v) -> std::optional<std::pair<BlockArgument, bool>> {
    Operation *ext = v.getDefiningOp();
    if (!isa_and_nonnull<arith::ExtSIOp, arith::ExtUIOp>(ext))
      return std::nullopt;
    auto arg = dyn_cast<BlockArgument>(ext->getOperand(0));
    if (!arg || arg.getOwner() != &body || !arg.getType().isInteger(8))
      return std::nullopt;
    return std::make_pair(arg, isa<arith::ExtUIOp>(ext));
  };
  std::array<IntegerFactor, 2> factors;
  std::array<bool, 2> seen{false, false};
  for (Value factor : {product.getLhs(), product.getRhs()}) {
    Value value = factor, zeroPoint;
    if (auto difference = factor.getDefiningOp<arith::SubIOp>()) {
      value = difference.getLhs();
      zeroPoint = difference.getRhs();
    }
    auto operand = widened(value);
    if (!operand || operand->first.getArgNumber() >= 2 || seen[operand->first.getArgNumber()])
      return notMatMulInteger;
    unsigned index = operand->first.getArgNumber();
    seen[index] = true;
    factors[index].isUnsigned = operand->second;
    if (zeroPoint) {
      auto zp = widened(zeroPoint);
      if (!zp || zp->first.getArgNumber() < 2 || zp->second != operand->second ||
          zp->first.getArgNumber() >= op.getNumDpsInputs())
        return notMatMulInteger;
      factors[index].zeroPoint = op.getDpsInputOperand(zp->first.getArgNumber());
    }
  }
  return factors;
}

Matched<ContractionMatch> matchContraction(linalg::GenericOp op) {
  bool integer = getElementTypeOrSelf(op.getResult(0).getType()).isInteger(32) &&
                 op.getNumDpsInputs() >= 2 && op.getNumDpsInputs() <= 4;
  std::array<IntegerFactor, 2> factors;
  if (integer) {
    Matched<std::array<IntegerFactor, 2>> parsed = integerFactors(op);
    if (auto *m = std::get_if<Mismatch>(&parsed))
      return *m;
    factors = std::get<std::array<IntegerFactor, 2>>(parsed);
  } else if (op.getNumDpsInputs() != 2 || !linalg::isaContractionOpInterface(op)) {
    return Mismatch{"not a two-operand multiply-accumulate contraction"};
  }
  if (op.getNumDpsInits() != 1)
    return Mismatch{"not a two-operand multiply-accumulate contraction"};
  // The two factors and the accumulator; MatMulInteger's zero points read no new dims.
  SmallVector<AffineMap> maps{op.getMatchingIndexingMap(op.getDpsInputOperand(0)),
                              op.getMatchingIndexingMap(op.getDpsInputOperand(1)),
                              op.getMatchingIndexingMap(op.getDpsInitOperand(0))};
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(maps);
  if (failed(dims) || dims->k.size() != 1 || dims->n.size() != 1 || !dims->batch.empty())
    return Mismatch{"the contraction is not over one reduction dim with one output column dim"};
  if (!isZeroFill(op.getDpsInits()[0]))
    return Mismatch{"the contraction accumulates into a non-zero initial value"};
  unsigned k = dims->k[0], n = dims->n[0];
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
    ContractionMatch match{op.getDpsInputs()[1 - w], op.getDpsInputs()[w], transposed,
                           std::nullopt, std::nullopt};
    if (integer) {
      match.inputFactor = factors[1 - w];
      match.weightFactor = factors[w];
    }
    return match;
  }
  return Mismatch{"no operand is a [k, n] or [n, k] weight matrix"};
}

//===----------------------------------------------------------------------===//
// Activations that already hold int8 values
//===----------------------------------------------------------------------===//

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

/// A dequantized activation `q / s` or `q * r` whose factor s (r) is read per token,
/// i.e. constant along the contraction's k: then contraction(q / s, W) = contraction(q, W) / s
/// exactly in the real numbers, and q's int8 values can take the exact integer path.
struct Dequantization {
  Value quantized;
  Value factor;
  AffineMap factorMap; ///< over the activation's dims; reads no k
  bool divides;
};

std::optional<Dequantization> matchDequantization(Value input) {
  auto generic = input.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return std::nullopt;
  Block &body = generic.getRegion().front();
  Operation *op = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::DivFOp, arith::MulFOp>(op) || op->getBlock() != &body)
    return std::nullopt;
  auto argOf = [&](Value v) -> int {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == &body && arg.getArgNumber() < 2 ? int(arg.getArgNumber()) : -1;
  };
  int lhs = argOf(op->getOperand(0)), rhs = argOf(op->getOperand(1));
  if (lhs < 0 || rhs < 0 || lhs == rhs)
    return std::nullopt;
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  auto readsK = [&](int arg) {
    return generic.getIndexingMapsArray()[arg].isFunctionOfDim(rank - 1);
  };
  auto identity = [&](int arg) { return generic.getIndexingMapsArray()[arg].isIdentity(); };
  bool divides = isa<arith::DivFOp>(op);
  // q / s: the quantized value divides; q * r: either order.
  for (int q : divides ? SmallVector<int>{lhs} : SmallVector<int>{lhs, rhs}) {
    int f = q == lhs ? rhs : lhs;
    if (identity(q) && !readsK(f) &&
        cast<RankedTensorType>(generic.getDpsInputs()[q].getType()) == input.getType())
      return Dequantization{generic.getDpsInputs()[q], generic.getDpsInputs()[f],
                            generic.getIndexingMapsArray()[f], divides};
  }
  return std::nullopt;
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

/// Drops the data of a resource attribute (an importer's large weight: a slice of the
/// mapped external data file, or a copy) when the last op holding it is erased: once
/// packed, a model's float weights would otherwise all stay resident until the end.
struct ResourceReleaser : public RewriterBase::Listener {
  /// Ops holding each tracked resource.
  llvm::DenseMap<Attribute, int64_t> holders;

  /// Counts `op`'s resource attributes `delta` more times held; releases those no op
  /// holds any more. Before the pass, every op is tracked (+1).
  void track(Operation *op, int delta) {
    for (NamedAttribute attr : op->getAttrs()) {
      auto resource = dyn_cast<DenseResourceElementsAttr>(attr.getValue());
      if (!resource)
        continue;
      if (delta > 0) {
        holders[resource] += delta;
        continue;
      }
      auto it = holders.find(resource);
      if (it == holders.end() || (it->second += delta) > 0)
        continue;
      holders.erase(it);
      if (auto *entry = resource.getRawHandle().getResource())
        entry->setBlob(AsmResourceBlob());
    }
  }
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint previous) override {
    if (!holders.empty() && !previous.isSet()) // a new op, not a moved one
      track(op, +1);
  }
  void notifyOperationErased(Operation *op) override { track(op, -1); }
};

struct DetectTernaryMatmul
    : public mfc::tern::impl::TernDetectTernaryMatmulBase<DetectTernaryMatmul> {
  using Base::Base;

  void runOnOperation() override {
    // Another function, which this pass may be rewriting on another thread, could hold
    // the same resources: they are counted only in a module of one function.
    releaser.holders.clear();
    auto module = getOperation()->getParentOfType<ModuleOp>();
    if (module && llvm::hasSingleElement(module.getOps<FunctionOpInterface>()))
      module.walk([&](Operation *op) { releaser.track(op, +1); });
    SmallVector<linalg::GenericOp> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() == 1 && op.getNumDpsInputs() >= 2 &&
          op.getNumDpsInputs() <= 4)
        contractions.push_back(op);
    });
    for (linalg::GenericOp op : contractions)
      rewrite(op);
  }

  /// A weight packed once, however many contractions read it.
  struct Packed {
    Value codes;                  ///< the 2-bit codes constant
    std::vector<float> scales;    ///< 1 (per tensor) or N (per column)
    std::vector<int32_t> rowSums; ///< sum_k T[n, k]
    int64_t nonzeros;
  };
  llvm::DenseMap<Value, Packed> packed[2]; ///< by weight, for W[k, n] and W[n, k]
  ResourceReleaser releaser;

  /// The K x N weight (stored [n, k] when `transposed`) as 2-bit codes, packed on first use.
  Matched<const Packed *> pack(Value weight, bool transposed, int64_t K, int64_t N,
                               Location loc) {
    llvm::DenseMap<Value, Packed> &known = packed[transposed];
    if (auto it = known.find(weight); it != known.end())
      return &it->second;
    int64_t kStride = transposed ? 1 : N, nStride = transposed ? K : 1;
    Matched<TernaryWeight> ternary = Mismatch{};
    // A float32 constant is read where it lies; a weight computed from constants (a
    // quantization chain, a DequantizeLinear) is evaluated first.
    if (std::optional<ArrayRef<float>> data = float32Data(weight)) {
      ternary = ternarize(&getContext(), *data, K, N, kStride, nStride);
    } else {
      ConstantEvaluator evaluator;
      Matched<const std::vector<double> *> values = evaluator.evaluate(weight);
      if (auto *m = std::get_if<Mismatch>(&values))
        return *m;
      ArrayRef<double> evaluated = *std::get<const std::vector<double> *>(values);
      ternary = ternarize(&getContext(), evaluated, K, N, kStride, nStride);
    }
    if (auto *m = std::get_if<Mismatch>(&ternary))
      return *m;
    TernaryWeight &t = std::get<TernaryWeight>(ternary);
    // At the function's start, where it dominates every contraction that reads the weight.
    auto b = OpBuilder::atBlockBegin(&getOperation().getBody().front());
    auto codesType = RankedTensorType::get({N, packedRowBytes(K)}, b.getI8Type());
    auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign<uint8_t>(t.codes);
    Value codes = arith::ConstantOp::create(
        b, loc, DenseResourceElementsAttr::get(codesType, blobName(loc), std::move(blob)));
    return &(known[weight] = Packed{codes, std::move(t.scales), std::move(t.rowSums), t.nonzeros});
  }

  void rewrite(linalg::GenericOp op) {
    auto notRewritten = [&](const Mismatch &m) {
      if (remarks)
        mlir::emitRemark(op.getLoc()) << "not rewritten to tern.matmul: " << m.reason;
    };
    Matched<ContractionMatch> match = matchContraction(op);
    if (auto *m = std::get_if<Mismatch>(&match))
      return notRewritten(*m);
    ContractionMatch &c = std::get<ContractionMatch>(match);
    Value input = c.input, weight = c.weight;
    bool transposed = c.weightTransposed;
    auto inputType = cast<RankedTensorType>(input.getType());
    auto weightType = cast<RankedTensorType>(weight.getType());
    bool integer = c.inputFactor.has_value();
    if (!(integer || isa<FloatType>(inputType.getElementType())) || !weightType.hasStaticShape())
      return notRewritten({"only float or 8-bit activations and static weight shapes are handled"});
    if (integer && (c.weightFactor->isUnsigned ||
                    (c.weightFactor->zeroPoint && !isZeroSplat(c.weightFactor->zeroPoint->get()))))
      return notRewritten({"the integer weight is unsigned or has a zero point other than 0"});
    int64_t K = weightType.getDimSize(transposed ? 1 : 0);
    int64_t N = weightType.getDimSize(transposed ? 0 : 1);
    Matched<const Packed *> packedWeight = pack(weight, transposed, K, N, op.getLoc());
    if (auto *m = std::get_if<Mismatch>(&packedWeight))
      return notRewritten(*m);
    const Packed &t = *std::get<const Packed *>(packedWeight);
    if (integer && (t.scales.size() != 1 || t.scales[0] != 1.0f))
      return notRewritten({"integer weights take values other than {-1, 0, 1}"});

    IRRewriter b(op->getContext(), &releaser);
    b.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value codes = t.codes;
    auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
    Type floatType = inputType.getElementType();
    Value acc;
    std::optional<Dequantization> dequantization;
    if (!integer && !rangeOfTensor(input, 0).fitsInt8()) {
      if ((dequantization = matchDequantization(input)) &&
          rangeOfTensor(dequantization->quantized, 0).fitsInt8())
        input = dequantization->quantized;
      else
        dequantization.reset();
    }
    bool int8Activations = integer || rangeOfTensor(input, 0).fitsInt8();
    if (integer) {
      // MatMulInteger: sum_k (x - zp) T = sum_k x8 T + (c - zp) sum_k T, with x8 = x for
      // int8 (c = 0) and x8 = x - 128 for uint8 (c = 128, the sign bit flipped), exact in i32.
      const IntegerFactor &x = *c.inputFactor;
      Value x8 = input;
      if (x.isUnsigned)
        x8 = mapElements(b, loc, input, b.getI8Type(), [](OpBuilder &nb, Location l, Value v) {
          Value signBit = arith::ConstantOp::create(nb, l, nb.getI8IntegerAttr(-128));
          return arith::XOrIOp::create(nb, l, v, signBit).getResult();
        });
      acc = createMatmul(b, loc, x8, codes, b.getI32Type()).getTensorResult();
      bool zeroPointIsZero = !x.zeroPoint || isZeroSplat(x.zeroPoint->get());
      if (x.isUnsigned || !zeroPointIsZero) {
        FailureOr<Value> shifted = addZeroPointTerm(b, loc, op, acc, x, t.rowSums);
        if (failed(shifted)) {
          eraseDeadProducers(b, {acc});
          return notRewritten({"the contraction's loops are not the output's followed by k"});
        }
        acc = *shifted;
      }
    } else if (int8Activations) {
      // Activations that are already int8 values (a quantization chain's clip(round(.)))
      // accumulate exactly in i32, which vectorizes; the sum converts back once.
      Value q = int8Source(input);
      if (!q)
        q = mapElements(b, loc, input, b.getI8Type(), [](OpBuilder &nb, Location l, Value x) {
          return arith::FPToSIOp::create(nb, l, nb.getI8Type(), x).getResult();
        });
      Value sum = createMatmul(b, loc, q, codes, b.getI32Type()).getTensorResult();
      acc = mapElements(
          b, loc, sum, floatType,
          [&](OpBuilder &nb, Location l, Value x) {
            return arith::SIToFPOp::create(nb, l, floatType, x).getResult();
          },
          /*sizedLike=*/input);
    } else {
      acc = createMatmul(b, loc, input, codes, floatType).getTensorResult();
    }
    Value scaled = scale(b, loc, acc, t.scales);
    if (dequantization)
      scaled = dequantize(b, loc, scaled, *dequantization);
    if (scaled.getType() != resultType)
      scaled = tensor::CastOp::create(b, loc, resultType, scaled);
    if (remarks)
      mlir::emitRemark(op.getLoc()) << "rewritten to tern.matmul: " << K << "x" << N << " weight, "
                      << t.nonzeros << " nonzeros, "
                      << (t.scales.size() == 1 ? "per-tensor" : "per-column") << " scale, "
                      << (int8Activations ? "int8 activations (i32 accumulation)"
                                          : "float activations")
                      << (dequantization ? ", dequantized per token after the accumulation" : "");
    b.replaceAllUsesWith(op.getResult(0), scaled);
    SmallVector<Value> operands(op->getOperands());
    b.eraseOp(op);
    eraseDeadProducers(b, operands);
  }

  /// acc + (c - zp) * rowSums[n] (c = 128 for uint8 activations, else 0): once per output
  /// element. `zp` is read as the contraction read it, a scalar or one per row.
  FailureOr<Value> addZeroPointTerm(OpBuilder &b, Location loc, linalg::GenericOp op, Value acc,
                                    const IntegerFactor &x, ArrayRef<int32_t> rowSums) {
    auto accType = cast<RankedTensorType>(acc.getType());
    int64_t rank = accType.getRank(), n = accType.getShape().back();
    // The contraction's loops are the output's, then k (as the importer builds them).
    if (op.getNumLoops() != rank + 1 ||
        op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
            AffineMap::getMultiDimIdentityMap(rank + 1, b.getContext()).getMajorSubMap(rank))
      return failure();
    if (x.zeroPoint && op.getMatchingIndexingMap(x.zeroPoint).isFunctionOfDim(rank))
      return failure();
    auto sumsType = RankedTensorType::get({n}, b.getI32Type());
    Value sums = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(sumsType, rowSums));
    SmallVector<Value> inputs{acc, sums};
    SmallVector<AffineMap> maps =
        elementwiseMaps(b.getContext(), rank, {Operand::Full, Operand::PerFeature});
    if (x.zeroPoint) {
      inputs.push_back(x.zeroPoint->get());
      maps.insert(maps.end() - 1, AffineMap::get(rank, 0,
                                                 op.getMatchingIndexingMap(x.zeroPoint).getResults(),
                                                 b.getContext()));
    }
    int32_t base = x.isUnsigned ? 128 : 0;
    bool isUnsigned = x.isUnsigned;
    return generic(b, loc, accType, acc, inputs, maps,
                   SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                   std::nullopt, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     Type i32 = nb.getI32Type();
                     Value offset = arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(base));
                     if (a.size() > 3) {
                       Value zp = isUnsigned ? arith::ExtUIOp::create(nb, l, i32, a[2]).getResult()
                                             : arith::ExtSIOp::create(nb, l, i32, a[2]).getResult();
                       offset = arith::SubIOp::create(nb, l, offset, zp);
                     }
                     Value term = arith::MulIOp::create(nb, l, offset, a[1]);
                     return arith::AddIOp::create(nb, l, a[0], term);
                   });
  }

  /// acc * a: once per output element, after the accumulation.
  /// y / s (or y * r) with the dequantization's per-token factor, read as it was read.
  Value dequantize(OpBuilder &b, Location loc, Value y, const Dequantization &d) {
    auto type = cast<RankedTensorType>(y.getType());
    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank), d.factorMap,
                                b.getMultiDimIdentityMap(rank)};
    bool divides = d.divides;
    return generic(b, loc, type, y, ValueRange{y, d.factor}, maps,
                   SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                   std::nullopt, [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                     if (divides)
                       return arith::DivFOp::create(nb, l, args[0], args[1]);
                     return arith::MulFOp::create(nb, l, args[0], args[1]);
                   });
  }

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
