//===- TernOps.td - tern dialect operations ----------------*- tablegen -*-===//
#ifndef TERN_OPS
#define TERN_OPS

include "TernDialect.td"
include "TernAttrs.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"
include "mlir/Interfaces/ValueBoundsOpInterface.td"

// The layout attribute says which dim is which (checked by the verifiers); the row
// length in bytes is static, the number of outputs may be dynamic (a tile of them).
def Tern_PackedWeights : TypeConstraint<
    Or<[TensorRankOf<[I8], [2]>.predicate, MemRefRankOf<[I8], [2]>.predicate]>,
    "packed ternary weights: a 2-D i8 tensor or memref of 2-bit codes",
    "::mlir::ShapedType">;

// The float types activations, norms, scales and states may have.
def Tern_Float : AnyTypeOf<[F32, F16, BF16]>;
def Tern_FloatTensor : RankedTensorOf<[Tern_Float]>;
def Tern_FloatVector : TensorRankOf<[Tern_Float], [1]>;

//===----------------------------------------------------------------------===//
// tern.matmul
//===----------------------------------------------------------------------===//

def Tern_MatmulOp : Tern_Op<"matmul", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>
    // BufferizableOpInterface and TilingInterface: external models (TernOps.cpp).
    ]> {
  let summary = "matrix product with ternary weights as an add/subtract accumulation";
  let description = [{
    `init[..., n] = sum_k input[..., k] * T[n, k]` where `T` in {-1, 0, +1} is decoded
    from the packed `weights` in their `layout` (see `#tern.packed`). Because `T` is
    ternary the sum is computed with additions and subtractions only: in int32, exactly,
    for int8 activations; in the input's float type for float activations. Leading
    dimensions of `input` (batch, sequence) are carried through; its last dimension K
    must be static and match the packed row length `ceil(K/4)`.

    Destination-passing style: `init` only gives the result its buffer (its values are
    overwritten, never read). On tensors the op returns the result; after bufferization
    it writes `init` in place. The iteration domain for tiling is the leading dims and
    n, all parallel (K stays whole: a tile reads whole packed rows).

    ```mlir
    %acc = tern.matmul ins(%q, %w : tensor<?x32xi8>, tensor<64x8xi8>)
                       outs(%init : tensor<?x64xi32>) -> tensor<?x64xi32>
    tern.matmul ins(%x, %w : memref<4x32xf32>, memref<8x64xi8>)
                outs(%y : memref<4x64xf32>) {layout = #tern.packed<bits = 2, order = columns>}
    ```
  }];
  let arguments = (ins TensorOrMemRef<[I8, Tern_Float]>:$input, Tern_PackedWeights:$weights,
                       TensorOrMemRef<[I32, Tern_Float]>:$init,
                       DefaultValuedAttr<Tern_PackedAttr, "PackedAttr::getDefault($_builder.getContext())">:$layout);
  let results = (outs Variadic<RankedTensorOf<[I32, Tern_Float]>>:$result_tensors);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weights `:` type($input) `,` type($weights) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result_tensors)^)?
  }];
  let builders = [
    // The result has init's type on tensors; there is none on buffers.
    OpBuilder<(ins "::mlir::Value":$input, "::mlir::Value":$weights, "::mlir::Value":$init,
                   CArg<"PackedAttr", "{}">:$layout)>,
  ];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    /// The result on tensors.
    ::mlir::Value getTensorResult() { return getResultTensors().front(); }
    /// The number of outputs N that the packed weights hold (dynamic in a tile).
    int64_t getNumOutputs() { return getLayout().getNumOutputs(getWeights().getType()); }
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// tern.quantize_act
//===----------------------------------------------------------------------===//

def Tern_QuantizeActOp : Tern_Op<"quantize_act", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
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
  let arguments = (ins Tern_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs RankedTensorOf<[I8]>:$quantized, Tern_FloatTensor:$scale);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($quantized) `,` type($scale)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// tern.bitlinear
//===----------------------------------------------------------------------===//

