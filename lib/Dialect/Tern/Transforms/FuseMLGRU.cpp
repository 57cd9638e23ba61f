//===- FuseMLGRU.cpp - MLGRU recurrences into tern.mlgru_scan --------------===//
//
// f = sigmoid(f_pre) [* (1 - lb) + lb];  c = silu(i) * (1 - f);  h_t = f_t * h_{t-1} + c_t
//   => tern.mlgru_scan(i, f_pre, h0) [lower_bound lb]
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/Transforms.h"

#include "ElementExpr.h"
#include "Utils.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

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
  /// The bare recurrence: `forget` and `candidate` are f and c themselves.
  bool ungated = false;
};

/// The bare recurrence h = f * h + c over given f and c (no sigmoid or silu to fuse).
Gates bareGates(Value f, Value c) {
  Gates gates;
  gates.candidate = c;
  gates.forget = f;
  gates.ungated = true;
  return gates;
}

/// The per-feature values of `e` (a splat constant, or a constant [H] vector read per
/// feature), as H floats.
std::optional<std::vector<float>> perFeatureConstant(const ElementExpr *e, unsigned rank,
                                                     int64_t hidden) {
  if (e->kind == Kind::Constant)
    return std::vector<float>(hidden, float(e->constant));
  if (e->kind != Kind::Leaf || !isPerFeatureMap(e->map, rank) ||
      !getElementTypeOrSelf(e->tensor.getType()).isF32())
    return std::nullopt;
  std::optional<std::vector<double>> values = constantValues(e->tensor);
  if (!values || int64_t(values->size()) != hidden)
    return std::nullopt;
  return std::vector<float>(values->begin(), values->end());
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

/// Where a step reads f or c: `gates` at sequence index `offset` (a value in a loop, a
/// constant when unrolled), or all of `gates` (a decode step's [batch, 1, hidden]).
struct StepInput {
  Value gates;
  OpFoldResult offset;
  bool timeMajor = false; ///< gates is [seq, batch, hidden] (ONNX Scan's default axis 0)
};

/// x[:, offset : offset + length, :] of a [batch, seq, hidden] x, taking whole rows.
struct SequenceWindow {
  Value source;
  OpFoldResult offset, length;
};

std::optional<SequenceWindow> sequenceWindow(tensor::ExtractSliceOp extract) {
  if (!extract || extract.getSourceType().getRank() != 3 || !extract.hasUnitStride())
    return std::nullopt;
  SmallVector<OpFoldResult> offsets = extract.getMixedOffsets(),
                            sizes = extract.getMixedSizes();
  Value source = extract.getSource();
  if (!isZeroInteger(offsets[0]) || !isZeroInteger(offsets[2]) ||
      !provenEqual(sizes[0], {source, 0}) || !provenEqual(sizes[2], {source, 2}))
    return std::nullopt;
  return SequenceWindow{source, offsets[1], sizes[1]};
}

/// x[:, t(:t+1), :] of a [batch, seq, hidden] x (whole rows, one step): t, or null.
OpFoldResult stepOffset(tensor::ExtractSliceOp extract) {
  std::optional<SequenceWindow> window = sequenceWindow(extract);
  return window && isOneInteger(window->length) ? window->offset : OpFoldResult();
}

/// `offset` is the loop counter t, or t checked as a Gather index (tern.checked_index),
/// which is t for a counter that starts at 0 and counts up to the sequence's length (the
/// callers prove the trip count).
bool isCounter(OpFoldResult offset, Value t) {
  if (offset == getAsOpFoldResult(t))
    return true;
  auto value = dyn_cast_if_present<Value>(offset);
  auto checked = value ? value.getDefiningOp<CheckedIndexOp>() : CheckedIndexOp();
  return checked && checked.getIndex() == t;
}

/// x[t, :, :] of a [seq, batch, hidden] x as [batch, hidden] (whole rows): t, or null.
OpFoldResult timeMajorStepOffset(tensor::ExtractSliceOp extract) {
  if (!extract || extract.getSourceType().getRank() != 3 || !extract.hasUnitStride())
    return OpFoldResult();
  SmallVector<OpFoldResult> offsets = extract.getMixedOffsets(), sizes = extract.getMixedSizes();
  Value source = extract.getSource();
  if (!isOneInteger(sizes[0]) || !isZeroInteger(offsets[1]) || !isZeroInteger(offsets[2]) ||
      !provenEqual(sizes[1], {source, 1}) || !provenEqual(sizes[2], {source, 2}))
    return OpFoldResult();
  return offsets[0];
}

/// In a loop counting t from 0: x[:, t, :] (batch-major) or x[t, :, :] (time-major, ONNX
/// Scan's default axis) taken as [batch, hidden] (rank-reduced).
StepInput loopStepInput(Value value, Value t) {
  auto extract = value.getDefiningOp<tensor::ExtractSliceOp>();
  if (!extract || extract.getType().getRank() != 2)
    return {};
  if (OpFoldResult offset = stepOffset(extract); offset && isCounter(offset, t))
    return {extract.getSource(), getAsOpFoldResult(t)};
  if (OpFoldResult offset = timeMajorStepOffset(extract); offset && isCounter(offset, t))
    return {extract.getSource(), getAsOpFoldResult(t), /*timeMajor=*/true};
  return {};
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

/// A step computed on [batch, 1, hidden] values (the time dim kept, as torch's exporters
/// leave it): a decode step's gates themselves, or the slice x[:, t:t+1, :] (t a constant)
/// of an unrolled recurrence's [batch, seq, hidden] x.
StepInput unitStepInput(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != 3 || type.getDimSize(1) != 1)
    return {};
  if (auto extract = value.getDefiningOp<tensor::ExtractSliceOp>())
    if (OpFoldResult t = stepOffset(extract); t && getConstantIntValue(t))
      return {extract.getSource(), t};
  return {value, OpFoldResult()};
}

/// Outside loops: squeeze(x, 1) of such an x.
StepInput squeezedStepInput(Value value) {
  Value squeezed = squeezeSource(value);
  return squeezed ? unitStepInput(squeezed) : StepInput{};
}

/// A step computed on a reshape of [batch, 1, hidden] values (torch's [batch, heads,
/// head_dim] states): the gates (or step t of them) seen through collapse/expand shapes.
StepInput reshapedStepInput(Value value) {
  while (isa_and_nonnull<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(value.getDefiningOp()))
    value = value.getDefiningOp()->getOperand(0);
  return unitStepInput(value);
}

/// x[:, offset : offset + length, :] as a [batch, length, hidden] tensor (x itself when
/// that is all of it).
Value sequenceSlice(OpBuilder &b, Location loc, Value x, OpFoldResult offset, int64_t length) {
  if (isZeroInteger(offset) && cast<RankedTensorType>(x.getType()).getDimSize(1) == length)
    return x;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  sizes[1] = b.getIndexAttr(length);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), offset, b.getIndexAttr(0)};
  return tensor::ExtractSliceOp::create(b, loc, x, offsets, sizes,
                                        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
}

