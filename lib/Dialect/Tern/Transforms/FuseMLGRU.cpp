//===- FuseMLGRU.cpp - MLGRU recurrences into tern.mlgru_scan --------------===//
//
// f = sigmoid(f_pre) [* (1 - lb) + lb];  c = silu(i) * (1 - f);  h_t = f_t * h_{t-1} + c_t
//   => tern.mlgru_scan(i, f_pre, h0) [lower_bound lb]
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "ElementExpr.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNFUSEMLGRU
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {

using Kind = ElementExpr::Kind;

/// The gates of one MLGRU layer over [batch, seq, hidden] (or [batch, hidden]) tensors.
struct Gates {
  Value candidate;               ///< i, the input-gate pre-activation
  Value forget;                  ///< f_pre, the forget-gate pre-activation
  std::vector<float> lowerBound; ///< per hidden unit; empty: no lower bound
  Value forgetGate, gatedCandidate; ///< f and c, which the fused op replaces
};

/// The per-feature values of `e` (a splat constant, or a constant [H] vector read per
/// feature), as H floats.
std::optional<std::vector<float>> perFeatureConstant(const ElementExpr *e, unsigned rank,
                                                     int64_t hidden) {
  if (e->kind == Kind::Constant)
    return std::vector<float>(hidden, float(e->constant));
  DenseElementsAttr values;
  if (e->kind != Kind::Leaf || !isPerFeatureMap(e->map, rank) ||
      !matchPattern(e->tensor, m_Constant(&values)) || values.getNumElements() != hidden ||
      !values.getElementType().isF32())
    return std::nullopt;
  auto range = values.getValues<float>();
  return std::vector<float>(range.begin(), range.end());
}

bool isInputElement(const ElementExpr *e) { return e->tensor && e->map.isIdentity(); }

/// f = sigmoid(f_pre), or sigmoid(f_pre) * (1 - lb) + lb; c = silu(i) * (1 - f).
FailureOr<Gates> matchGates(Value f, Value c, std::string &why) {
  auto type = cast<RankedTensorType>(f.getType());
  unsigned rank = type.getRank();
  int64_t hidden = type.getShape().back();
  Gates gates;
  why = "the forget gate is not sigmoid(f) or sigmoid(f) * (1 - lb) + lb";
  if (c.getType() != f.getType() || ShapedType::isDynamic(hidden))
    return failure();
  ElementExprBuilder builder;
  const ElementExpr *fe = builder.build(f), *ce = builder.build(c);
  if (!fe || !ce)
    return failure();
  const ElementExpr *pre = matchSigmoid(fe);
  if (!pre) {
    std::optional<std::vector<float>> oneMinus, bound;
    bool withBound = matchCommutative<arith::AddFOp>(
        fe,
        [&](const ElementExpr *scaled) {
          return matchCommutative<arith::MulFOp>(
              scaled, [&](const ElementExpr *s) { return bool(pre = matchSigmoid(s)); },
              [&](const ElementExpr *a) {
                return bool(oneMinus = perFeatureConstant(a, rank, hidden));
              });
        },
        [&](const ElementExpr *b) { return bool(bound = perFeatureConstant(b, rank, hidden)); });
    if (!withBound)
      return failure();
    for (int64_t h = 0; h < hidden; ++h)
      if ((*oneMinus)[h] != 1.0f - (*bound)[h]) {
        why = "the forget gate's scale is not 1 - lower bound";
        return failure();
      }
    gates.lowerBound = std::move(*bound);
  }
  if (!isInputElement(pre))
    return failure();
  gates.forget = pre->tensor;
  // c = silu(i) * (1 - f), silu(i) = i * sigmoid(i)
  why = "the gated candidate is not silu(i) * (1 - f) of the same forget gate f";
  const ElementExpr *input = nullptr;
  auto isSilu = [&](const ElementExpr *s) {
    return matchCommutative<arith::MulFOp>(
        s, [&](const ElementExpr *i) { return isInputElement(input = i); },
        [&](const ElementExpr *g) { return matchSigmoid(g) == input; });
  };
  auto isOneMinusF = [&](const ElementExpr *e) {
    return e->is<arith::SubFOp>() && e->operand(0)->isConstant(1.0) &&
           e->operand(1)->isElementOf(f);
  };
  if (!matchCommutative<arith::MulFOp>(ce, isSilu, isOneMinusF))
    return failure();
  gates.candidate = input->tensor;
  gates.forgetGate = f;
  gates.gatedCandidate = c;
  if (gates.candidate.getType() != type || gates.forget.getType() != type) {
    why = "the gate pre-activations do not have the gates' shape";
    return failure();
  }
  why.clear();
  return gates;
}

/// One step h = f_t * h_prev + c_t at `root`: the element trees of f_t, h_prev and c_t.
struct Step {
  const ElementExpr *forget, *state, *candidate;
};

/// All readings of `root`'s tree as f * h + c (commutative): the caller picks the one whose
/// f and c are gates.
SmallVector<Step> stepReadings(const ElementExpr *root) {
  SmallVector<Step> readings;
  if (!root || !root->is<arith::AddFOp>())
    return readings;
  for (int add = 0; add < 2; ++add) {
    const ElementExpr *product = root->operand(add), *c = root->operand(1 - add);
    if (!product->is<arith::MulFOp>() || !isInputElement(c))
      continue;
    for (int mul = 0; mul < 2; ++mul) {
      const ElementExpr *f = product->operand(mul), *h = product->operand(1 - mul);
      if (isInputElement(f) && isInputElement(h))
        readings.push_back({f, h, c});
    }
  }
  return readings;
}

bool provenEqual(ValueBoundsConstraintSet::Variable a, ValueBoundsConstraintSet::Variable b) {
  FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(a, b);
  return succeeded(equal) && *equal;
}

/// `slice` = x[:, t, :] taken as [batch, hidden] (rank-reduced) of a [batch, seq, hidden] x.
Value sliceSource(Value slice, Value t) {
  auto extract = slice.getDefiningOp<tensor::ExtractSliceOp>();
  if (!extract || extract.getSourceType().getRank() != 3 || extract.getType().getRank() != 2)
    return nullptr;
  SmallVector<OpFoldResult> offsets = extract.getMixedOffsets(),
                            sizes = extract.getMixedSizes();
  Value source = extract.getSource();
  bool isStep = isZeroInteger(offsets[0]) && isZeroInteger(offsets[2]) &&
                getAsOpFoldResult(t) == offsets[1] && isOneInteger(sizes[1]) &&
                extract.hasUnitStride() && provenEqual(sizes[0], {source, 0}) &&
                provenEqual(sizes[2], {source, 2});
  return isStep ? source : nullptr;
}

/// `value` = squeeze(x, 1) of a [batch, 1, hidden] x.
Value squeezeSource(Value value) {
  auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getSrcType().getRank() != 3 ||
      collapse.getSrcType().getDimSize(1) != 1 || collapse.getResultType().getRank() != 2)
    return nullptr;
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  bool squeezesDim1 = groups[0] == ReassociationIndices{0, 1} || groups[1] == ReassociationIndices{1, 2};
  return squeezesDim1 ? collapse.getSrc() : nullptr;
}

