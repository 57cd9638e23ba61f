//===- KernelBuilding.h - pieces the CUDA kernel builders share -----------===//
#ifndef MFC_LIB_TARGET_CUDA_KERNELBUILDING_H
#define MFC_LIB_TARGET_CUDA_KERNELBUILDING_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

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

/// Names the kernel `launch` becomes (what profilers show; outlining keeps it).
inline void nameKernel(mlir::gpu::LaunchOp launch, llvm::StringRef name) {
  launch.setFunctionAttr(mlir::FlatSymbolRefAttr::get(launch.getContext(), name));
}

/// Fails, with an error on `op`, unless `threads` can be a CUDA block size (1..1024).
inline mlir::LogicalResult checkThreadsPerBlock(mlir::Operation *op, llvm::StringRef pass,
                                                int64_t threads) {
  if (threads >= 1 && threads <= 1024)
    return mlir::success();
  return op->emitError() << pass << ": threads must be 1..1024 (a CUDA block), got "
                         << threads;
}

/// Inside a gpu.launch: every thread folds `step(b, k, acc)` from `neutral` over
/// k = thread, thread + stride, ... < size, then the block combines the partial results
/// with `kind` (gpu.all_reduce); every thread gets the total.
inline mlir::Value
blockReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value thread, mlir::Value size,
            mlir::Value stride, mlir::Value neutral, mlir::gpu::AllReduceOperation kind,
            llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value, mlir::Value)> step) {
  auto loop = mlir::scf::ForOp::create(b, loc, thread, size, stride, mlir::ValueRange{neutral});
  {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    mlir::scf::YieldOp::create(
        b, loc, step(b, loop.getInductionVar(), loop.getRegionIterArgs()[0]));
  }
  return mlir::gpu::AllReduceOp::create(
      b, loc, loop.getResult(0), mlir::gpu::AllReduceOperationAttr::get(b.getContext(), kind),
      /*uniform=*/true);
}

} // namespace mfc::cuda

#endif // MFC_LIB_TARGET_CUDA_KERNELBUILDING_H