/// A tern.mlgru_scan's candidate and forget gate as the same constant window
/// [offset, offset + length) of two [batch, seq, hidden] tensors.
struct Window {
  Value candidate, forget;
  int64_t offset, length;
};

std::optional<Window> windowOf(MLGRUScanOp scan) {
  std::optional<SequenceWindow> candidate =
      sequenceWindow(scan.getCandidate().getDefiningOp<tensor::ExtractSliceOp>());
  std::optional<SequenceWindow> forget =
      sequenceWindow(scan.getForget().getDefiningOp<tensor::ExtractSliceOp>());
  if (!candidate || !forget || candidate->offset != forget->offset ||
      candidate->length != forget->length)
    return std::nullopt;
  std::optional<int64_t> offset = getConstantIntValue(candidate->offset);
  std::optional<int64_t> length = getConstantIntValue(candidate->length);
  if (!offset || !length)
    return std::nullopt;
  return Window{candidate->source, forget->source, *offset, *length};
}

Attribute lowerBoundAttr(MLGRUScanOp scan) {
  Attribute attr;
  if (Value lb = scan.getLowerBound())
    matchPattern(lb, m_Constant(&attr));
  return attr;
}

/// The MLGRU fusions, all edits through `rewriter`.
class MLGRUFuser {
public:
  explicit MLGRUFuser(RewriterBase &rewriter) : rewriter(rewriter) {}

