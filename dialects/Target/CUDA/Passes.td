//===- Passes.td - the CUDA target's passes ----------------*- tablegen -*-===//
#ifndef MFC_TARGET_CUDA_PASSES
#define MFC_TARGET_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def CUDAManagedMemory : Pass<"mfc-cuda-managed-memory", "mlir::ModuleOp"> {
  let summary = "Put every buffer of the entry where both the host and the GPU reach it";
  let description = [{
    ```
    %b = memref.alloc(...)          => %b = gpu.alloc host_shared (...)
    memref.dealloc %b               => gpu.dealloc %b (async on a stream, waited for)
    %w = memref.get_global @w       => %w = gpu.alloc host_shared (); memref.copy @w, %w
    func @entry(%x: memref<...>)    => %x' = gpu.alloc host_shared; memref.copy %x, %x'
    return %y                       => %r = memref.alloc; memref.copy %y, %r; return %r
    ```
    Runs on bufferized host code before its loops become GPU kernels. The host runtime
    passes inputs in host memory and takes outputs it can free(), the same ABI as the
    CPU target's: inputs are copied into CUDA managed memory at entry and results out of
    it at return; every buffer in between, and each weight (copied from its global at
    entry), is managed memory, which kernels and the host code around them (loop
    bounds, copies) both read.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::memref::MemRefDialect"];
}

def CUDATileParallelLoops : Pass<"mfc-cuda-tile-parallel-loops", "mlir::func::FuncOp"> {
  let summary = "Tile the innermost dim of each outermost scf.parallel into thread blocks";
  let description = [{
    ```
    scf.parallel (%i, %j) = (0, 0) to (%m, %n) step (1, 1) { body(%i, %j) }
      => scf.parallel (%i, %jj) = (0, 0) to (%m, %n) step (1, threads) {
           scf.parallel (%i2, %j) = (0, 0) to (1, min(threads, %n - %jj)) step (1, 1) {
             body(%i + %i2, %jj + %j) } }
    ```
    gpu-map-parallel-loops then maps the outer loop to the grid and the inner one to the
    threads of a block, instead of one thread per block. The innermost dim is the
    contiguous one of the linalg ops' outputs, so a warp's threads touch neighbouring
    elements.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256", "Threads per block">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // MFC_TARGET_CUDA_PASSES
