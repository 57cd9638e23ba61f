//===- TernAttrs.td - tern dialect attributes --------------*- tablegen -*-===//
#ifndef TERN_ATTRS
#define TERN_ATTRS

include "TernDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Tern_PackedOrder : I32EnumAttr<"PackedOrder", "how packed bytes are laid out", [
    I32EnumAttrCase<"rows", 0>,
    I32EnumAttrCase<"columns", 1>]> {
  let cppNamespace = "::mfc::tern";
  let genSpecializedAttr = 0;
}
def Tern_PackedOrderAttr : EnumAttr<Tern_Dialect, Tern_PackedOrder, "order">;

def Tern_PackedAttr : AttrDef<Tern_Dialect, "Packed"> {
  let mnemonic = "packed";
  let summary = "the layout of packed ternary weights";
  let description = [{
    Ternary weights `T[n, k]` in {-1, 0, +1} (N outputs, K inputs) are stored `bits`
    (= 2) to a code, four codes per byte: weight k is in bits `[2 * (k % 4), 2 * (k % 4) + 1]`
    of its byte, as a 2-bit two's complement code (`0b00` = 0, `0b01` = +1,
    `0b11` = -1; `0b10` is invalid); codes past K are 0. `order` says where the byte
    holding `T[n, 4 * b .. 4 * b + 3]` lives:

    - `rows`: `weights[n, b]`, an `N x ceil(K/4)` tensor; a row holds one output's
      weights (what the CPU micro-kernel streams).
    - `columns`: `weights[b, n]`, a `ceil(K/4) x N` tensor; consecutive outputs sit side
      by side (what GPU threads that own one output each read coalesced).

    Both orders hold the same bytes; `tern-repack` converts between them.

    ```mlir
    #tern.packed<bits = 2, order = rows>
    ```
  }];
  let parameters = (ins "int64_t":$bits, "PackedOrder":$order);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  // Lets DefaultValuedAttr<Tern_PackedAttr, "..."> take a C++ expression.
  let constBuilderCall = "$0";
  let extraClassDeclaration = [{
    /// 2-bit codes in rows: the layout tern-detect-ternary-matmul writes.
    static PackedAttr getDefault(::mlir::MLIRContext *context);
    /// The dims of the weights that count outputs and packed bytes of one output.
    unsigned getOutputDim() const { return getOrder() == PackedOrder::rows ? 0 : 1; }
    unsigned getByteDim() const { return 1 - getOutputDim(); }
    int64_t getNumOutputs(::mlir::ShapedType weights) const {
      return weights.getDimSize(getOutputDim());
    }
    /// The weights' shape for `outputs` outputs of `inputs` ternary weights each.
    ::llvm::SmallVector<int64_t, 2> getShape(int64_t outputs, int64_t inputs) const;
  }];
}

#endif // TERN_ATTRS
