//===- Passes.td - the HLS target's passes -----------------*- tablegen -*-===//
#ifndef MFC_TARGET_HLS_PASSES
#define MFC_TARGET_HLS_PASSES

include "mlir/Pass/PassBase.td"

def HLSSpecializeShapes : Pass<"mfc-hls-specialize-shapes", "mlir::ModuleOp"> {
  let summary = "Give the entry's dynamic dims a fixed size and propagate the static shapes";
  let description = [{
    ```
    func @entry(%x: tensor<?x8xf32>) -> tensor<?x4xf32>
      => func @entry(%x': tensor<1x8xf32>) -> tensor<1x4xf32>
         (%x = tensor.cast %x'; canonicalization folds the casts into the ops; the results
          take the static type their values have)
    ```
    A hardware design has fixed sizes: the HLS top function is one decode step of
    `dim-size` tokens (batch and sequence dims of the ONNX graph, whatever they are
    named). A result that stays dynamic after canonicalization is an error naming it.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
    Option<"dimSize", "dim-size", "int64_t", /*default=*/"1",
           "The size every dynamic dim of the entry's inputs takes">,
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def HLSExternalizeWeights : Pass<"mfc-hls-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Turn constant globals into arguments of the entry (weights read over m_axi)";
  let description = [{
    ```
    memref.global "private" constant @w : memref<4x2xi8> = dense<...>
    func @entry(%x, %y) { %w = memref.get_global @w ... }
      => func @entry(%x, %y, %w: memref<4x2xi8> {hls.weight = "w", hls.weight_data = dense<...>})
    ```
    On an FPGA card the packed weights live in DDR/HBM and stream into the kernel through
    AXI master ports; the top function takes them as arguments and the project ships
    their data (written from `hls.weight_data` by the serializer) for the testbench.
    A 0-d constant (an epsilon) is no port: its loads become arith.constant.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def HLSSplitChannels : Pass<"mfc-hls-split-channels", "mlir::ModuleOp"> {
  let summary = "Spread each packed weight over memory channels, its rows computed C at a time";
  let description = [{
    ```
    func @entry(..., %w: memref<NxBxi8> {hls.weight = "w", hls.weight_data = D})
    scf.for %row = 0 to N {                 (a ternary product's rows)
      ... scf.for %byte { ... memref.load %w[%row, %byte] ... } ...
    }
      => func @entry(..., %w.ch0: memref<(N/C)xBxi8> {hls.weight = "w.ch0", hls.channel = 0,
                                                        hls.weight_data = rows 0, C, 2C.. of D},
                     ..., %w.chC-1: ...)
         scf.for %row = 0 to N step C {     (unrolled and jammed by C)
           ... scf.for %byte {
                 ... memref.load %w.ch0[%row / C, %byte] ...         (row %row)
                 ... memref.load %w.chC-1[%row / C, %byte] ...       (row %row + C - 1)
               } ...
         }
    ```
    One AXI port delivers one 512-bit beat a cycle, a small part of an HBM card's
    bandwidth (19.2 GB/s of 460 at 300 MHz): a product whose weights sit on C ports, one
    per memory channel (`hls.channel`, its own bundle in mfc-hls-directives, its own HBM
    pseudo-channel in the project's link.cfg), reads C beats a cycle, and computes C rows
    in the pipelined byte loop. Channel c holds rows c, c + C, ... (the unroll-and-jam
    order). Jamming is legal when the rows are independent: every buffer the row loop
    writes is accessed in it only at the row's own index in one dim, and the loop holds
    no other side effect. A weight whose rows do not divide by C, or whose reads are not
    all in one such row loop, stays one port.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
    Option<"channels", "channels", "unsigned", /*default=*/"1",
           "Memory channels each packed weight is spread over">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def HLSPrepareEmission : Pass<"mfc-hls-prepare-emission", "mlir::ModuleOp"> {
  let summary = "Make what EmitC has no conversion for expressible: math calls, unaligned arrays";
  let description = [{
    ```
    %y = math.sqrt %x : f32           => %y = emitc.call_opaque "mfc_sqrt"(%x)
    %m = arith.maximumf %a, %b : f32  => %m = emitc.call_opaque "mfc_maximumf"(%a, %b)
    ```
    for math.sqrt, rsqrt, exp, log, tanh, absf, roundeven, floor, ceil and
    arith.maximumf/minimumf/maxnumf/minnumf. The project's `mfc_hls_math.h` defines each
    with the op's semantics (NaN propagation of maximumf, round-half-even of roundeven)
    on the C math library, which Vitis HLS maps to its `hls_math` cores. And
    ```
    memref.alloca() {alignment = 64} : memref<1x8xf32>  => memref.alloca() : memref<1x8xf32>
    ```
    (a C array declaration carries no alignment; memref-to-emitc rejects one that does).
    Runs last before convert-to-emitc.
  }];
  let dependentDialects = ["mlir::emitc::EmitCDialect"];
}

def HLSWeightWords : Pass<"mfc-hls-weight-words", "mlir::ModuleOp"> {
  let summary = "Read packed ternary weights as 512-bit words: one AXI beat, 256 codes";
  let description = [{
    An int8 weight argument of the top function (`hls.weight`: packed 2-bit codes, B
    bytes a row) becomes an array of `ap_uint<512>` words over its bytes in row-major
    order, and each byte read goes through the project's `mfc_weight_byte`:
    ```
    %arg : !emitc.array<NxBxi8> {hls.weight = ...}
    %p = emitc.subscript %arg[%i, %j] ; %b = emitc.load %p
      => %arg : !emitc.array<Wx!emitc.opaque<"ap_uint<512>">>   (W = ceil(N * B / 64))
         %b = emitc.call_opaque "mfc_weight_byte"(%arg, %i, %j) {args = [0, 1, 2, B]}
    ```
    so that the port carries whole memory beats and the lanes of a product take their
    codes out of one word (`.range()` in `mfc_hls_math.h`). A weight passed to a function
    (mfc-hls-share-functions' loop nests) converts that function's argument the same way,
    once however many calls pass it one. Weights are only read or passed on; any other use
    is an error. Runs on EmitC, after convert-to-emitc.
  }];
  let dependentDialects = ["mlir::emitc::EmitCDialect"];
}

def HLSDirectives : Pass<"mfc-hls-directives", "mlir::ModuleOp"> {
  let summary = "Place HLS pragmas: pipelined innermost loops, AXI interfaces on the top function";
  let description = [{
    ```
    scf.for ... { (no loop inside) }   => scf.for ... { emitc.verbatim "#pragma HLS PIPELINE II=1" ... }
    func @entry(%x: memref<1x8xf32>, ..., %w: memref<4x2xi8> {hls.weight})
      => emitc.verbatim "#pragma HLS INTERFACE m_axi port=w offset=slave bundle=weights depth=8"
         emitc.verbatim "#pragma HLS INTERFACE m_axi port=x offset=slave bundle=io depth=8"
         emitc.verbatim "#pragma HLS INTERFACE s_axilite port=return"
    ```
    Ports are named after the C++ emitter's argument names (v1, v2, ...: the order of the
    entry's arguments), which the directives pass fixes by naming them itself
    (`port=` uses the same scheme). `depth=` is the element count, which cosimulation
    needs for unsized pointers. Innermost loops (the accumulation over a row of packed
    codes, element-wise loops) get II=1. The ports, in order, are recorded on the module
    as `hls.ports` (name, role input/output/weight, buffer type, a weight's data): what
    the project writer makes the header, the testbench and the weight files from.

    With `lanes` = L > 1 (a multiple of 4), every ternary product takes L codes per cycle:
    ```
    scf.for %byte ... {                 (the loop over a row's packed bytes)
      scf.for %code = 0 to 4 {          (the codes of a byte; loads a weight port)
        ... memref.load %act[.., f(%byte, %code)] : memref<..xi8> (an on-chip array)
    => #pragma HLS PIPELINE II=1 and #pragma HLS UNROLL factor=L/4 in the byte loop,
       #pragma HLS UNROLL in the code loop,
       #pragma HLS ARRAY_PARTITION variable=act cyclic factor=L dim=<last> after act's
       declaration, and max_widen_bitwidth=512 on the float weights' AXI ports
    ```
    Packed int8 weight ports count their depth in 512-bit words: mfc-hls-weight-words
    makes them arrays of `ap_uint<512>` after the conversion to EmitC.
    The products' integer accumulations add a contribution per code (tern-lower-matmul),
    so the unrolled adds form a sum the tool balances into a tree. Rows computed side by
    side (mfc-hls-split-channels: one code loop reads several channels' ports) index the
    accumulators differently: those dims are partitioned by the rows.

    With `element-lanes` = V > 1, an element-wise innermost loop (norms, quantization,
    gates) whose trip count divides by V and whose iterations are independent (every
    buffer it writes is indexed by its induction variable) takes V elements a cycle:
    ```
    scf.for %i ... { ... memref.load %a[.., %i] ... memref.store .., %b[.., %i] }
    => #pragma HLS PIPELINE II=1 and #pragma HLS UNROLL factor=V in the loop,
       #pragma HLS ARRAY_PARTITION ... cyclic factor=V on the dims of %a and %b it moves
       along, and max_widen_bitwidth=512 on the float ports
    ```
    Reductions (a sum of squares, an absmax: every iteration updates one element) keep
    one element a cycle. An array that several of these partition takes the largest
    factor in each dim.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
    Option<"lanes", "lanes", "unsigned", /*default=*/"1",
           "Ternary codes each product consumes per cycle (1, or a multiple of 4)">,
    Option<"elementLanes", "element-lanes", "unsigned", /*default=*/"1",
           "Elements each element-wise loop with independent iterations takes per cycle">,
  ];
  let dependentDialects = ["mlir::emitc::EmitCDialect"];
}

def HLSShareFunctions : Pass<"mfc-hls-share-functions", "mlir::ModuleOp"> {
  let summary = "One hardware instance per distinct loop nest: equivalent sub-functions merged and shared";
  let description = [{
    Runs after mfc-outline-loop-nests, which made each loop nest of the top function a
    function of its own with its arrays and weight ports as arguments:
    ```
    func @top(..) { %a = memref.alloca() {hls.partition = array<i64: 1, 16>}
                    call @top_nest3(%a, %w0)  ...  call @top_nest9(%b, %w5) }
    => the argument receiving %a gets {hls.partition = array<i64: 1, 16>} (equal loop
       nests over differently partitioned arrays are different hardware);
       equivalent functions merge (mfc::mergeEquivalentFunctions): @top_nest9 => @top_nest3;
       each sub-function starts with `#pragma HLS INLINE off`, and the top function with
       `#pragma HLS allocation function instances=top_nest3 limit=1` for each one it
       calls more than once
    ```
    so that the loop nests of all layers of one shape are one RTL block, their float
    cores and ternary lanes built once and used by each layer in turn: layers run one
    after the other, so sharing costs no cycles. Arrays stay partitioned where they are
    declared (the top function); the tool carries the partitioning to the sub-functions'
    array arguments.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main_graph\"",
           "The model's entry function">,
  ];
  let dependentDialects = ["mlir::emitc::EmitCDialect"];
}

#endif // MFC_TARGET_HLS_PASSES