def Tern_BitLinearOp : Tern_Op<"bitlinear", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>
    // BufferizableOpInterface and TilingInterface: external models (TernOps.cpp).
    ]> {
  let summary = "fused BitLinear: RMSNorm, int8 quantization, ternary matmul, rescale";
  let description = [{
    The projection of a MatMul-free LM (HGRN-Bit `FusedBitLinear`):
    ```
    x'        = input / sqrt(mean_k(input^2) + eps) * norm_weight
    q, s_x    = tern.quantize_act(x') {eps = act_eps} // per-token absmax int8
    acc       = tern.matmul(q, weights)            // int32 add/subtract, no multiply
    init      = acc * weight_scale / s_x           // once per output element
    ```
    `weight_scale` is the dequantization scale `a` of `W ~ a * T`: `1xf32` per tensor
    (the absmean `mean|W|`) or `Nxf32` per output channel. `eps` may be 0 (an RMSNorm
    written without epsilon); `act_eps` is positive. The packed weights are read in
    `layout` (see `#tern.packed`).

    Destination-passing style like `tern.matmul`: `init` gives the result its buffer
    and is never read. For tiling, the iteration domain is the leading dims and n, all
    parallel: a tile normalizes and quantizes its tokens whole (every k) and computes
    its outputs.

    ```mlir
    %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>)
                        outs(%init : tensor<?x64xf32>) {eps = 1.0e-6 : f32} -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins TensorOrMemRef<[Tern_Float]>:$input,
                       TensorOrMemRef<[Tern_Float]>:$norm_weight,
                       Tern_PackedWeights:$weights,
                       TensorOrMemRef<[Tern_Float]>:$weight_scale,
                       TensorOrMemRef<[Tern_Float]>:$init,
                       DefaultValuedAttr<F32Attr, "1.0e-6f">:$eps,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$act_eps,
                       DefaultValuedAttr<Tern_PackedAttr, "PackedAttr::getDefault($_builder.getContext())">:$layout);
  let results = (outs Variadic<Tern_FloatTensor>:$result_tensors);
  let assemblyFormat = [{
    `ins` `(` $input `,` $norm_weight `,` $weights `,` $weight_scale `:` type($input) `,`
        type($norm_weight) `,` type($weights) `,` type($weight_scale) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result_tensors)^)?
  }];
  let builders = [
    // The result has init's type on tensors; there is none on buffers.
    OpBuilder<(ins "::mlir::Value":$input, "::mlir::Value":$norm_weight,
                   "::mlir::Value":$weights, "::mlir::Value":$weight_scale,
                   "::mlir::Value":$init, "::mlir::FloatAttr":$eps,
                   "::mlir::FloatAttr":$act_eps, "PackedAttr":$layout)>,
  ];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    /// The result on tensors.
    ::mlir::Value getTensorResult() { return getResultTensors().front(); }
    /// The number of outputs N that the packed weights hold.
    int64_t getNumOutputs() { return getLayout().getNumOutputs(getWeights().getType()); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// tern.glu
//===----------------------------------------------------------------------===//

def Tern_GLUOp : Tern_Op<"glu", [Pure, AllTypesMatch<["gate", "value", "result"]>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
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
  let arguments = (ins Tern_FloatTensor:$gate, Tern_FloatTensor:$value);
  let results = (outs Tern_FloatTensor:$result);
  let assemblyFormat = "$gate `,` $value attr-dict `:` type($result)";
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The result types of the op on `operands` when they are static, else none.
    static ::llvm::SmallVector<::mlir::Type> staticResultTypes(::mlir::ArrayRef<::mlir::Value> operands);
  }];
}

//===----------------------------------------------------------------------===//
// tern.mlgru_scan
//===----------------------------------------------------------------------===//

def Tern_MLGRUScanOp : Tern_Op<"mlgru_scan", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
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
  let arguments = (ins Tern_FloatTensor:$candidate, Tern_FloatTensor:$forget,
                       Tern_FloatTensor:$initial_state,
                       Optional<Tern_FloatVector>:$lower_bound,
                       UnitAttr:$ungated);
  let results = (outs Tern_FloatTensor:$hidden, Tern_FloatTensor:$final_state);
  let assemblyFormat = [{
    $candidate `,` $forget `,` $initial_state (`lower_bound` $lower_bound^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The result types of the op on `operands` when they are static, else none.
    static ::llvm::SmallVector<::mlir::Type> staticResultTypes(::mlir::ArrayRef<::mlir::Value> operands);
  }];
}

//===----------------------------------------------------------------------===//
// tern.checked_index
//===----------------------------------------------------------------------===//

def Tern_CheckedIndexOp : Tern_Op<"checked_index", [NoMemoryEffect]> {
  let summary = "an index read from data, counted from the end when negative, checked";
  let description = [{
    ONNX's rule for a data-dependent index (Gather, ScatterND): `-size <= index < size`,
    a negative index counting from the end. The result is the index in `[0, size)`. An
    index out of that range is a run-time error: the result is then 0 (so that no access
    leaves the buffer, for `size > 0`) and, as `tern-lower-run-time-checks` lowers it, the
    run reports `what` with the value and `size`.

    It has no memory effect (it may be CSE'd or dropped with its users) but is not
    speculatable: hoisted out of a condition, it could report an index never used.

    ```mlir
    %i = tern.checked_index %raw, %size {what = "Gather 'embed' (indices 'ids')"} : i64
    ```
  }];
  let arguments = (ins AnySignlessIntegerOrIndex:$index, Index:$size, StrAttr:$what);
  let results = (outs Index:$result);
  let assemblyFormat = "$index `,` $size attr-dict `:` type($index)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// tern.check_equal
//===----------------------------------------------------------------------===//

def Tern_CheckEqualOp : Tern_Op<"check_equal", [MemoryEffects<[MemWrite]>]> {
  let summary = "a size computed at run time must equal another";
  let description = [{
    ONNX's shape rules that only run time can check: a Reshape's new shape holds as
    many elements as its input, an Expand's shape broadcasts with its input. Code after
    the check relies on it: if `actual != expected`, `tern-lower-run-time-checks`
    abandons the run, reporting `what` with both values.

    It writes memory (the report), so that it is neither dropped nor moved.

    ```mlir
    tern.check_equal %count, %total {what = "Reshape node 'r' (input 'shape'): elements"}
    ```
  }];
  let arguments = (ins Index:$actual, Index:$expected, StrAttr:$what);
  let assemblyFormat = "$actual `,` $expected attr-dict";
  let hasCanonicalizeMethod = 1;
}

#endif // TERN_OPS