  struct StepMatch {
    Step step;
    Gates gates;
    OpFoldResult offset;
    bool timeMajor;
  };

  /// Tries the readings of a step; the first whose f and c (seen through `input`) are gates
  /// read at the same step. Failing that, when `bareAllowed` accepts a reading, the bare
  /// recurrence over its f and c.
  std::optional<StepMatch> matchStep(const ElementExpr *root,
                                     function_ref<StepInput(Value)> input, std::string &why,
                                     function_ref<bool(const Step &)> bareAllowed) {
    std::optional<StepMatch> bare;
    for (const Step &step : stepReadings(root)) {
      StepInput f = input(step.forget->tensor), c = input(step.candidate->tensor);
      if (!f.gates || !c.gates || f.offset != c.offset || f.timeMajor != c.timeMajor)
        continue;
      FailureOr<Gates> gates = matchGates(f.gates, c.gates, why);
      if (succeeded(gates))
        return StepMatch{step, *gates, f.offset, f.timeMajor};
      if (!bare && f.gates.getType() == c.gates.getType() && bareAllowed(step))
        bare = StepMatch{step, bareGates(f.gates, c.gates), f.offset, f.timeMajor};
    }
    return bare;
  }

  /// The step of a loop counting t from 0, with `state` its carried h: the gates when the
  /// step is f[:, t] * h + c[:, t] (a remark when it looks like one but is not).
  std::optional<StepMatch> matchLoopStep(Operation *loop, linalg::GenericOp stepOp, Value t,
                                         Value state) {
    ElementExprBuilder builder;
    const ElementExpr *root = builder.build(stepOp->getResult(0));
    std::string why = "the step is not f[:, t] * h + c[:, t] of the loop's state h";
    std::optional<StepMatch> match = matchStep(
        root, [&](Value v) { return loopStepInput(v, t); }, why,
        [&](const Step &step) { return step.state->isElementOf(state); });
    if (match && !match->step.state->isElementOf(state))
      match.reset();
    if (!match && !stepReadings(root).empty())
      (void)rewriter.notifyMatchFailure(loop, why);
    return match;
  }

  /// Erases `loop`, whose results now come from `scan`, and the gate values only it read.
  MLGRUScanOp finishLoop(Operation *loop, MLGRUScanOp scan, const Gates &gates) {
    SmallVector<Value> operands(loop->getOperands());
    rewriter.eraseOp(loop);
    if (!gates.ungated)
      operands.append({gates.forgetGate, gates.gatedCandidate});
    eraseDeadProducers(rewriter, operands);
    return scan;
  }

