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

def CPUApproximateMath : Pass<"mfc-cpu-approximate-math"> {
  let summary = "Expand float32 math.exp into a polynomial approximation";
  let description = [{
    ```
    %y = math.exp %x : f32
      => range reduction x = k ln2 + r, a polynomial in r, 2^k built in the exponent
         bits (MLIR's `populateMathPolynomialApproximationPatterns` for "exp")
    ```
    Plain arithmetic that LLVM's loop vectorizer widens, where a `math.exp` becomes a
    call of libm's `expf` per element (no vector math library is linked): the sigmoid and
    SiLU of every layer (a 370M decode step 6% faster, a 512-token prefill 9%). Within
    1 ulp of the exact value up to x = 88.5, 4 ulp in the last 0.2 before overflow;
    inf, 0 and NaN as libm gives them; results below the normal range (x < -87.3) flush
    to 0 (python/tests/test_compiled.py measures this). f64 keeps libm's `exp`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

#endif // MFC_TARGET_CPU_PASSES