struct FuseMLGRU : public mfc::tern::impl::TernFuseMLGRUBase<FuseMLGRU> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      fuseScan(loop);
    forEachF32Result(getOperation(), [&](linalg::GenericOp op, Value result) { fuseStep(op, result); });
  }

  void remark(Operation *op, StringRef why) {
    if (remarks)
      op->emitRemark() << "not fused into tern.mlgru_scan: " << why;
  }

  /// Tries the readings of a step; the first whose f and c (seen through `source`) are gates.
  std::optional<std::pair<Step, Gates>> matchStep(const ElementExpr *root,
                                                  function_ref<Value(Value)> source,
                                                  std::string &why) {
    for (const Step &step : stepReadings(root)) {
      Value f = source(step.forget->tensor), c = source(step.candidate->tensor);
      if (!f || !c)
        continue;
      FailureOr<Gates> gates = matchGates(f, c, why);
      if (succeeded(gates))
        return std::make_pair(step, *gates);
    }
    return std::nullopt;
  }

  /// scf.for t in [0, seq): h = f[:, t] * h + c[:, t]; hs[:, t] = h.
  void fuseScan(scf::ForOp loop) {
    if (loop.getNumRegionIterArgs() != 2 || !matchPattern(loop.getLowerBound(), m_Zero()) ||
        !matchPattern(loop.getStep(), m_One()))
      return;
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    Value state = loop.getRegionIterArgs()[0], states = loop.getRegionIterArgs()[1];
    Value t = loop.getInductionVar();
    auto insert = yield.getOperand(1).getDefiningOp<tensor::InsertSliceOp>();
    auto stepOp = yield.getOperand(0).getDefiningOp<linalg::GenericOp>();
    if (!insert || !stepOp || insert.getSource() != yield.getOperand(0) ||
        insert.getDest() != states || insert.getSourceType().getRank() != 2 ||
        insert.getDestType().getRank() != 3)
      return;
    ElementExprBuilder builder;
    const ElementExpr *root = builder.build(stepOp->getResult(0));
    std::string why = "the step is not f[:, t] * h + c[:, t] of the loop's state h";
    std::optional<std::pair<Step, Gates>> match =
        matchStep(root, [&](Value slice) { return sliceSource(slice, t); }, why);
    if (!match) {
      if (!stepReadings(root).empty())
        remark(loop, why);
      return;
    }
    auto &[step, gates] = *match;
    SmallVector<OpFoldResult> offsets = insert.getMixedOffsets(), sizes = insert.getMixedSizes();
    bool writesStep = isZeroInteger(offsets[0]) && isZeroInteger(offsets[2]) &&
                      getAsOpFoldResult(t) == offsets[1] && isOneInteger(sizes[1]) &&
                      insert.hasUnitStride();
    if (!step.state->isElementOf(state) || !writesStep ||
        !provenEqual(loop.getUpperBound(), {gates.candidate, 1})) {
      remark(loop, "the loop does not run the recurrence over the whole sequence into [:, t]");
      return;
    }
    OpBuilder b(loop);
    auto scan = create(b, loop.getLoc(), gates, loop.getInitArgs()[0]);
    replace(b, loop.getResult(0), scan.getFinalState());
    replace(b, loop.getResult(1), scan.getHidden());
    if (remarks)
      scan.emitRemark() << "fused the scan loop into tern.mlgru_scan ("
                        << (gates.lowerBound.empty() ? "no" : "with") << " lower bound)";
    SmallVector<Value> inits(loop.getInitArgs());
    loop.erase();
    inits.append({gates.forgetGate, gates.gatedCandidate});
    eraseDeadProducers(inits);
  }

  /// One decode step h = squeeze(f) * h_prev + squeeze(c), f and c [batch, 1, hidden].
  void fuseStep(linalg::GenericOp op, Value result) {
    if (op->getParentOfType<scf::ForOp>())
      return;
    ElementExprBuilder builder;
    const ElementExpr *root = builder.build(result);
    std::string why = "f and c are not squeezed [batch, 1, hidden] gates";
    std::optional<std::pair<Step, Gates>> match = matchStep(root, squeezeSource, why);
    if (!match) {
      bool looksLikeStep = llvm::any_of(stepReadings(root), [](const Step &s) {
        return squeezeSource(s.forget->tensor) && squeezeSource(s.candidate->tensor);
      });
      if (looksLikeStep)
        remark(op, why);
      return;
    }
    auto &[step, gates] = *match;
    OpBuilder b(op);
    auto scan = create(b, op.getLoc(), gates, step.state->tensor);
    replace(b, result, scan.getFinalState());
    if (remarks)
      scan.emitRemark() << "fused the decode step into tern.mlgru_scan ("
                        << (gates.lowerBound.empty() ? "no" : "with") << " lower bound)";
    eraseDeadProducers({result});
  }

  MLGRUScanOp create(OpBuilder &b, Location loc, const Gates &gates, Value initialState) {
    auto seqType = cast<RankedTensorType>(gates.candidate.getType());
    auto stateType = RankedTensorType::get({seqType.getDimSize(0), seqType.getDimSize(2)},
                                           seqType.getElementType());
    if (initialState.getType() != stateType)
      initialState = tensor::CastOp::create(b, loc, stateType, initialState);
    Value lowerBound;
    if (!gates.lowerBound.empty())
      lowerBound = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(
              RankedTensorType::get({int64_t(gates.lowerBound.size())}, b.getF32Type()),
              ArrayRef<float>(gates.lowerBound)));
    return MLGRUScanOp::create(b, loc, seqType, stateType, gates.candidate, gates.forget,
                               initialState, lowerBound);
  }

  void replace(OpBuilder &b, Value old, Value fused) {
    if (fused.getType() != old.getType())
      fused = tensor::CastOp::create(b, fused.getLoc(), old.getType(), fused);
    old.replaceAllUsesWith(fused);
  }
};
} // namespace