  /// scf.for t in [0, seq): h = f[:, t] * h + c[:, t]; hs[:, t] = h.
  FailureOr<MLGRUScanOp> fuseScan(scf::ForOp loop) {
    if (loop.getNumRegionIterArgs() != 2 || !matchPattern(loop.getLowerBound(), m_Zero()) ||
        !matchPattern(loop.getStep(), m_One()))
      return failure();
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    Value state = loop.getRegionIterArgs()[0], states = loop.getRegionIterArgs()[1];
    Value t = loop.getInductionVar();
    auto insert = yield.getOperand(1).getDefiningOp<tensor::InsertSliceOp>();
    auto stepOp = yield.getOperand(0).getDefiningOp<linalg::GenericOp>();
    if (!insert || !stepOp || insert.getSource() != yield.getOperand(0) ||
        insert.getDest() != states || insert.getSourceType().getRank() != 2 ||
        insert.getDestType().getRank() != 3)
      return failure();
    std::optional<StepMatch> match = matchLoopStep(loop, stepOp, t, state);
    if (!match)
      return failure();
    Gates &gates = match->gates;
    // The step's position along the sequence: dim 1 (batch-major) or 0 (time-major).
    unsigned seqDim = match->timeMajor ? 0 : 1, otherDim = 1 - seqDim;
    SmallVector<OpFoldResult> offsets = insert.getMixedOffsets(), sizes = insert.getMixedSizes();
    bool writesStep = isZeroInteger(offsets[otherDim]) && isZeroInteger(offsets[2]) &&
                      getAsOpFoldResult(t) == offsets[seqDim] && isOneInteger(sizes[seqDim]) &&
                      insert.hasUnitStride();
    if (!writesStep ||
        !provenEqual(loop.getUpperBound(), {gates.candidate, int64_t(seqDim)})) {
      return rewriter.notifyMatchFailure(
          loop, "the loop does not run the recurrence over the whole sequence into [:, t]");
    }
    rewriter.setInsertionPoint(loop);
    OpBuilder &b = rewriter;
    Location loc = loop.getLoc();
    auto scan = createOverSequence(b, loc, *match, loop.getInitArgs()[0]);
    replace(b, loop.getResult(0), scan.getFinalState());
    replace(b, loop.getResult(1),
            match->timeMajor ? swapLeadingDims(b, loc, scan.getHidden()) : scan.getHidden());
    return finishLoop(loop, scan, gates);
  }

