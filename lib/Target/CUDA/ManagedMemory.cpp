//===- ManagedMemory.cpp - the entry's buffers in CUDA managed memory -----===//
//
// memref.alloc/dealloc => gpu.alloc host_shared/gpu.dealloc; inputs, weights copied in
// at entry, results copied out to host buffers at return.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDAMANAGEDMEMORY
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
/// The dynamic sizes of `buffer`, for an allocation shaped like it.
SmallVector<Value> dynamicSizes(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(memref::DimOp::create(b, loc, buffer, d));
  return sizes;
}

/// A managed buffer with `source`'s shape (identity layout) holding a copy of it.
memref::CopyOp managedCopy(OpBuilder &b, Location loc, Value source) {
  auto type = cast<MemRefType>(source.getType());
  auto managedType = MemRefType::get(type.getShape(), type.getElementType());
  Value managed = gpu::AllocOp::create(b, loc, managedType, /*asyncToken=*/Type(),
                                       /*asyncDependencies=*/ValueRange(),
                                       dynamicSizes(b, loc, source), /*symbolOperands=*/ValueRange(),
                                       /*hostShared=*/true)
                      .getMemref();
  return memref::CopyOp::create(b, loc, source, managed);
}

/// gpu.dealloc of `buffer`, in the async form that gpu-to-llvm lowers (on a stream of
/// its own, waited for).
void freeManaged(OpBuilder &b, Location loc, Value buffer) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  Value stream = gpu::WaitOp::create(b, loc, token, ValueRange()).getAsyncToken();
  Value freed = gpu::DeallocOp::create(b, loc, token, ValueRange{stream}, buffer).getAsyncToken();
  gpu::WaitOp::create(b, loc, Type(), ValueRange{freed});
}

struct CUDAManagedMemory : public mfc::cuda::impl::CUDAManagedMemoryBase<CUDAManagedMemory> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Every allocation and deallocation of the module's functions.
    module.walk([&](memref::AllocOp alloc) {
      rewriter.setInsertionPoint(alloc);
      rewriter.replaceOp(alloc, gpu::AllocOp::create(rewriter, alloc.getLoc(), alloc.getType(),
                                                     Type(), ValueRange(),
                                                     alloc.getDynamicSizes(),
                                                     alloc.getSymbolOperands(), true)
                                    .getMemref());
    });
    module.walk([&](memref::DeallocOp dealloc) {
      rewriter.setInsertionPoint(dealloc);
      freeManaged(rewriter, dealloc.getLoc(), dealloc.getMemref());
      rewriter.eraseOp(dealloc);
    });
    // Weights: one managed copy per global, made at the entry and freed at its returns.
    SmallVector<Value> entryCopies;
    Block &body = func.getBody().front();
    rewriter.setInsertionPointToStart(&body);
    llvm::DenseMap<StringAttr, Value> weights;
    func.walk([&](memref::GetGlobalOp global) {
      Value &copy = weights[global.getNameAttr().getAttr()];
      if (!copy) {
        auto hoisted = cast<memref::GetGlobalOp>(rewriter.clone(*global));
        copy = managedCopy(rewriter, global.getLoc(), hoisted).getTarget();
        entryCopies.push_back(copy);
      }
      rewriter.replaceOp(global, copy);
    });
    // Inputs in.
    for (BlockArgument arg : body.getArguments()) {
      if (!isa<MemRefType>(arg.getType()))
        continue;
      // The uses before the copy: the copy and its sizes read the argument itself.
      SmallVector<OpOperand *> uses = llvm::to_vector(
          llvm::map_range(arg.getUses(), [](OpOperand &use) { return &use; }));
      memref::CopyOp copy = managedCopy(rewriter, func.getLoc(), arg);
      for (OpOperand *use : uses)
        rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(copy.getTarget()); });
      entryCopies.push_back(copy.getTarget());
    }
    // Results out, to host buffers; the managed ones are the function's to free.
    func.walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      llvm::SetVector<Value> freed(entryCopies.begin(), entryCopies.end());
      for (OpOperand &operand : ret->getOpOperands()) {
        auto type = dyn_cast<MemRefType>(operand.get().getType());
        if (!type)
          continue;
        Value host = memref::AllocOp::create(
            rewriter, ret.getLoc(), MemRefType::get(type.getShape(), type.getElementType()),
            dynamicSizes(rewriter, ret.getLoc(), operand.get()));
        memref::CopyOp::create(rewriter, ret.getLoc(), operand.get(), host);
        freed.insert(operand.get());
        operand.set(host);
      }
      for (Value managed : freed)
        freeManaged(rewriter, ret.getLoc(), managed);
    });
  }
};
} // namespace
