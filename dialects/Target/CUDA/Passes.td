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

def CUDALowerTernaryGemv : Pass<"mfc-cuda-lower-ternary-gemv", "mlir::ModuleOp"> {
  let summary = "Lower int8 tern.matmul on buffers to a ternary GEMV kernel (dp4a on bit planes) or, for many token rows, an int8 tensor-core kernel";
  let description = [{
    ```
    tern.matmul ins(%x, %w : memref<MxKxi8>, memref<NxK/4xi8>) outs(%y : memref<MxNxi32>)
      => gpu.launch blocks(M, ceil(N / rows per block), 1) threads(32 * warps, 1, 1)
           { the GEMV for this N and K }
    ```
    (a gpu.launch, not a launch_func, so that buffer deallocation sees the kernel's
    memory effects; gpu-kernel-outlining makes it a kernel later). A group of G lanes (G the
    largest power of two <= 32 and <= K/64) owns `rows` outputs; each lane reads 16
    bytes (64 codes) of each row per step, consecutive lanes consecutive bytes (128-bit,
    coalesced loads of `rows`-order codes), and the 64 activations they meet. A 32-bit
    word holds codes of k = 16q + 4i + j at bits 8i + 2j: masking it with
    `0x01010101 << 2j` (the +1 bits) and `0x02020202 << 2j` (the sign bits) gives four
    unsigned bytes that pair with the activations x[16q + 4i + j], i = 0..3, which
    `prmt` gathers (a 4x4 byte transpose of four activation words). `dp4a` sums each
    pair into an accumulator per j and plane; since code = +1 bit - 2 * sign bit and the
    masked bytes carry a factor 4^j, the output is sum_j (plus_j - sign_j) >> 2j, exact in
    int32 for K <= 2^19. The lanes of a group then add by warp shuffles and the first
    writes the result.

    Token rows are the fastest grid dimension, so the blocks that read the same rows of
    codes run together and all but the first find them in L2.

    Many token rows (M >= `mma-min-tokens`, K a multiple of 128; prefill, batched
    decode): the GEMV would decode every code once per token, so instead
    ```
      => gpu.launch blocks(ceil(N / (16 * warps)), ceil(M / 64), 1) threads(32 * warps, 1, 1)
           { per warp 64 tokens x 16 outputs: per 128 inputs, 8 bytes of codes per output
             decoded to int8 by prmt, then 4 x 4 x 2 nvvm.mma.sync m16n8k32 s8 x s8 -> s32 }
    ```
    A byte of codes becomes four int8 weights in one `prmt` whose selector is the codes
    spread to nibbles, indexing the table {0, +1, -2, -1}. The mma's k-blocks gather
    inputs 32 tig + 8 j + [0, 8) of each lane of a quad (lane = 4 g + tig), which makes
    a lane's A registers two 128-bit loads of activations and its B bytes one 64-bit load
    of codes, the same inputs on both sides (a sum over k does not care which inputs form
    a k-block). Exact in int32 like the GEMV. With M unknown at compile time both kernels
    are built and an scf.if on M picks one per call.

    Epilogue: when the product's buffer is read only by the element-wise linalg.generic
    right after it (at the indices that generic writes; a bitlinear's rescale) and then
    freed, the generic's body runs on each sum in the kernel and writes its output
    directly; the generic and the product's buffer go.

    Products it does not take (float activations, `columns` order, K not a multiple of
    64, dynamic N or K, non-identity layouts) are left for tern-lower-matmul.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Outputs per lane group (fewer when the grid would not fill the GPU)">,
    Option<"warps", "warps", "int64_t", /*default=*/"4", "Warps per block">,
    Option<"mmaMinTokens", "mma-min-tokens", "int64_t", /*default=*/"8",
           "Token rows from which a product runs on tensor cores (0: never)">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::NVVM::NVVMDialect",
                           "mlir::LLVM::LLVMDialect", "mlir::vector::VectorDialect",
                           "mlir::scf::SCFDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def CUDAReductionKernels : Pass<"mfc-cuda-reduction-kernels", "mlir::func::FuncOp"> {
  let summary = "Lower linalg reductions over one dim to a block per output and a gpu.all_reduce";
  let description = [{
    ```
    linalg.generic {iterator_types = [parallel..., reduction, parallel...]}
        ins(%in...) outs(%out) { acc = combine(f(%in...), %acc) }
      => gpu.launch blocks(product of the parallel sizes) threads(threads) {
           partial = neutral; for r = thread; r < R; r += threads:
             partial = combine(f(in...[p, r]), partial)
           total = gpu.all_reduce <kind> partial
           if thread == 0: out[p] = combine(total, out[p])
         }
    ```
    A linalg.fill of the whole output just before the generic (only ops without memory
    effects in between) is folded in: the first thread combines the total with the fill
    value instead of the output's, and the fill kernel goes.

    Applies to a generic on buffers with one output, one reduction dim, and a body whose yield
    combines the output's value once with an arith op that gpu.all_reduce has (add, mul,
    min/max of every flavour). Lowered to loops, such a reduction runs its whole sum in
    one thread per output, through memory: a norm over 1024 features of one token is
    then a kernel of one thread and ~1000 dependent loads. Here the threads of a block
    share the sum. The order of the additions differs from the sequential loop's (float
    sums may round differently, within the usual reordering error).
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256", "Threads per block">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def CUDAFuseElementwise : Pass<"mfc-cuda-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse element-wise linalg producers into every consumer, recomputing them";
  let description = [{
    ```
    %a = linalg.generic (element-wise) ins(%x)          %b = linalg.generic ins(%x, %y) {
    %b = linalg.generic ins(%a, %y)               =>           f(g(x), y) }
    %c = linalg.generic ins(%a, %z)                     %c = linalg.generic ins(%x, %z) {
                                                               h(g(x), z) }
    ```
    linalg-fuse-elementwise-ops with a control that fuses producers with several uses too,
    as well as its reshape propagation: the producer is recomputed in each consumer (and
    disappears once the last one takes it), as long as the fused op reads at most 6
    inputs (a residual stream is a chain of additions: recomputing all of it would make
    each kernel read every earlier layer's output). A linalg.fill with several users is
    cloned per user, so that each fills its own buffer in place after bufferization
    (which mfc-cuda-reduction-kernels folds away) instead of copying a shared one. On a GPU at batch 1 an element-wise kernel
    costs its launch, not its arithmetic, so recomputing a few flops per element beats
    a kernel and a round trip through memory; this is what folds a norm's scaling and an
    activation quantization into the ops that read them.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def CUDALowerBitLinear : Pass<"mfc-cuda-lower-bitlinear", "mlir::func::FuncOp"> {
  let summary = "Lower tern.bitlinear on buffers to a per-token prologue kernel, tern.matmul and a rescale";
  let description = [{
    ```
    tern.bitlinear ins(%x, %n, %w, %a) outs(%y)
      => gpu.launch blocks(tokens) threads(threads) {
           ss = gpu.all_reduce add (sum_k x^2);  x' = x / sqrt(ss / K + eps) * n
           m = gpu.all_reduce maximumf (max_k |x'|);  s = 127 / max(m, act_eps)
           %q[token, k] = fptosi(clamp(roundeven(x' * s), -128, 127));  %s[token] = s
         }
         tern.matmul ins(%q, %w) outs(%acc)                 (the ternary GEMV kernel)
         linalg.generic ins(%acc, %s, %a) outs(%y) { sitofp(acc) * a / s }
         memref.dealloc %q, %s, %acc
    ```
    The norm and the activation quantization of a token read its row three times in
    one block (the row stays in L1) instead of taking two reduction kernels and two
    element-wise ones; the arithmetic is tern-expand-ops' (float sums in another
    order). The temporaries are this lowering's to free, so it runs after buffer
    deallocation, on what tern-expand-ops{keep-bitlinear} left.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256", "Threads per block">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect", "mlir::linalg::LinalgDialect",
                           "mfc::tern::TernDialect"];
}

def CUDALowerMLGRUScan : Pass<"mfc-cuda-lower-mlgru-scan", "mlir::func::FuncOp"> {
  let summary = "Lower tern.mlgru_scan over a sequence to loops in time per (batch, feature) thread";
  let description = [{
    ```
    %hs, %last = tern.mlgru_scan %i, %f, %h0 lower_bound %lb
      => %hs, %last = scf.forall (%b, %h) in (B, H) shared_outs(%hs0, %last0) {
           h = %h0[%b, %h]
           scf.for %t = 0 to S:
             (f, c) = gates(%i[%b, %t, %h], %f[%b, %t, %h], %lb[%h]);  h = f * h + c
             %hs0[%b, %t, %h] = h
           %last0[%b, %h] = h
         }
    ```
    when S is known and at most `chunk`; otherwise over chunks of `chunk` steps, since
    the recurrence is affine in h (a chunk maps its entering state e to P * e + Y):
    ```
      => %P, %Y = scf.forall (%b, %c, %h): P = prod f_t, Y = scan from 0 over chunk c
         %E, %last = scf.forall (%b, %h): e = %h0; for c: E[c] = e; e = P[c] * e + Y[c]
         %hs = scf.forall (%b, %c, %h): the scan of chunk c from E[c], written
    ```
    Loops over time are unrolled by `unroll`. tern-expand-ops writes the scan as a loop
    over time around an element-wise step, which on a GPU is a kernel launch per token
    and layer (a 2048-token prefill of 24 layers: ~50k launches). Each (batch, feature)
    recurrence is independent, so here a thread loops over time: threads along the
    features read consecutive addresses at every step, and unrolling puts the loads of
    later steps (which do not depend on h) in flight while h is computed. One thread
    per (batch, feature) alone is too little parallelism for a long sequence (1024
    threads for 2048 dependent steps at batch 1); chunks multiply it by S / chunk at the
    cost of reading the gates twice. Chunk boundaries reassociate the float arithmetic
    (P * e + Y instead of step by step), within rounding. After bufferization
    scf-forall-to-parallel makes the foralls parallel loops for
    mfc-cuda-tile-parallel-loops. Scans whose sequence is statically one step (decode)
    are left to tern-expand-ops, whose step fuses with the element-wise ops around it.
  }];
  let options = [
    Option<"unroll", "unroll", "int64_t", /*default=*/"4", "Time steps per loop iteration">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"64",
           "Steps per chunk of a long or unknown sequence (0: one thread runs all)">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect"];
}

def CUDANameKernels : Pass<"mfc-cuda-name-kernels", "mlir::func::FuncOp"> {
  let summary = "Name the kernels of parallel loops for what their threads do";
  let description = [{
    ```
    gpu.launch ... { no loop }              => gpu.launch ... { } {function = @elementwise}
    gpu.launch ... { scf.for ... }          => gpu.launch ... { } {function = @thread_loop}
    ```
    The kernels built by the other CUDA passes carry their own names (ternary_gemv,
    ternary_mma, bitlinear_prologue, block_reduction); convert-parallel-loops-to-gpu
    leaves the rest unnamed, and outlining would call them all `<func>_kernel`. With a
    name the profilers (CUPTI, ncu) tell an element-wise kernel from one whose threads
    loop (an MLGRU scan over time, say), which is what a per-kernel profile is read for.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

#endif // MFC_TARGET_CUDA_PASSES