  /// An imported ONNX Loop: scf.while (t = 0, h = h0, ys) while t < n:
  ///   h = f[:, t] * h + c[:, t];  ys[t] = h;  t = t + 1
  /// (ys stacks the states along a new first dim, as Loop's scan outputs do).
  FailureOr<MLGRUScanOp> fuseWhile(scf::WhileOp loop) {
    Block &before = loop.getBefore().front(), &after = loop.getAfter().front();
    auto condition = cast<scf::ConditionOp>(before.getTerminator());
    auto yield = cast<scf::YieldOp>(after.getTerminator());
    auto compare = condition.getCondition().getDefiningOp<arith::CmpIOp>();
    if (!compare || compare.getPredicate() != arith::CmpIPredicate::slt ||
        loop.getNumResults() != 3 || condition.getArgs() != ValueRange(before.getArguments()))
      return failure();
    auto counterArg = dyn_cast<BlockArgument>(compare.getLhs());
    if (!counterArg || counterArg.getOwner() != &before)
      return failure();
    unsigned counter = counterArg.getArgNumber();
    Value t = after.getArgument(counter), trips = compare.getRhs();
    auto next = yield.getOperand(counter).getDefiningOp<arith::AddIOp>();
    if (!matchPattern(loop.getInits()[counter], m_Zero()) || !next ||
        !((next.getLhs() == t && matchPattern(next.getRhs(), m_One())) ||
          (next.getRhs() == t && matchPattern(next.getLhs(), m_One()))) ||
        trips.getParentRegion() == &loop.getBefore())
      return failure();
    // The other two carried values: the state h and the stacked states ys.
    unsigned state = counter == 0 ? 1 : 0, states = 3 - counter - state;
    if (yield.getOperand(state).getDefiningOp<tensor::InsertSliceOp>())
      std::swap(state, states);
    auto insert = yield.getOperand(states).getDefiningOp<tensor::InsertSliceOp>();
    auto stepOp = yield.getOperand(state).getDefiningOp<linalg::GenericOp>();
    if (!insert || !stepOp || insert.getSource() != yield.getOperand(state) ||
        insert.getDest() != after.getArgument(states) || insert.getSourceType().getRank() != 2 ||
        insert.getDestType().getRank() != 3)
      return failure();
    std::optional<StepMatch> match = matchLoopStep(loop, stepOp, t, after.getArgument(state));
    if (!match)
      return failure();
    Gates &gates = match->gates;
    SmallVector<OpFoldResult> offsets = insert.getMixedOffsets(), sizes = insert.getMixedSizes();
    bool stacksStep = getAsOpFoldResult(t) == offsets[0] && isZeroInteger(offsets[1]) &&
                      isZeroInteger(offsets[2]) && isOneInteger(sizes[0]) && insert.hasUnitStride();
    int64_t seqDim = match->timeMajor ? 0 : 1;
    if (!stacksStep ||
        !provenEqual(trips, {gates.candidate, seqDim})) {
      return rewriter.notifyMatchFailure(
          loop, "the loop does not run the recurrence over the whole sequence into ys[t]");
    }
    rewriter.setInsertionPoint(loop);
    OpBuilder &b = rewriter;
    Location loc = loop.getLoc();
    auto scan = createOverSequence(b, loc, *match, loop.getInits()[state]);
    replace(b, loop.getResult(state), scan.getFinalState());
    replace(b, loop.getResult(counter), trips);
    if (Value hidden = unstackedStates(loop.getResult(states), trips)) {
      // ONNX's Transpose([1, 0, 2]) of the stacked states is the scan's hidden itself.
      replace(b, hidden, scan.getHidden());
    }
    if (!loop.getResult(states).use_empty()) {
      // ys[t] = hidden[:, t]
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, scan.getHidden());
      std::swap(sizes[0], sizes[1]);
      Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
      Value stacked = linalg::TransposeOp::create(b, loc, scan.getHidden(), init,
                                                  ArrayRef<int64_t>{1, 0, 2})
                          ->getResult(0);
      replace(b, loop.getResult(states), stacked);
    }
    return finishLoop(loop, scan, gates);
  }

  /// The [batch, seq, hidden] tensor that `stacked` (the states along a new first dim)
  /// becomes when all its use is transpose(stacked[0 : trips], [1, 0, 2]) (the slice
  /// optional), or null.
  static Value unstackedStates(Value stacked, Value trips) {
    // Besides the slice, only size queries (which fold away).
    SmallVector<Operation *> users(llvm::make_filter_range(
        stacked.getUsers(), [](Operation *user) { return !isa<tensor::DimOp>(user); }));
    if (users.size() != 1)
      return nullptr;
    Operation *user = users.front();
    // Loop's scan outputs are cut to the steps taken: a slice of all of them here.
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(user)) {
      if (!slice->hasOneUse() || !slice.hasZeroOffset() || !slice.hasUnitStride() ||
          slice.getType().getRank() != 3 || !provenEqual(slice.getMixedSizes()[0], trips))
        return nullptr;
      user = *slice->getUsers().begin();
    }
    auto transpose = dyn_cast<linalg::TransposeOp>(user);
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0, 2})
      return nullptr;
    return transpose->getResult(0);
  }

  /// One step h = squeeze(f) * h_prev + squeeze(c): a decode step (f and c
  /// [batch, 1, hidden]) or step t of an unrolled recurrence (f[:, t:t+1], c[:, t:t+1]).
  FailureOr<MLGRUScanOp> fuseStep(linalg::GenericOp op) {
    if (op->getParentOfType<scf::ForOp>() || op->getParentOfType<scf::WhileOp>() ||
        op->getNumResults() != 1)
      return failure(); // a loop's step is fused with its loop
    Value result = op->getResult(0);
    ElementExprBuilder builder;
    const ElementExpr *root = builder.build(result);
    std::string why = "f and c are not squeezed [batch, 1, hidden] gates";
    // Without gates to recognize, h = f * h_prev + c is taken for a recurrence only where
    // h_prev is one: a state the function receives (a decode step), or, for a step t of an
    // unrolled sequence, the previous step's state or a constant start.
    auto bareAllowed = [](function_ref<StepInput(Value)> input) {
      return [input](const Step &step) {
        Value state = step.state->tensor;
        while (isa_and_nonnull<tensor::CastOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
            state.getDefiningOp()))
          state = state.getDefiningOp()->getOperand(0);
        if (isa<BlockArgument>(state))
          return true;
        return bool(input(step.forget->tensor).offset) &&
               (state.getDefiningOp<MLGRUScanOp>() || matchPattern(state, m_Constant()));
      };
    };
    std::optional<StepMatch> match =
        matchStep(root, squeezedStepInput, why, bareAllowed(squeezedStepInput));
    // Or the step keeps the time dim, f, c, h_prev and h all [batch, 1, hidden], or runs on
    // one reshape of such values ([batch, heads, head_dim]): the state goes in and out
    // reshaped.
    bool reshapesState = false;
    auto resultType = cast<RankedTensorType>(result.getType());
    if (!match && resultType.hasStaticShape()) {
      match = matchStep(root, reshapedStepInput, why, bareAllowed(reshapedStepInput));
      reshapesState = match && match->step.state->tensor.getType() == resultType &&
                      cast<RankedTensorType>(match->gates.candidate.getType()).hasStaticShape();
      if (reshapesState) {
        auto gates = cast<RankedTensorType>(match->gates.candidate.getType());
        reshapesState = gates.getDimSize(0) * gates.getDimSize(2) == resultType.getNumElements();
      }
      if (!reshapesState)
        match.reset();
    }
    if (!match) {
      bool looksLikeStep = llvm::any_of(stepReadings(root), [](const Step &s) {
        return squeezeSource(s.forget->tensor) && squeezeSource(s.candidate->tensor);
      });
      if (looksLikeStep)
        return rewriter.notifyMatchFailure(op, why);
      return failure();
    }
    Gates &gates = match->gates;
    rewriter.setInsertionPoint(op);
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    Value candidate = gates.candidate, forget = gates.forget;
    if (match->offset) {
      candidate = sequenceSlice(b, loc, candidate, match->offset, 1);
      forget = sequenceSlice(b, loc, forget, match->offset, 1);
    }
    Value state = match->step.state->tensor;
    if (reshapesState) {
      auto seqType = cast<RankedTensorType>(gates.candidate.getType());
      state = reshapeStatic(b, loc, state,
                            RankedTensorType::get({seqType.getDimSize(0), seqType.getDimSize(2)},
                                                  resultType.getElementType()));
    }
    auto scan = create(b, loc, candidate, forget, lowerBound(b, loc, gates), state, gates.ungated);
    replace(b, result,
            reshapesState ? reshapeStatic(b, loc, scan.getFinalState(), resultType)
                          : scan.getFinalState());
    eraseDeadProducers(rewriter, {result});
    return scan;
  }

  /// scan(x[:, a : a+m], h0) -> h, then scan(x[:, a+m : a+m+n], h)
  ///   => scan(x[:, a : a+m+n], h0), the first one's results read from the merged hidden.
  FailureOr<MLGRUScanOp> mergeWithPrevious(MLGRUScanOp next) {
    Value state = next.getInitialState();
    if (auto cast = state.getDefiningOp<tensor::CastOp>())
      state = cast.getSource();
    auto previous = state.getDefiningOp<MLGRUScanOp>();
    if (!previous || state != previous.getFinalState() ||
        lowerBoundAttr(previous) != lowerBoundAttr(next) ||
        previous.getUngated() != next.getUngated())
      return failure();
    std::optional<Window> first = windowOf(previous), second = windowOf(next);
    if (!first || !second || first->candidate != second->candidate ||
        first->forget != second->forget || first->offset + first->length != second->offset)
      return failure();
    // At the first scan: everything it reads is available there and every user of either
    // scan's results comes later.
    rewriter.setInsertionPoint(previous);
    OpBuilder &b = rewriter;
    Location loc = b.getFusedLoc({previous.getLoc(), next.getLoc()});
    int64_t length = first->length + second->length;
    auto merged = create(b, loc, sequenceSlice(b, loc, first->candidate, b.getIndexAttr(first->offset), length),
                         sequenceSlice(b, loc, first->forget, b.getIndexAttr(first->offset), length),
                         previous.getLowerBound(), previous.getInitialState(),
                         previous.getUngated());
    Value hidden = merged.getHidden();
    replace(b, next.getFinalState(), merged.getFinalState());
    if (!next.getHidden().use_empty())
      replace(b, next.getHidden(),
              sequenceSlice(b, loc, hidden, b.getIndexAttr(first->length), second->length));
    if (!previous.getHidden().use_empty())
      replace(b, previous.getHidden(), sequenceSlice(b, loc, hidden, b.getIndexAttr(0), first->length));
    if (!previous.getFinalState().use_empty()) {
      // h after the first window: hidden[:, m - 1] as [batch, hidden]
      auto stateType = cast<RankedTensorType>(merged.getFinalState().getType());
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, hidden);
      sizes[1] = b.getIndexAttr(1);
      Value last = tensor::ExtractSliceOp::create(
          b, loc, stateType, hidden,
          {b.getIndexAttr(0), b.getIndexAttr(first->length - 1), b.getIndexAttr(0)}, sizes,
          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
      replace(b, previous.getFinalState(), last);
    }
    SmallVector<Value> operands(next->getOperands());
    operands.append(previous->getOperands().begin(), previous->getOperands().end());
    rewriter.eraseOp(next);
    rewriter.eraseOp(previous);
    eraseDeadProducers(rewriter, operands);
    return merged;
  }

  /// The scan of a loop's step match from `initialState`, over the batch-major view of
  /// time-major gates.
  MLGRUScanOp createOverSequence(OpBuilder &b, Location loc, const StepMatch &match,
                                 Value initialState) {
    const Gates &gates = match.gates;
    Value candidate = gates.candidate, forget = gates.forget;
    if (match.timeMajor) {
      candidate = swapLeadingDims(b, loc, candidate);
      forget = swapLeadingDims(b, loc, forget);
    }
    return create(b, loc, candidate, forget, lowerBound(b, loc, gates), initialState,
                  gates.ungated);
  }

  /// [a, b, h] -> [b, a, h]
  static Value swapLeadingDims(OpBuilder &b, Location loc, Value x) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
    std::swap(sizes[0], sizes[1]);
    Value init = tensor::EmptyOp::create(b, loc, sizes, getElementTypeOrSelf(x.getType()));
    return linalg::TransposeOp::create(b, loc, x, init, ArrayRef<int64_t>{1, 0, 2})->getResult(0);
  }

  Value lowerBound(OpBuilder &b, Location loc, const Gates &gates) {
    if (gates.lowerBound.empty())
      return nullptr;
    auto type = RankedTensorType::get({int64_t(gates.lowerBound.size())}, b.getF32Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, ArrayRef<float>(gates.lowerBound)));
  }

  MLGRUScanOp create(OpBuilder &b, Location loc, Value candidate, Value forget, Value lowerBound,
                     Value initialState, bool ungated) {
    auto seqType = cast<RankedTensorType>(candidate.getType());
    auto stateType = RankedTensorType::get({seqType.getDimSize(0), seqType.getDimSize(2)},
                                           seqType.getElementType());
    if (initialState.getType() != stateType)
      initialState = tensor::CastOp::create(b, loc, stateType, initialState);
    return MLGRUScanOp::create(b, loc, seqType, stateType, candidate, forget, initialState,
                               lowerBound, ungated);
  }

  void replace(OpBuilder &b, Value old, Value fused) {
    if (fused.getType() != old.getType())
      fused = tensor::CastOp::create(b, fused.getLoc(), old.getType(), fused);
    rewriter.replaceAllUsesWith(old, fused);
  }

