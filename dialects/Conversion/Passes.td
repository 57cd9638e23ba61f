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

def MergeEquivalentFunctions : Pass<"mfc-merge-equivalent-functions", "mlir::ModuleOp"> {
  let summary = "Replace private functions with equivalent bodies by one of them";
  let description = [{
    ```
    func private @f_nest3(%x: memref<1x1024xf32>, %w: memref<..xi8>) { <body> }
    func private @f_nest9(%x: memref<1x1024xf32>, %w: memref<..xi8>) { <body> }
      => func private @f_nest3(...) { <body> }   (every use of @f_nest9 now names @f_nest3)
    ```
    Two private functions are equivalent when they have the same type and attributes
    (the symbol name aside) and their bodies are equal op by op, values matched by
    position and locations ignored. The layers of a model all have the same shapes, and
    mfc-outline-loop-nests passes each nest its weights as arguments: after this pass a
    model of L layers holds each layer's loop nests once instead of L times, so the code
    size and the time of every later pass (LLVM's above all) no longer grow with depth.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numMerged", "merged-functions", "Functions replaced by an equivalent one">,
  ];
}

def SplitReductions : Pass<"mfc-split-reductions", "mlir::func::FuncOp"> {
  let summary = "Reduce over a last dim in strided partials, then over the partials";
  let description = [{
    ```
    %r = linalg.generic (d.., k) -> (d.., 0) ["parallel".., "reduction"]
           ins(%x : tensor<..xKxf32>) outs(%init : tensor<..x1xf32>)
           { %e = f(%in); %n = combine(%e, %acc); yield %n }
      => %s = tensor.expand_shape %x into tensor<..x(K/P)xPxf32>
         %p = linalg.generic (d.., i, j) -> (d.., j) ["parallel".., "reduction", "parallel"]
                ins(%s) outs(fill(neutral of combine) : tensor<..xPxf32>) { the same body }
         %r = linalg.generic (d.., j) -> (d.., 0) ["parallel".., "reduction"]
                ins(%p) outs(%init) { %n = combine(%in, %acc); yield %n }
    ```
    for a reduction over the last dim, K static, P | K, K > P, whose body folds one value
    into the accumulator with an associative float combiner (addf, maximumf, minimumf,
    maxnumf, minnumf) used nowhere else. Partial j takes elements j, j + P, ...: a float
    sum taken one element after the other is a chain no vector unit or pipelined adder
    can shorten, P independent ones are P lanes (a CPU's vector, an FPGA's unrolled
    adders, whose pipelines then hide the adder's latency). The CPU and HLS pipelines
    run it with the same P (`kReductionPartials`), so that their float results stay
    equal; the init joins once, in the last reduction.
  }];
  let options = [
    Option<"partials", "partials", "unsigned", /*default=*/"64",
           "Strided partial reductions (at least 2)">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // MFC_CONVERSION_PASSES
