//===- ConstantEval.h - values of tensors computed from constants -*- C++ -*-===//
//
// Weights (an absmean quantization chain, a DequantizeLinear) and small constants (a
// lower bound's CumSum) reach the tern passes as linalg ops over constants. The evaluator
// runs those ops once, element by element, rounding each float32 result as the model does.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_LIB_DIALECT_TERN_TRANSFORMS_CONSTANTEVAL_H
#define MFC_LIB_DIALECT_TERN_TRANSFORMS_CONSTANTEVAL_H

#include "ElementExpr.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace mfc::tern {

/// A failed match with the reason a user reads in the remark.
struct Mismatch {
  std::string reason;
};
template <typename T>
using Matched = std::variant<T, Mismatch>;

/// One scalar op of a generic body, resolved once so that evaluating it per element
/// costs a switch, not a dispatch over op classes and a type query.
struct ScalarOp {
  enum Kind : uint8_t {
    constant, index, copy, unsignedValue, add, sub, mul, div, neg, max, min, abs,
    roundEven, round, floor, ceil, sqrt, select, eq, ne, lt, le, gt, ge
  };
  Kind kind;
  /// Round the result to float32, as the model computes it.
  bool roundToF32 = false;
  /// A constant's value; 2^bits of an unsigned operand (values are read as signed).
  double value = 0;
  /// The loop dim of a linalg.index.
  unsigned dim = 0;

  /// The op on already-computed operands `in` at loop point `point` (comparisons give 0
  /// or 1).
  double apply(llvm::ArrayRef<double> in, llvm::ArrayRef<int64_t> point) const;
};

/// `op` resolved for evaluation; nullopt for an op the evaluator does not know.
std::optional<ScalarOp> compileScalar(mlir::Operation *op);

using namespace mlir;

