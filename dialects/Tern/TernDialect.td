//===- TernDialect.td - the tern dialect -------------------*- tablegen -*-===//
#ifndef TERN_DIALECT
#define TERN_DIALECT

include "mlir/IR/OpBase.td"

def Tern_Dialect : Dialect {
  let name = "tern";
  let cppNamespace = "::mfc::tern";
  let summary = "Ternary-weight (MatMul-free) language model operations";
  let description = [{
    The contract between mfc's ONNX front end and its CPU, GPU and HLS back ends.
    It models the MatMul-free LM (HGRN-Bit) building blocks: a matrix product with
    ternary weights computed as an int32 add/subtract accumulation (`tern.matmul`),
    per-token absmax int8 activation quantization (`tern.quantize_act`), the fused
    BitLinear layer (`tern.bitlinear`), the MLGRU element-wise gated recurrence
    (`tern.mlgru_scan`) and the channel mixer's SiLU gate (`tern.glu`). The fusion
    passes (`tern-fuse-*`) raise the importer's op chains to these ops; `tern-expand-ops`
    lowers all but `tern.matmul` back to linalg/scf for back ends without their own
    lowering.

    Packed ternary weights are ordinary 2-D i8 tensors, normally an
    `arith.constant dense_resource<...>` so that a large weight is one blob and never a
    per-element attribute, four 2-bit codes per byte; the `layout` attribute of the ops
    that read them (`#tern.packed`) says how (by default `N x ceil(K/4)`, one row per
    output). The scale that turns the ternary `T` back into the weight `W ~ a * T` is a
    separate `tensor<1xf32>` (per tensor) or `tensor<Nxf32>` (per output channel).
    Float operands are f32, f16 or bf16.
  }];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Tern_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tern_Dialect, mnemonic, traits>;

#endif // TERN_DIALECT
