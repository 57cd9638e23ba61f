//===- Passes.td - mfc conversion passes -------------------*- tablegen -*-===//
#ifndef MFC_CONVERSION_PASSES
#define MFC_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def StridedCopyToLoops : Pass<"mfc-strided-copy-to-loops", "mlir::func::FuncOp"> {
  let summary = "Lower memref.copy between non-contiguous buffers to loops";
  let description = [{
    ```
    memref.copy %src, %dst   (either side with a non-identity layout)
      => linalg.copy ins(%src) outs(%dst)   (then loops, with the other linalg ops)
    ```
    Copies between contiguous buffers stay `memref.copy` and become `llvm.memcpy`,
    unless `all` is set (a target without memcpy: HLS C++, where a copy is a loop the
    tool pipelines). The strided case would otherwise become a call to `memrefCopy`
    from MLIR's runner-utils library, which a compiled model must not depend on.
  }];
  let options = [
    Option<"all", "all", "bool", /*default=*/"false", "Contiguous copies too">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def OutlineLoopNests : Pass<"mfc-outline-loop-nests", "mlir::ModuleOp"> {
  let summary = "Outline each top-level loop nest of a function into a function of its own";
  let description = [{
    ```
    func @f(...) { scf.for ... { <nest 1> }  scf.for ... { <nest 2> } ... }
      => func @f(...) { call @f_nest0(<captured values>)  call @f_nest1(...) ... }
         func private @f_nest0(...) attributes {llvm.no_inline} { scf.for ... }
    ```
    Applies to loop nests without results (the bufferized, looped form of linalg ops).
    An imported model is one function holding every layer; LLVM's loop passes update
    dominator trees per loop across the whole function, which grows quadratically with
    the model. Small functions keep compile time linear in the number of layers.
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::scf::SCFDialect"];
}

#endif // MFC_CONVERSION_PASSES
