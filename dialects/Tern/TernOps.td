//===- TernOps.td - tern dialect operations ----------------*- tablegen -*-===//
#ifndef TERN_OPS
#define TERN_OPS

include "TernDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ValueBoundsOpInterface.td"

def Tern_PackedWeights : TypeConstraint<
    And<[TensorRankOf<[I8], [2]>.predicate, HasStaticShapePred]>,
    "packed ternary weights: static tensor<N x ceil(K/4) x i8> of 2-bit codes",
    "::mlir::RankedTensorType">;

def Tern_F32Tensor : RankedTensorOf<[F32]>;
def Tern_F32Vector : TensorRankOf<[F32], [1]>;

//===----------------------------------------------------------------------===//
// tern.matmul
//===----------------------------------------------------------------------===//

def Tern_MatmulOp : Tern_Op<"matmul", [Pure,
    DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>]> {
  let summary = "matrix product with ternary weights as an add/subtract accumulation";
  let description = [{
    `result[..., n] = sum_k input[..., k] * T[n, k]` where `T` in {-1, 0, +1} is decoded
    from the packed `weights` (see the dialect description). Because `T` is ternary the
    sum is computed with additions and subtractions only: in int32, exactly, for int8
    activations; in the input's float type for float activations. Leading dimensions of
    `input` (batch, sequence) are carried through; its last dimension K must be static
    and match the packed row length `ceil(K/4)`.

    ```mlir
    %acc = tern.matmul %q, %w : tensor<?x32xi8>, tensor<64x8xi8> -> tensor<?x64xi32>
    %y = tern.matmul %x, %w : tensor<?x32xf32>, tensor<64x8xi8> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8, AnyFloat]>:$input, Tern_PackedWeights:$weights);
  let results = (outs RankedTensorOf<[I32, AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `,` $weights attr-dict `:` type($input) `,` type($weights) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// tern.quantize_act
//===----------------------------------------------------------------------===//

def Tern_QuantizeActOp : Tern_Op<"quantize_act", [Pure,
    DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>]> {
  let summary = "per-token absmax int8 activation quantization";
  let description = [{
    For every token (every index of the leading dimensions):
    `scale = 127 / max(max_k |input[..., k]|, eps)` and
    `quantized = clamp(round_half_even(input * scale), -128, 127)`.
    `scale` keeps a trailing dimension of size 1 so it broadcasts against the input.

    ```mlir
    %q, %s = tern.quantize_act %x : tensor<4x32xf32> -> tensor<4x32xi8>, tensor<4x1xf32>
    ```
  }];
  let arguments = (ins Tern_F32Tensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs RankedTensorOf<[I8]>:$quantized, Tern_F32Tensor:$scale);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($quantized) `,` type($scale)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// tern.bitlinear
//===----------------------------------------------------------------------===//

def Tern_BitLinearOp : Tern_Op<"bitlinear", [Pure,
    DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>]> {
  let summary = "fused BitLinear: RMSNorm, int8 quantization, ternary matmul, rescale";
  let description = [{
    The projection of a MatMul-free LM (HGRN-Bit `FusedBitLinear`):
    ```
    x'        = input / sqrt(mean_k(input^2) + eps) * norm_weight
    q, s_x    = tern.quantize_act(x') {eps = act_eps} // per-token absmax int8
    acc       = tern.matmul(q, weights)            // int32 add/subtract, no multiply
    result    = acc * weight_scale / s_x           // once per output element
    ```
    `weight_scale` is the dequantization scale `a` of `W ~ a * T`: `tensor<1xf32>` per
    tensor (the absmean `mean|W|`) or `tensor<Nxf32>` per output channel. `eps` may be
    0 (an RMSNorm written without epsilon); `act_eps` is positive.

    ```mlir
    %y = tern.bitlinear %x, %n, %w, %a {eps = 1.0e-6 : f32}
        : (tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tern_F32Tensor:$input, Tern_F32Vector:$norm_weight,
                       Tern_PackedWeights:$weights, Tern_F32Vector:$weight_scale,
                       DefaultValuedAttr<F32Attr, "1.0e-6f">:$eps,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$act_eps);
  let results = (outs Tern_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $norm_weight `,` $weights `,` $weight_scale attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// tern.glu
//===----------------------------------------------------------------------===//

def Tern_GLUOp : Tern_Op<"glu", [Pure, AllTypesMatch<["gate", "value", "result"]>,
    DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>]> {
  let summary = "SiLU-gated linear unit between two ternary projections";
  let description = [{
    The channel mixer's gate of HGRN-Bit: `result = silu(gate) * value` element by
    element, `silu(x) = x * sigmoid(x)`, where `gate` and `value` are outputs (or halves of
    one output) of ternary projections.

    ```mlir
    %y = tern.glu %gate, %value : tensor<?x1x64xf32>
    ```
  }];
  let arguments = (ins Tern_F32Tensor:$gate, Tern_F32Tensor:$value);
  let results = (outs Tern_F32Tensor:$result);
  let assemblyFormat = "$gate `,` $value attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// tern.mlgru_scan
//===----------------------------------------------------------------------===//

def Tern_MLGRUScanOp : Tern_Op<"mlgru_scan", [Pure,
    DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>]> {
  let summary = "MLGRU element-wise gated recurrence over a sequence";
  let description = [{
    The token mixer recurrence of HGRN-Bit, over `[batch, seq, hidden]` pre-activations
    `candidate` (i) and `forget` (f), starting from `initial_state` `[batch, hidden]`:
    ```
    f_t = sigmoid(forget_t)
    f_t = lower_bound + (1 - lower_bound) * f_t      // only if lower_bound is given
    c_t = silu(candidate_t) * (1 - f_t)
    h_t = f_t * h_{t-1} + c_t,   h_{-1} = initial_state
    ```
    `hidden` holds every `h_t`; `final_state` is the last one (the decode state), or
    `initial_state` when the sequence is empty. A decode step is the case seq = 1.

    With `ungated`, `forget` and `candidate` are the gates themselves (the bare
    recurrence `h_t = forget_t * h_{t-1} + candidate_t`, as graphs that compute the gates
    elsewhere write it); there is no lower bound then.

    ```mlir
    %h, %last = tern.mlgru_scan %i, %f, %h0 lower_bound %lb
        : (tensor<1x?x64xf32>, tensor<1x?x64xf32>, tensor<1x64xf32>, tensor<64xf32>)
        -> (tensor<1x?x64xf32>, tensor<1x64xf32>)
    ```
  }];
  let arguments = (ins Tern_F32Tensor:$candidate, Tern_F32Tensor:$forget,
                       Tern_F32Tensor:$initial_state,
                       Optional<Tern_F32Vector>:$lower_bound,
                       UnitAttr:$ungated);
  let results = (outs Tern_F32Tensor:$hidden, Tern_F32Tensor:$final_state);
  let assemblyFormat = [{
    $candidate `,` $forget `,` $initial_state (`lower_bound` $lower_bound^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // TERN_OPS
