//===- Passes.td - tern passes -----------------------------*- tablegen -*-===//
#ifndef TERN_PASSES
#define TERN_PASSES

include "mlir/Pass/PassBase.td"

def TernDetectTernaryMatmul : Pass<"tern-detect-ternary-matmul", "mlir::func::FuncOp"> {
  let summary = "Rewrite contractions with ternary constant weights into tern.matmul";
  let description = [{
    ```
    contraction(x[..., k], W[k, n]) where W = a * T, T in {-1, 0, +1}^(K x N),
        a > 0 per tensor or per output column n
      => tern.matmul(x, pack2(T^t)) * a
    ```
    The contraction is a `linalg.generic` mul/add reduction over one `k` (as the importer
    emits for MatMul, Gemm and MatMulInteger) accumulating into a zero fill; `W` is a
    constant, or computed from constants by linalg ops, which are evaluated once at
    compile time in the model's float32 arithmetic: DequantizeLinear of an int8 {-1,0,1}
    tensor (QDQ), or BitNet's absmean chain `clip(round(W / mean|W|), -1, 1) * mean|W|`
    with its reductions, through transposes and reshapes (torch's `F.linear` writes
    `MatMul(x, Transpose(W))`). `W[n, k]` (Gemm transB) works too. The weight is read once
    and packed straight into a 2-bit `dense_resource` blob; it is never re-quantized
    (absmean quantization is not idempotent). Magnitudes within 4 float32 ulps count as
    one: a folded straight-through estimator `w + (a * T - w)` holds `a * T` only up to
    rounding.

    MatMulInteger by int8 {-1, 0, 1} weights (weight zero point absent or 0) is exact in
    i32: `sum_k (x - zp) T = tern.matmul(x8, T) + (c - zp) * sum_k T`, with `x8 = x` for
    int8 activations (c = 0) and `x8 = x - 128` (the sign bit flipped) for uint8 ones
    (c = 128, as DynamicQuantizeLinear produces); the correction is added once per output.

    When every activation is provably an integer in [-128, 127] (the output of an
    activation quantization chain `clip(round(x * s), -128, 127)`, or of a constant), the
    product runs on int8 activations with exact i32 accumulation:
    ```
      => sitofp(tern.matmul(fptosi(x), pack2(T^t))) * a
    ```
    A dequantized activation `q / s` or `q * r` with such q and a factor constant along
    `k` (per token) moves past the sum, as BitNet's dequantize-before-matmul writes it:
    ```
    contraction(q / s, W)  =>  sitofp(tern.matmul(q, pack2(T^t))) * a / s
    ```

    Left alone, with a remark under `remarks=true` (`mfc --mfc-remarks`): weights that are
    not constant, that take more than one nonzero magnitude per column, contractions over
    several `k` dims, and operand layouts other than `x[..., k]` -> `y[..., n]`.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each contraction saying whether and why it was rewritten">,
  ];
  let dependentDialects = ["mfc::tern::TernDialect", "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect",
                           "mlir::math::MathDialect"];
}

def TernNormalizeElementwise : Pass<"tern-normalize-elementwise", "mlir::func::FuncOp"> {
  let summary = "Rewrite equal spellings of element-wise computations into the one the fusions match";
  let description = [{
    On the scalar tree of each element-wise float generic:
    ```
    x + (y - x)    => y         the straight-through estimator x + (q(x) - x).detach()
    x + 0          => x
    a * (1 / b)    => a / b     Reciprocal: 127 * Reciprocal(m), x * Reciprocal(sqrt(v))
    generic(constants) => constant   float32 results of at most 65536 elements
    extract_slice(constant) => constant   slices of at most 65536 elements
    ```
    where x, y, a, b are tensors (read through any broadcast map) or constants. The first
    two drop an addition whose only effect is float rounding (and the sign of a zero);
    the third rounds once instead of twice. Exporters write these forms (torch's
    TorchScript and dynamo exporters for BitNet layers); mfc's fusion passes match the
    right-hand sides.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::arith::ArithDialect"];
}

def TernNormalizeLayout : Pass<"tern-normalize-layout", "mlir::func::FuncOp"> {
  let summary = "Rewrite data movement that keeps the row-major element order into reshapes";
  let description = [{
    On static shapes:
    ```
    transpose(x) keeping the order of x's non-unit dims   => reshape(x)
    tensor.reshape(x)                                      => reshape(x)
    extract_slice(x) taking all of x                       => reshape(x)
    insert_slice(x into d) overwriting all of d            => reshape(x)
    extract_slice(expand_shape(x)), unit dims inserted or split dims taken whole
                                                           => reshape(extract_slice(x))
    extract_slice(transpose(x))                            => reshape(transpose(extract_slice(x)))
    ```
    where reshape is tensor.collapse_shape / tensor.expand_shape, composed and folded by
    their canonicalization (identity linalg.generics, as ONNX Expand to the same shape
    imports, fold too). Torch's exporters move the head and time dims of a decode step or
    of one unrolled step this way; afterwards the recurrence reads the gates directly.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect", "mlir::linalg::LinalgDialect"];
}

def TernFuseQuantizeAct : Pass<"tern-fuse-quantize-act", "mlir::func::FuncOp"> {
  let summary = "Fuse per-token absmax int8 activation quantization chains into tern.quantize_act";
  let description = [{
    ```
    s = 127 / max(reduce_max_k(|x|), eps)           (per token, [..., 1])
    y = clamp(round_half_even(x * s), -128, 127)
      => q, s' = tern.quantize_act(x) {eps};  y = sitofp(q);  s = s'
    ```
    The chain is matched on the scalar tree of the element-wise generics the importer
    emits for Abs, ReduceMax, Max, Div, Mul, Round and Clip (in any operand order; Clip as
    min(max) or max(min)). Both the quantized values and the scale are replaced, so a later
    dequantization by `s` reads tern.quantize_act's scale.

    Left alone, with a remark under `remarks=true`: a clamp-of-round whose scale is not
    `127 / max(absmax, eps)` of the same tensor over its last dim, and chains whose
    intermediate values have users outside the chain.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each candidate chain saying whether and why it was fused">,
  ];
  let dependentDialects = ["mfc::tern::TernDialect", "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def TernFuseBitLinear : Pass<"tern-fuse-bitlinear", "mlir::func::FuncOp"> {
  let summary = "Fuse RMSNorm, tern.quantize_act, tern.matmul and the rescale into tern.bitlinear";
  let description = [{
    ```
    x'    = x / sqrt(mean_k(x^2) + eps) * n          (RMSNorm; x * rsqrt(..) too)
    q, s  = tern.quantize_act(x') {act_eps}
    y     = sitofp(tern.matmul(q, W)) * a / s        (a: per tensor or per column)
      => y = tern.bitlinear(x, n, W, a) {eps, act_eps}
    ```
    Runs after tern-fuse-quantize-act and tern-detect-ternary-matmul, which produce the
    quantize and matmul ops; the RMSNorm and the rescale are matched on the scalar trees of
    the importer's element-wise generics (ReduceMean as sum/K or sum*(1/K), the square as
    x*x or x^2). An RMSNorm without weight gets `n = 1`.

    Left alone, with a remark under `remarks=true`: a rescale by a quantize_act scale whose
    input is not an RMSNorm, and quantized values, accumulators or rescale intermediates
    with users outside the chain. Parts of the RMSNorm may be shared (CSE merges the norms
    of projections reading the same x); the fused op recomputes them.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each candidate chain saying whether and why it was fused">,
  ];
  let dependentDialects = ["mfc::tern::TernDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def TernFuseMLGRU : Pass<"tern-fuse-mlgru", "mlir::func::FuncOp"> {
  let summary = "Fuse MLGRU recurrences (Scan and Loop loops, decode steps, unrolled steps) into tern.mlgru_scan";
  let description = [{
    ```
    f = sigmoid(f_pre)  [or sigmoid(f_pre) * (1 - lb) + lb, lb a constant per hidden unit]
    c = silu(i) * (1 - f)
    scf.for t in [0, seq) iter_args(h = h0, hs):          (an imported ONNX Scan)
      h = f[:, t] * h + c[:, t];  hs[:, t] = h
      => hs, h = tern.mlgru_scan(i, f_pre, h0) [lower_bound lb]
    scf.while (t = 0; t < seq) iter_args(h = h0, ys):       (an imported ONNX Loop)
      h = f[:, t] * h + c[:, t];  ys[t] = h                 (f[:, t] a Gather)
      => the same, and transpose(ys, [1, 0, 2]) = hs
    h = squeeze(f, 1) * h_prev + squeeze(c, 1)            (a decode step, seq = 1)
      => _, h = tern.mlgru_scan(i, f_pre, h_prev) [lower_bound lb]
    h_t = squeeze(f[:, t:t+1]) * h_{t-1} + squeeze(c[:, t:t+1])   (unrolled, t constant)
      => _, h_t = tern.mlgru_scan(i[:, t:t+1], f_pre[:, t:t+1], h_{t-1})
    h = f * h_prev + c, all [batch, 1, hidden]            (a step keeping the time dim)
      => _, h' = tern.mlgru_scan(i, f_pre, collapse(h_prev)); h = expand(h')
    the same on one reshape of [batch, 1, hidden] values   (e.g. [batch, heads, head_dim])
      => the scan on the gates, h_prev and h reshaped
    scan(x[:, a:a+m], h) -> h', then scan(x[:, a+m:a+m+n], h')
      => one scan over x[:, a:a+m+n]; the first one's results are slices of its hidden
    x[t] of time-major [seq, batch, hidden] inputs (ONNX Scan's default axis, a Gather)
      => the scan over transpose(x, [1, 0, 2]); hidden transposed back
    ```
    The gates are matched on the scalar trees of the importer's element-wise generics
    (Sigmoid as 1 / (1 + exp(-x)), products in either order). A loop must start at 0,
    step by 1 and run as long as the sequence (proven with value bounds).

    A recurrence whose f and c are not the MLGRU's gates (given as inputs, another
    forget-gate activation, a candidate gated by a different f, a scale that is not
    1 - lb) becomes the bare recurrence `tern.mlgru_scan {ungated}` over f and c, the gates
    staying element-wise code: in loops always; outside loops only where h_prev is a
    state (a function argument, or for unrolled steps the previous step's state or a
    constant start).

    Left alone, with a remark under `remarks=true`: loops that do not cover the sequence.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each candidate recurrence saying whether and why it was fused">,
  ];
  let dependentDialects = ["mfc::tern::TernDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def TernFuseGLU : Pass<"tern-fuse-glu", "mlir::func::FuncOp"> {
  let summary = "Fuse silu(a) * b between ternary projections into tern.glu";
  let description = [{
    ```
    y = a * sigmoid(a) * b    (any operand order; Sigmoid as 1 / (1 + exp(-a)))
      => y = tern.glu(a, b)   when a and b are projections: tern.bitlinear results, or
                              tensors computed from tern.matmul, or slices (Split) of them
    ```
    Runs after the projection fusions. The element-wise product of other tensors (the
    MLGRU output gate multiplies by an RMSNorm, not a projection) is left alone, with a
    remark under `remarks=true` when it has the silu(a) * b form.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each silu(a) * b saying whether and why it was fused">,
  ];
  let dependentDialects = ["mfc::tern::TernDialect"];
}

def TernLowerMatmul : Pass<"tern-lower-matmul", "mlir::ModuleOp"> {
  let summary = "Lower tern.matmul to a multiply-free accumulation";
  let description = [{
    ```
    tern.matmul ins(x[..., K], codes[N, K/4]) outs(y[..., N])
      => linalg.fill 0 into y
         linalg.generic over (..., n, b, j) writing y, x viewed as xv[..., K/4, 4]:
           c   = (codes[n, b] >> (j << 1)) & 3
           acc = c == 1 ? acc + xv[..., b, j] : (c == 3 ? acc - xv[..., b, j] : acc)
    ```
    The accumulation adds where the weight is +1, subtracts where it is -1 and skips
    zeros: the loop body holds no multiply. int8 activations are sign-extended and
    accumulated in i32; float activations accumulate in their own type. When K is no
    multiple of 4 the loops run over k and read byte k / 4 (the last one is padded).
    Works on tensors
    and, after bufferization, on buffers; the codes are read in the op's `layout`
    (`codes[k / 4, n]` for `columns`). Targets with a micro-kernel (the CPU's
    `mfc-cpu-lower-to-ukernels`) replace the ops it applies to first.

    With `k-chunk=C` (a multiple of 4 that divides K, smaller than K) the sum is split
    for parallel hardware: partial sums over each chunk of C inputs, then their sum:
    ```
      => partial[..., s, n] = sum_{kk < C} code(n, s*C + kk) * x[..., s*C + kk]
         y[..., n] = sum_s partial[..., s, n]
    ```
    On buffers `partial` is a memref.alloc freed right after the sum (the lowering owns
    it), so run the split on buffers after buffer deallocation.
  }];
  let options = [
    Option<"kChunk", "k-chunk", "int64_t", /*default=*/"0",
           "Split the sum over K into chunks of this many inputs (0: no split)">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect", "mlir::memref::MemRefDialect"];
}

def TernRepack : Pass<"tern-repack", "mlir::func::FuncOp"> {
  let summary = "Rewrite packed ternary weights into the layout a target reads";
  let description = [{
    ```
    %w = arith.constant dense_resource<w> : tensor<N x ceil(K/4) x i8>
    tern.matmul ins(%x, %w ...)                  (layout #tern.packed<bits = 2, order = rows>)
      => %w' = arith.constant dense_resource<w.columns> : tensor<ceil(K/4) x N x i8>
         tern.matmul ins(%x, %w' ...) {layout = #tern.packed<bits = 2, order = columns>}
    ```
    The same for `tern.bitlinear`. Both orders hold the same bytes, so a repack is a
    transpose of the byte matrix: done once at compile time for constant weights (a new
    blob, shared by every op that read the old one), and by `linalg.transpose` for any
    other value. Ops already in `order` are left alone. Each target runs it with the
    order its kernels read (the CPU micro-kernel: `rows`).
  }];
  let options = [
    Option<"order", "order", "::mfc::tern::PackedOrder", /*default=*/"::mfc::tern::PackedOrder::rows",
           "The byte order to pack into",
           [{::llvm::cl::values(
             clEnumValN(::mfc::tern::PackedOrder::rows, "rows", "one output's codes per row"),
             clEnumValN(::mfc::tern::PackedOrder::columns, "columns", "one output's codes per column"))}]>,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def TernExpandOps : Pass<"tern-expand-ops", "mlir::func::FuncOp"> {
  let summary = "Expand tern.bitlinear, tern.quantize_act, tern.mlgru_scan and tern.glu into linalg/scf";
  let description = [{
    ```
    tern.bitlinear(x, n, w, a)
      => q, s = tern.quantize_act(x / sqrt(mean(x^2) + eps) * n) {eps = act_eps}
         sitofp(tern.matmul(q, w)) * a / s
    tern.quantize_act(x[..., K])
      => s = 127 / max(max_k |x|, eps);  q = fptosi(clamp(roundeven(x * s), -128, 127))
    tern.mlgru_scan(i, f, h0, lb)
      => scf.for t: f_t = lb + (1 - lb) * sigmoid(f[:, t]);
                    h = f_t * h + silu(i[:, t]) * (1 - f_t);  hs[:, t] = h
    tern.glu(g, v)
      => silu(g) * v
    ```
    Element-wise and per-token work becomes linalg.generic; tern.matmul stays for
    tern-lower-matmul. After this pass only tern.matmul remains of the tern dialect
    (and tern.bitlinear with `keep-bitlinear`, for a target that lowers it itself).
  }];
  let options = [
    Option<"keepBitLinear", "keep-bitlinear", "bool", /*default=*/"false",
           "Leave tern.bitlinear for a target's own lowering">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect", "mlir::tensor::TensorDialect",
                           "mlir::scf::SCFDialect"];
}

def TernLowerRunTimeChecks : Pass<"tern-lower-run-time-checks", "mlir::ModuleOp"> {
  let summary = "Lower tern.checked_index and tern.check_equal to arith and a report";
  let description = [{
    ```
    %i = tern.checked_index %raw, %size {what = W}
      => %w = %raw < 0 ? %raw + %size : %raw
         %ok = %w ult %size
         scf.if !%ok { func.call @mfc_index_error(@W's bytes, %raw, %size) }  // report
         %i = %ok ? %w : 0                                                      // report, clamp
    tern.check_equal %a, %b {what = W}
      => scf.if %a != %b { func.call @mfc_shape_error(@W's bytes, %a, %b) }   // report
    ```
    `mode=report` (host code) calls the runtime (runtime/kernels/run_errors.c, C
    interface), which abandons the run and makes `mfc_session_run` return the message;
    each distinct `what` is one constant global. `mode=clamp` (device code, which cannot
    call the host) only keeps indexed accesses inside their buffer, and drops shape
    checks. `mode=unchecked` keeps ONNX's wrap-around of negative indices and nothing
    else (`mfc --unchecked-indices`).
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"report\"",
           "report | clamp | unchecked">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect"];
}

#endif // TERN_PASSES
