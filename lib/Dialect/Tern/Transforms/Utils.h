//===- Utils.h - helpers shared by the tern transforms ----------*- C++ -*-===//
#ifndef MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H
#define MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

} // namespace mfc::tern

#endif // MFC_LIB_DIALECT_TERN_TRANSFORMS_UTILS_H