/// The values of tensors computed from constants by linalg ops (a DequantizeLinear, an
/// absmean quantization chain with its reductions, ...), evaluated once, element by element.
class ConstantEvaluator {
public:
  Matched<const std::vector<double> *> evaluate(Value value, int depth = 0) {
    if (auto it = known.find(value); it != known.end())
      return it->second.get();
    Matched<std::vector<double>> values = compute(value, depth);
    if (auto *m = std::get_if<Mismatch>(&values))
      return *m;
    auto stored = std::make_unique<std::vector<double>>(std::move(std::get<std::vector<double>>(values)));
    return (known[value] = std::move(stored)).get();
  }

private:
  Matched<std::vector<double>> compute(Value value, int depth) {
    if (std::optional<std::vector<double>> values = constantValues(value))
      return *values;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.hasStaticShape() || depth > 32)
      return Mismatch{"the weight is not a constant"};
    Operation *producer = value.getDefiningOp();
    if (auto fill = dyn_cast_or_null<linalg::FillOp>(producer)) {
      Matched<double> start = scalarOperand(fill.getInputs()[0]);
      if (auto *m = std::get_if<Mismatch>(&start))
        return *m;
      return std::vector<double>(type.getNumElements(), std::get<double>(start));
    }
    if (isa_and_nonnull<tensor::EmptyOp>(producer))
      return std::vector<double>(type.getNumElements(), 0.0);
    if (auto cast = dyn_cast_or_null<tensor::CastOp>(producer)) {
      Matched<const std::vector<double> *> source = evaluate(cast.getSource(), depth + 1);
      if (auto *m = std::get_if<Mismatch>(&source))
        return *m;
      return *std::get<const std::vector<double> *>(source);
    }
    // Reshapes keep the row-major element order.
    if (isa_and_nonnull<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::ReshapeOp>(producer)) {
      Matched<const std::vector<double> *> source = evaluate(producer->getOperand(0), depth + 1);
      if (auto *m = std::get_if<Mismatch>(&source))
        return *m;
      return *std::get<const std::vector<double> *>(source);
    }
    if (auto transpose = dyn_cast_or_null<linalg::TransposeOp>(producer))
      return transposed(transpose, depth);
    auto generic = dyn_cast_or_null<linalg::GenericOp>(producer);
    if (!generic || generic->getNumResults() != 1)
      return Mismatch{"the weight is not a constant"};
    return run(generic, depth);
  }

  /// out[i_0, ..., i_r] = in[i_perm^-1...]: result dim d is input dim perm[d].
  Matched<std::vector<double>> transposed(linalg::TransposeOp op, int depth) {
    Matched<const std::vector<double> *> source = evaluate(op.getInput(), depth + 1);
    if (auto *m = std::get_if<Mismatch>(&source))
      return *m;
    const std::vector<double> &in = *std::get<const std::vector<double> *>(source);
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    auto outType = cast<RankedTensorType>(op.getResult()[0].getType());
    ArrayRef<int64_t> perm = op.getPermutation();
    int64_t rank = inType.getRank();
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * inType.getDimSize(d + 1);
    std::vector<double> out(in.size());
    SmallVector<int64_t> point(rank, 0);
    for (size_t e = 0; e < out.size(); ++e) {
      int64_t offset = 0;
      for (int64_t d = 0; d < rank; ++d)
        offset += point[d] * inStrides[perm[d]];
      out[e] = in[offset];
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++point[d] < outType.getDimSize(d))
          break;
        point[d] = 0;
      }
    }
    return out;
  }

  Matched<double> scalarOperand(Value v) {
    if (std::optional<double> x = scalarConstant(v))
      return *x;
    return Mismatch{"the weight's computation uses a value from outside"};
  }

  /// Runs `generic` over its whole iteration space, reductions included.
  Matched<std::vector<double>> run(linalg::GenericOp generic, int depth) {
    SmallVector<const std::vector<double> *> operands;
    SmallVector<SmallVector<int64_t>> strides;
    for (OpOperand &operand : generic->getOpOperands()) {
      Matched<const std::vector<double> *> values = evaluate(operand.get(), depth + 1);
      if (auto *m = std::get_if<Mismatch>(&values))
        return operand.getOperandNumber() < generic.getNumDpsInputs()
                   ? Mismatch{"the weight is computed from a non-constant value"}
                   : *m;
      operands.push_back(std::get<const std::vector<double> *>(values));
      auto type = cast<RankedTensorType>(operand.get().getType());
      SmallVector<int64_t> stride(type.getRank(), 1);
      for (int64_t d = type.getRank() - 2; d >= 0; --d)
        stride[d] = stride[d + 1] * type.getDimSize(d + 1);
      strides.push_back(stride);
    }
    // Slots: the block arguments, then the results of the body's ops.
    Block &body = generic.getRegion().front();
    llvm::DenseMap<Value, unsigned> slot;
    for (BlockArgument arg : body.getArguments())
      slot[arg] = slot.size();
    SmallVector<double> slots(body.getNumArguments());
    auto slotOf = [&](Value v) -> Matched<unsigned> {
      if (auto it = slot.find(v); it != slot.end())
        return it->second;
      Matched<double> outside = scalarOperand(v);
      if (auto *m = std::get_if<Mismatch>(&outside))
        return *m;
      slots.push_back(std::get<double>(outside));
      return slot[v] = slots.size() - 1;
    };
    struct Step {
      ScalarOp op;
      SmallVector<unsigned> in;
      unsigned out;
    };
    SmallVector<Step> steps;
    for (Operation &op : body.without_terminator()) {
      std::optional<ScalarOp> scalar = compileScalar(&op);
      if (op.getNumResults() != 1 || op.getNumRegions() != 0 || !scalar)
        return Mismatch{("the weight's computation uses '" + op.getName().getStringRef() + "'").str()};
      Step step{*scalar, {}, 0};
      for (Value v : op.getOperands()) {
        Matched<unsigned> s = slotOf(v);
        if (auto *m = std::get_if<Mismatch>(&s))
          return *m;
        step.in.push_back(std::get<unsigned>(s));
      }
      slots.push_back(0);
      step.out = slot[op.getResult(0)] = slots.size() - 1;
      steps.push_back(std::move(step));
    }
    Matched<unsigned> yielded = slotOf(body.getTerminator()->getOperand(0));
    if (auto *m = std::get_if<Mismatch>(&yielded))
      return *m;

    // Each operand's element offset is linear in the loop indices: a stride per loop dim
    // (its maps read dims and constants only) plus a constant part.
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    size_t numLoops = ranges.size();
    SmallVector<SmallVector<int64_t>> loopStrides;
    SmallVector<int64_t> baseOffsets;
    for (auto [i, map] : llvm::enumerate(generic.getIndexingMapsArray())) {
      SmallVector<int64_t> perLoop(numLoops, 0);
      int64_t base = 0;
      for (auto [d, expr] : llvm::enumerate(map.getResults())) {
        if (auto dim = dyn_cast<AffineDimExpr>(expr))
          perLoop[dim.getPosition()] += strides[i][d];
        else if (auto c = dyn_cast<AffineConstantExpr>(expr))
          base += c.getValue() * strides[i][d];
        else
          return Mismatch{"the weight's computation uses a non-trivial indexing map"};
      }
      loopStrides.push_back(std::move(perLoop));
      baseOffsets.push_back(base);
    }
    std::vector<double> result = *operands.back();
    int64_t total = 1;
    for (int64_t r : ranges)
      total *= r;
    SmallVector<int64_t> point(numLoops, 0);
    SmallVector<int64_t> offsets(baseOffsets);
    size_t init = operands.size() - 1;
    SmallVector<double, 3> in(3);
    for (const Step &step : steps)
      if (step.in.size() > in.size())
        in.resize(step.in.size());
    for (int64_t iteration = 0; iteration < total; ++iteration) {
      for (size_t i = 0; i < init; ++i)
        slots[i] = (*operands[i])[offsets[i]];
      slots[init] = result[offsets[init]];
      for (const Step &step : steps) {
        for (auto [i, s] : llvm::enumerate(step.in))
          in[i] = slots[s];
        slots[step.out] = step.op.apply(ArrayRef<double>(in).take_front(step.in.size()), point);
      }
      result[offsets[init]] = slots[std::get<unsigned>(yielded)];
      // Next point (odometer), moving every operand's offset along.
      for (int64_t d = int64_t(numLoops) - 1; d >= 0; --d) {
        for (size_t i = 0; i < offsets.size(); ++i)
          offsets[i] += loopStrides[i][d];
        if (++point[d] < ranges[d])
          break;
        for (size_t i = 0; i < offsets.size(); ++i)
          offsets[i] -= loopStrides[i][d] * ranges[d];
        point[d] = 0;
      }
    }
    return result;
  }

  llvm::DenseMap<Value, std::unique_ptr<std::vector<double>>> known;
};

} // namespace mfc::tern

#endif // MFC_LIB_DIALECT_TERN_TRANSFORMS_CONSTANTEVAL_H
