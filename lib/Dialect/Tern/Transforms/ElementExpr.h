//===- ElementExpr.h - element-wise chains seen as scalar trees -*- C++ -*-===//
//
// The importer emits one linalg.generic per ONNX node, so an RMSNorm or an activation
// quantization is a chain of small generics. The fusion passes match such chains on the
// scalar computed at one element of the chain's result: an expression tree that looks
// through every element-wise generic and stops at the tensors nothing element-wise
// produces (reductions, function arguments, slices, ...).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_LIB_DIALECT_TERN_TRANSFORMS_ELEMENTEXPR_H
#define MFC_LIB_DIALECT_TERN_TRANSFORMS_ELEMENTEXPR_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <deque>
#include <optional>

namespace mfc::tern {

/// One node of the scalar tree of a tensor element.
struct ElementExpr {
  enum class Kind {
    Leaf,        ///< an element of `tensor`, read at `map`
    Constant,    ///< a scalar constant (or an element of a splat constant tensor)
    Op,          ///< `op`, a scalar op of a generic body, applied to `operands`
    Accumulator, ///< the running value of a reduction (its `out` block argument)
  };
  Kind kind = Kind::Leaf;
  mlir::Operation *op = nullptr;
  llvm::SmallVector<const ElementExpr *, 2> operands;
  double constant = 0;
  /// Leaf: the tensor read. Op: the generic result this node is the element of, when it is
  /// the yielded value of a generic (null for values internal to a body).
  mlir::Value tensor;
  /// The map from the root's indices to `tensor`'s indices.
  mlir::AffineMap map;

  template <typename... OpTs> bool is() const {
    return kind == Kind::Op && mlir::isa<OpTs...>(op);
  }
  bool isConstant(double v) const { return kind == Kind::Constant && constant == v; }
  const ElementExpr *operand(unsigned i) const { return operands[i]; }
  /// True when this node is an element of `value` read at the root's own index.
  bool isElementOf(mlir::Value value) const;
};

/// Builds scalar trees; the nodes live as long as the builder.
class ElementExprBuilder {
public:
  /// The tree of `tensor`'s element at the root index (identity map), or null when it reads
  /// a value it cannot follow or grows past a size meant for op chains, not whole models.
  const ElementExpr *build(mlir::Value tensor);

  /// The body of a reduction over the last dim of a generic producing `tensor`
  /// (`[..., K] -> [..., 1]`), over the reduction's loops: `%out` is the Accumulator node.
  const ElementExpr *buildReduction(mlir::Value tensor);

private:
  ElementExpr *tensorElement(mlir::Value tensor, mlir::AffineMap map);
  ElementExpr *scalar(mlir::Value v, mlir::linalg::GenericOp generic,
                            mlir::AffineMap loops);
  ElementExpr *make(ElementExpr::Kind kind);

  std::deque<ElementExpr> nodes;
  llvm::DenseMap<std::pair<mlir::Value, mlir::AffineMap>, ElementExpr *> memo;
  ElementExpr *accumulator = nullptr;
  mlir::linalg::GenericOp reduction;
};

/// `e` is a commutative binary op of one of OpTs with operands matching `first` and
/// `second` in either order; the callbacks may capture what they matched.
template <typename... OpTs, typename FirstFn, typename SecondFn>
bool matchCommutative(const ElementExpr *e, FirstFn first, SecondFn second) {
  if (!e || !e->is<OpTs...>())
    return false;
  return (first(e->operand(0)) && second(e->operand(1))) ||
         (first(e->operand(1)) && second(e->operand(0)));
}

/// `e` is `1 / (1 + exp(-x))` (how the importer writes Sigmoid); returns x.
const ElementExpr *matchSigmoid(const ElementExpr *e);

/// `map` reads a `[..., 1]` tensor at a rank-`rank` root's token: (d0, ..., d{rank-2}, 0).
bool isPerTokenMap(mlir::AffineMap map, unsigned rank);
/// `map` reads a `[K]` vector at a rank-`rank` root's feature: (d{rank-1}).
bool isPerFeatureMap(mlir::AffineMap map, unsigned rank);

/// The constant a reduction generic producing `tensor` starts from (its linalg.fill).
std::optional<double> reductionInit(mlir::Value tensor);

/// Erases the producers of `values` that are left without users, transitively.
void eraseDeadProducers(mlir::RewriterBase &rewriter, llvm::ArrayRef<mlir::Value> values);

/// The value of a scalar float or integer constant.
std::optional<double> scalarConstant(mlir::Value v);

/// The values of a constant tensor (dense or a dense_resource blob) as doubles, row-major.
std::optional<std::vector<double>> constantValues(mlir::Value value);

/// The generics computing `root` from `boundaries`: its producers, walked back from `root`
/// through generics and stopping at the boundaries.
llvm::DenseSet<mlir::Operation *> chainOf(mlir::Value root, llvm::ArrayRef<mlir::Value> boundaries);

/// A `chain` (of chainOf) computing `root` must be replaceable: no intermediate result
/// other than those in `replaced` may be read outside the chain. Returns such a result, if any.
std::optional<mlir::Value> escapingValue(const llvm::DenseSet<mlir::Operation *> &chain,
                                         mlir::Value root, llvm::ArrayRef<mlir::Value> replaced);

} // namespace mfc::tern

#endif // MFC_LIB_DIALECT_TERN_TRANSFORMS_ELEMENTEXPR_H
