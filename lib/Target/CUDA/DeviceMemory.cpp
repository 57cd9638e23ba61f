//===- DeviceMemory.cpp - the entry's buffers in GPU memory ---------------===//
//
// memref.alloc/dealloc => gpu.alloc/dealloc (device, or managed where host code touches
// the buffer); memref.copy => linalg.copy; weights => the runtime's resident device
// copies; inputs copied to the GPU at entry, results back to host buffers at return.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDADEVICEMEMORY
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

/// Whether host code may read or write `buffer` element by element: a use (through
/// views and loop-carried values) other than the ops that become kernels or copies.
bool touchedByHost(Value buffer) {
  SmallVector<Value> worklist{buffer};
  llvm::SmallPtrSet<Value, 8> seen;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    if (!seen.insert(value).second)
      continue;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      // Kernels, copies, and ops that read only the descriptor (the deallocation code
      // compares pointers).
      if (isa<linalg::LinalgOp, memref::CopyOp, memref::DimOp, memref::DeallocOp,
              memref::ExtractAlignedPointerAsIndexOp, memref::ExtractStridedMetadataOp,
              func::ReturnOp>(user))
        continue;
      // A load or store in a linalg op's body or a parallel loop runs in that op's
      // kernel; anything in a gpu.launch runs on the GPU.
      if ((isa<memref::LoadOp, memref::StoreOp>(user) &&
           (user->getParentOfType<linalg::LinalgOp>() ||
            user->getParentOfType<scf::ParallelOp>())) ||
          user->getParentOfType<gpu::LaunchOp>())
        continue;
      if (isa<ViewLikeOpInterface, memref::CastOp>(user)) {
        worklist.append(user->result_begin(), user->result_end());
        continue;
      }
      if (auto loop = dyn_cast<scf::ForOp>(user)) {
        int64_t index = use.getOperandNumber() - loop.getNumControlOperands();
        if (index < 0)
          return true;
        worklist.push_back(loop.getRegionIterArgs()[index]);
        worklist.push_back(loop.getResult(index));
        continue;
      }
      if (auto yield = dyn_cast<scf::YieldOp>(user)) {
        Operation *parent = yield->getParentOp();
        worklist.push_back(parent->getResult(use.getOperandNumber()));
        if (auto loop = dyn_cast<scf::ForOp>(parent))
          worklist.push_back(loop.getRegionIterArgs()[use.getOperandNumber()]);
        continue;
      }
      return true;
    }
  }
  return false;
}

/// Builds `op async [%stream]` on a stream of its own, then waits for it.
template <typename BuildFn>
Operation *onStream(OpBuilder &b, Location loc, BuildFn build) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  Value stream = gpu::WaitOp::create(b, loc, token, ValueRange()).getAsyncToken();
  Operation *op = build(token, stream);
  gpu::WaitOp::create(b, loc, Type(), ValueRange{op->getResults().back()});
  return op;
}

/// A GPU buffer of `type`: managed memory, or device memory.
Value allocateLike(OpBuilder &b, Location loc, MemRefType type, ValueRange sizes,
                   ValueRange symbols, bool managed) {
  if (managed)
    return gpu::AllocOp::create(b, loc, type, Type(), ValueRange(), sizes, symbols, true)
        .getMemref();
  return onStream(b, loc, [&](Type token, Value stream) {
           return gpu::AllocOp::create(b, loc, type, token, ValueRange{stream}, sizes,
                                       symbols, false)
               .getOperation();
         })
      ->getResult(0);
}

void copyOnStream(OpBuilder &b, Location loc, Value from, Value to) {
  onStream(b, loc, [&](Type token, Value stream) {
    return gpu::MemcpyOp::create(b, loc, token, ValueRange{stream}, to, from).getOperation();
  });
}

void freeOnStream(OpBuilder &b, Location loc, Value buffer) {
  onStream(b, loc, [&](Type token, Value stream) {
    return gpu::DeallocOp::create(b, loc, token, ValueRange{stream}, buffer).getOperation();
  });
}

/// A GPU buffer holding a copy of the host buffer `source`.
Value copyToGPU(OpBuilder &b, Location loc, Value source, bool managed) {
  auto type = cast<MemRefType>(source.getType());
  Value copy = allocateLike(b, loc, MemRefType::get(type.getShape(), type.getElementType()),
                            dynamicSizes(b, loc, source), ValueRange(), managed);
  copyOnStream(b, loc, source, copy);
  return copy;
}

