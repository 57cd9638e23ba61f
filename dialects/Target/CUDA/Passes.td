//===- Passes.td - the CUDA target's passes ----------------*- tablegen -*-===//
#ifndef MFC_TARGET_CUDA_PASSES
#define MFC_TARGET_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def CUDADeviceMemory : Pass<"mfc-cuda-device-memory", "mlir::ModuleOp"> {
  let summary = "Put the entry's buffers in GPU memory, copying inputs, weights and results";
  let description = [{
    ```
    %b = memref.alloc(...)          => %b = gpu.alloc (...)              (device memory)
                                       or gpu.alloc host_shared (...)    (host code reads it)
    memref.dealloc %b               => gpu.dealloc %b
    memref.copy %a, %b              => linalg.copy ins(%a) outs(%b)      (a kernel)
    %w = memref.get_global @w       => %w = call @mfcCudaResident_<elem>_<rank>(@w, bytes)
                                       (the runtime's device copy, made once and kept)
    func @entry(%x: memref<...>)    => %x' = gpu.alloc; gpu.memcpy %x', %x
    return %y                       => %r = memref.alloc; gpu.memcpy %r, %y; return %r
    ```
    Runs on bufferized host code before its loops become GPU kernels. The host runtime
    passes inputs in host memory and takes outputs it can free(), the same ABI as the
    CPU target's, so inputs are copied to the GPU at entry and results back at return;
    weights are the runtime's device copies of their globals, made at first use and kept
    for the process (a weight that host code reads is a managed copy per call). A buffer that host code reads or
    writes element by element (memref.load/store outside the ops that become kernels, as
    the buffer deallocation helpers do) is CUDA managed memory, which both sides reach;
    every other one is device memory. Device-side gpu ops are in their async form on a
    stream of their own, waited for (what gpu-to-llvm lowers).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::memref::MemRefDialect",
                           "mlir::linalg::LinalgDialect"];
}

def CUDATileParallelLoops : Pass<"mfc-cuda-tile-parallel-loops", "mlir::func::FuncOp"> {
  let summary = "Tile each outermost scf.parallel into thread blocks and map it to the GPU";
  let description = [{
    ```
    scf.parallel (%i, %j) = (0, 0) to (%m, %n) step (1, 1) { body(%i, %j) }
      => scf.parallel (%i, %jj) = (0, 0) to (%m, %n) step (1, threads) {
           scf.parallel (%i2, %j) = (0, 0) to (1, min(threads, %n - %jj)) step (1, 1) {
             body(%i + %i2, %jj + %j) } }
    ```
    and sets the `mapping` that convert-parallel-loops-to-gpu reads: the tiles of the
    innermost dim on block x, the next two dims on blocks y and z (any further ones
    sequential), the innermost dim of a tile on thread x, parallel loops nested deeper
    sequential. The innermost dim is the contiguous one of the linalg ops' outputs, so a
    warp's threads touch neighbouring elements.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256", "Threads per block">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect", "mlir::gpu::GPUDialect"];
}

#endif // MFC_TARGET_CUDA_PASSES
