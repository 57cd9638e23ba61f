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
    Copies between contiguous buffers stay `memref.copy` and become `llvm.memcpy`.
    The strided case would otherwise become a call to `memrefCopy` from MLIR's
    runner-utils library, which a compiled model must not depend on.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif // MFC_CONVERSION_PASSES