private:
  RewriterBase &rewriter;
};

/// What a remark says of a fused scan: its form and gates.
std::string describe(MLGRUScanOp scan, StringRef form) {
  std::string gates = scan.getUngated()        ? "ungated"
                      : scan.getLowerBound()   ? "with lower bound"
                                               : "no lower bound";
  return ("fused the " + form + " into tern.mlgru_scan (" + gates + ")").str();
}

/// The form of the recurrence a new scan replaces, from the op it is inserted before (the
/// fusions insert the scan right before the loop or step they replace).
StringRef fusedForm(MLGRUScanOp scan) {
  Operation *root = scan->getNextNode();
  if (isa_and_nonnull<scf::ForOp>(root))
    return scan.getCandidate().getDefiningOp<linalg::TransposeOp>() ? "time-major scan loop"
                                                                    : "scan loop";
  if (isa_and_nonnull<scf::WhileOp>(root))
    return "Loop";
  return scan.getCandidate().getDefiningOp<tensor::ExtractSliceOp>() ? "unrolled step"
                                                                      : "decode step";
}

} // namespace

FailureOr<MLGRUScanOp> mfc::tern::fuseMLGRUScanLoop(RewriterBase &rewriter, scf::ForOp loop) {
  return MLGRUFuser(rewriter).fuseScan(loop);
}
FailureOr<MLGRUScanOp> mfc::tern::fuseMLGRUWhileLoop(RewriterBase &rewriter, scf::WhileOp loop) {
  return MLGRUFuser(rewriter).fuseWhile(loop);
}
FailureOr<MLGRUScanOp> mfc::tern::fuseMLGRUStep(RewriterBase &rewriter, linalg::GenericOp root) {
  return MLGRUFuser(rewriter).fuseStep(root);
}
FailureOr<MLGRUScanOp> mfc::tern::mergeMLGRUScans(RewriterBase &rewriter, MLGRUScanOp next) {
  return MLGRUFuser(rewriter).mergeWithPrevious(next);
}

