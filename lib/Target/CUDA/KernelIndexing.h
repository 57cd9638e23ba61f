//===- KernelIndexing.h - index arithmetic the CUDA kernel builders share -===//
#ifndef MFC_LIB_TARGET_CUDA_KERNELINDEXING_H
#define MFC_LIB_TARGET_CUDA_KERNELINDEXING_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mfc::cuda {

/// `linear` split over `sizes` (row-major, the last dim fastest) into `indices`, skipping
/// the dims whose size is null (they keep what `indices` holds).
inline void delinearize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value linear,
                        llvm::ArrayRef<mlir::Value> sizes,
                        llvm::MutableArrayRef<mlir::Value> indices) {
  for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
    if (!sizes[d])
      continue;
    indices[d] = mlir::arith::RemUIOp::create(b, loc, linear, sizes[d]);
    linear = mlir::arith::DivUIOp::create(b, loc, linear, sizes[d]);
  }
}

/// The results of `map` at the loop point `indices`, one affine.apply each.
inline llvm::SmallVector<mlir::Value> applyMap(mlir::OpBuilder &b, mlir::Location loc,
                                               mlir::AffineMap map,
                                               llvm::ArrayRef<mlir::Value> indices) {
  return llvm::map_to_vector(map.getResults(), [&](mlir::AffineExpr expr) -> mlir::Value {
    return mlir::affine::AffineApplyOp::create(
        b, loc, mlir::AffineMap::get(map.getNumDims(), 0, expr), indices);
  });
}

} // namespace mfc::cuda

#endif // MFC_LIB_TARGET_CUDA_KERNELINDEXING_H
