//===- Utils.h - helpers shared by the tern transforms ----------*- C++ -*-===//
#ifndef MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H
#define MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>
#include <optional>

namespace mfc::tern {

/// Sizes of `like`'s dims at the positions where `shape` is dynamic.
inline llvm::SmallVector<mlir::Value> dynamicSizesLike(mlir::OpBuilder &b, mlir::Location loc,
                                                       mlir::Value like,
                                                       llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<mlir::Value> sizes;
  for (auto [d, size] : llvm::enumerate(shape))
    if (mlir::ShapedType::isDynamic(size))
      sizes.push_back(mlir::tensor::DimOp::create(b, loc, like, d));
  return sizes;
}

/// tensor.empty of `shape` x `elemType` whose dynamic dims are those of `like`.
inline mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like,
                             llvm::ArrayRef<int64_t> shape, mlir::Type elemType) {
  return mlir::tensor::EmptyOp::create(b, loc, shape, elemType,
                                       dynamicSizesLike(b, loc, like, shape));
}

/// A fresh `elem` destination for a product of `input` with packed `weights` in
/// `layout`: shaped like `input` with its last dim replaced by the weights' outputs.
inline mlir::Value emptyProductInit(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                    mlir::Value weights, PackedAttr layout, mlir::Type elem) {
  llvm::SmallVector<int64_t> shape(mlir::cast<mlir::ShapedType>(input.getType()).getShape());
  shape.back() = layout.getNumOutputs(mlir::cast<mlir::ShapedType>(weights.getType()));
  llvm::SmallVector<mlir::Value> sizes;
  for (auto [d, size] : llvm::enumerate(shape)) {
    bool isOutputs = d + 1 == shape.size();
    if (mlir::ShapedType::isDynamic(size))
      sizes.push_back(mlir::tensor::DimOp::create(
          b, loc, isOutputs ? weights : input, isOutputs ? layout.getOutputDim() : d));
  }
  return mlir::tensor::EmptyOp::create(b, loc, shape, elem, sizes);
}

/// tern.matmul(input, weights) on tensors into a fresh `accElem` destination.
inline MatmulOp createMatmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                             mlir::Value weights, mlir::Type accElem, PackedAttr layout = {}) {
  if (!layout)
    layout = PackedAttr::getDefault(b.getContext());
  mlir::Value init = emptyProductInit(b, loc, input, weights, layout, accElem);
  return MatmulOp::create(b, loc, input, weights, init, layout);
}

using mlir::AffineExpr;
using mlir::AffineMap;
using mlir::ArrayRef;
using mlir::Location;
using mlir::MLIRContext;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::SmallVector;
using mlir::Value;
using mlir::ValueRange;
namespace utils = mlir::utils;
namespace linalg = mlir::linalg;
namespace arith = mlir::arith;

using ScalarFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic producing a tensor of `resultType` (sized like `like`), reading
/// `inputs` through `maps`, over loops of `iterators`; `init` is the accumulator start
/// for reductions (or unused for parallel maps).
inline Value generic(OpBuilder &b, Location loc, RankedTensorType resultType, Value like,
              ValueRange inputs, ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> iterators, std::optional<double> init,
              ScalarFn body) {
  Value out = emptyLike(b, loc, like, resultType.getShape(), resultType.getElementType());
  if (init) {
    Value start = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(resultType.getElementType(), *init));
    out = linalg::FillOp::create(b, loc, start, out).getResult(0);
  }
  return linalg::GenericOp::create(b, loc, resultType, inputs, out, maps, iterators,
                                   [&](OpBuilder &nb, Location l, ValueRange args) {
                                     linalg::YieldOp::create(nb, l, body(nb, l, args));
                                   })
      .getResult(0);
}

/// Maps for a rank-`rank` element-wise op whose operands are full tensors or per-token
/// ([..., 1], last dim broadcast) or per-feature ([K], leading dims broadcast).
enum class Operand { Full, PerToken, PerFeature };
inline SmallVector<AffineMap> elementwiseMaps(MLIRContext *ctx, int64_t rank, ArrayRef<Operand> kinds) {
  SmallVector<AffineMap> maps;
  for (Operand kind : kinds) {
    SmallVector<AffineExpr> exprs;
    if (kind == Operand::PerFeature) {
      exprs.push_back(mlir::getAffineDimExpr(rank - 1, ctx));
    } else {
      for (int64_t d = 0; d < rank; ++d)
        exprs.push_back(kind == Operand::PerToken && d == rank - 1 ? mlir::getAffineConstantExpr(0, ctx)
                                                                    : mlir::getAffineDimExpr(d, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  return maps;
}

/// An element-wise map over `input` into a tensor of `elemType` of the same shape, whose
/// dynamic sizes are read from `sizedLike` (by default `input`): passing the tensor an op
/// chain started from keeps `tensor.dim`s from pinning intermediate values.
inline Value mapElements(OpBuilder &b, Location loc, Value input, mlir::Type elemType,
                         llvm::function_ref<Value(OpBuilder &, Location, Value)> body,
                         Value sizedLike = nullptr) {
  auto type = mlir::cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  return generic(b, loc, RankedTensorType::get(type.getShape(), elemType),
                 sizedLike ? sizedLike : input, input,
                 elementwiseMaps(b.getContext(), rank, {Operand::Full}),
                 SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                 std::nullopt,
                 [&](OpBuilder &nb, Location l, ValueRange args) { return body(nb, l, args[0]); });
}

/// Reports a fusion pass's work as remarks when enabled: each match failure as
/// "<prefix><reason>" (the fusions call notifyMatchFailure), and each op the rewriter
/// inserts to `onInserted` (which remarks on the fused ops it cares about).
struct RemarkListener : public mlir::RewriterBase::Listener {
  RemarkListener(std::string prefix, bool enabled,
                 std::function<void(mlir::Operation *)> onInserted = nullptr)
      : prefix(std::move(prefix)), enabled(enabled), onInserted(std::move(onInserted)) {}
  void notifyMatchFailure(mlir::Location loc,
                          llvm::function_ref<void(mlir::Diagnostic &)> reason) override {
    if (!enabled)
      return;
    mlir::Diagnostic diag(loc, mlir::DiagnosticSeverity::Remark);
    reason(diag);
    mlir::emitRemark(loc) << prefix << diag.str();
  }
  void notifyOperationInserted(mlir::Operation *op, mlir::OpBuilder::InsertPoint) override {
    if (enabled && onInserted)
      onInserted(op);
  }
  std::string prefix;
  bool enabled;
  std::function<void(mlir::Operation *)> onInserted;
};

/// A pattern applying `fuse(rewriter, op)`, one of the fusion functions of
/// mfc/Dialect/Tern/Transforms.h.
template <typename OpT, auto fuse>
struct FusionPattern : mlir::OpRewritePattern<OpT> {
  using mlir::OpRewritePattern<OpT>::OpRewritePattern;
  mlir::LogicalResult matchAndRewrite(OpT op, mlir::PatternRewriter &rewriter) const override {
    return fuse(rewriter, op);
  }
};

/// `x`, of a static shape, as `type` (same element count, same row-major order):
/// collapse_shape and expand_shape, folded where they meet.
Value reshapeStatic(OpBuilder &b, Location loc, Value x, RankedTensorType type);

} // namespace mfc::tern

#endif // MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H