namespace {
using FuseMLGRUScanLoopPattern = FusionPattern<scf::ForOp, fuseMLGRUScanLoop>;
using FuseMLGRUWhileLoopPattern = FusionPattern<scf::WhileOp, fuseMLGRUWhileLoop>;
using FuseMLGRUStepPattern = FusionPattern<linalg::GenericOp, fuseMLGRUStep>;
using MergeMLGRUScansPattern = FusionPattern<MLGRUScanOp, mergeMLGRUScans>;
} // namespace

void mfc::tern::populateFuseMLGRUPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseMLGRUScanLoopPattern, FuseMLGRUWhileLoopPattern, FuseMLGRUStepPattern,
               MergeMLGRUScansPattern>(patterns.getContext());
}

namespace {
struct FuseMLGRU : public mfc::tern::impl::TernFuseMLGRUBase<FuseMLGRU> {
  using Base::Base;

  void runOnOperation() override {
    // Loops and steps in program order (a loop after its body), then merges of the scans
    // of consecutive unrolled steps.
    RemarkListener listener("not fused into tern.mlgru_scan: ", remarks, [](Operation *op) {
      if (auto scan = dyn_cast<MLGRUScanOp>(op))
        mlir::emitRemark(scan.getLoc()) << describe(scan, fusedForm(scan));
    });
    RewritePatternSet fusions(&getContext());
    fusions.add<FuseMLGRUScanLoopPattern, FuseMLGRUWhileLoopPattern, FuseMLGRUStepPattern>(
        &getContext());
    walkAndApplyPatterns(getOperation(), std::move(fusions), &listener);
    RewritePatternSet merges(&getContext());
    merges.add<MergeMLGRUScansPattern>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(merges));
  }
};
} // namespace
