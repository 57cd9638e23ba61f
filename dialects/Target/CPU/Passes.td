//===- Passes.td - the CPU target's passes -----------------*- tablegen -*-===//
#ifndef MFC_TARGET_CPU_PASSES
#define MFC_TARGET_CPU_PASSES

include "mlir/Pass/PassBase.td"

def CPULowerToUkernels : Pass<"mfc-cpu-lower-to-ukernels", "mlir::ModuleOp"> {
  let summary = "Lower int8 tern.matmul to calls of the CPU micro-kernel";
  let description = [{
    ```
    tern.matmul ins(%x, %codes : memref<MxKxi8>, memref<Nx(K/4)xi8>) outs(%y : memref<MxNxi32>)
      => call @mfc_ternary_matmul_i8(%x[M, K], %codes, %y[M, N])   (leading dims as rows)
    ```
    `mfc_ternary_matmul_i8` (libmfc_kernels.a, linked into every CPU model library)
    does a SIMD sign-and-add with no multiplies and splits the output rows across
    threads. It is declared with `llvm.emit_c_interface` and takes strided 2-D buffers.
    Float products stay for `tern-lower-matmul`.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect"];
}

#endif // MFC_TARGET_CPU_PASSES
