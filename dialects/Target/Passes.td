//===- Passes.td - passes every target shares --------------*- tablegen -*-===//
#ifndef MFC_TARGET_PASSES
#define MFC_TARGET_PASSES

include "mlir/Pass/PassBase.td"

def PrepareEntry : Pass<"mfc-prepare-entry", "mlir::ModuleOp"> {
  let summary = "Record the model signature of the entry function and mark it for the host ABI";
  let description = [{
    ```
    func.func @main_graph(%x: tensor<1x?xf32> {onnx.name = "x", onnx.elem_type = 1 : i64}) -> ...
      => module attributes {mfc.signature = "mfc-signature 1\ninput\tx\t1\t2\t1,-1\n..."}
         func.func @main_graph(...) attributes {llvm.emit_c_interface}
    ```
    Runs on tensor-level IR, before bufferization changes the entry's types. The
    signature (one line per input and output: kind, ONNX name, ONNX element type, rank,
    dims with -1 for dynamic ones, optional dim names) is what the host runtime reads
    from a compiled library (`mfc_signature`); every target whose library the host
    runtime loads (CPU, CUDA) serializes it from this attribute.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
  ];
}

#endif // MFC_TARGET_PASSES