/// The element types and ranks the runtime has mfcCudaResident functions for.
bool hasResidentFunction(MemRefType type) {
  Type elem = type.getElementType();
  return type.getRank() <= 4 && type.getLayout().isIdentity() &&
         (elem.isInteger(8) || elem.isInteger(16) || elem.isInteger(32) ||
          elem.isInteger(64) || elem.isF16() || elem.isBF16() || elem.isF32() || elem.isF64());
}

/// The runtime's device copy of the constant `global`, made at its first use and kept:
/// `func.call @mfcCudaResident_<elem>_<rank>(%global, %bytes)` on the dynamically shaped
/// buffer (one declaration per element type and rank, which the C function's descriptor
/// layout depends on).
Value residentCopy(OpBuilder &b, ModuleOp module, Location loc, Value global) {
  auto type = cast<MemRefType>(global.getType());
  auto dynamicType = MemRefType::get(SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic),
                                     type.getElementType());
  std::string name;
  llvm::raw_string_ostream(name) << "mfcCudaResident_" << type.getElementType() << "_"
                                 << type.getRank();
  auto callee = module.lookupSymbol<func::FuncOp>(name);
  if (!callee) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    callee = func::FuncOp::create(
        b, loc, name, b.getFunctionType({dynamicType, b.getIndexType()}, {dynamicType}));
    callee.setPrivate();
    callee->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
  Value bytes = arith::ConstantIndexOp::create(
      b, loc, type.getNumElements() * type.getElementTypeBitWidth() / 8);
  Value dynamic = memref::CastOp::create(b, loc, dynamicType, global);
  Value resident = func::CallOp::create(b, loc, callee, ValueRange{dynamic, bytes}).getResult(0);
  return memref::CastOp::create(b, loc, type, resident);
}

struct CUDADeviceMemory : public mfc::cuda::impl::CUDADeviceMemoryBase<CUDADeviceMemory> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Host copies become kernels: the buffers may be device memory.
    module.walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(), copy.getTarget());
    });
    module.walk([&](memref::AllocOp alloc) {
      rewriter.setInsertionPoint(alloc);
      rewriter.replaceOp(alloc, allocateLike(rewriter, alloc.getLoc(), alloc.getType(),
                                             alloc.getDynamicSizes(), alloc.getSymbolOperands(),
                                             touchedByHost(alloc.getResult())));
    });
    module.walk([&](memref::DeallocOp dealloc) {
      rewriter.setInsertionPoint(dealloc);
      freeOnStream(rewriter, dealloc.getLoc(), dealloc.getMemref());
      rewriter.eraseOp(dealloc);
    });
    // Weights: copied to the GPU once per process by the runtime (mfcCudaResident*), which
    // keeps the copy; a weight that host code reads is a managed copy per call instead.
    SmallVector<Value> entryCopies;
    Block &body = func.getBody().front();
    rewriter.setInsertionPointToStart(&body);
    llvm::DenseMap<StringAttr, Value> weights;
    llvm::DenseMap<StringAttr, bool> hostRead;
    func.walk([&](memref::GetGlobalOp global) {
      hostRead[global.getNameAttr().getAttr()] |= touchedByHost(global);
    });
    func.walk([&](memref::GetGlobalOp global) {
      StringAttr name = global.getNameAttr().getAttr();
      Value &copy = weights[name];
      if (!copy) {
        auto hoisted = cast<memref::GetGlobalOp>(rewriter.clone(*global));
        if (hostRead[name] || !hasResidentFunction(cast<MemRefType>(global.getType()))) {
          copy = copyToGPU(rewriter, global.getLoc(), hoisted, /*managed=*/true);
          entryCopies.push_back(copy);
        } else {
          copy = residentCopy(rewriter, module, global.getLoc(), hoisted);
        }
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
      Value copy = copyToGPU(rewriter, func.getLoc(), arg, touchedByHost(arg));
      for (OpOperand *use : uses)
        rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(copy); });
      entryCopies.push_back(copy);
    }
    // Results out, to host buffers; the GPU ones are the function's to free.
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
        copyOnStream(rewriter, ret.getLoc(), operand.get(), host);
        freed.insert(operand.get());
        operand.set(host);
      }
      for (Value buffer : freed)
        freeOnStream(rewriter, ret.getLoc(), buffer);
    });
  }
};
} // namespace
