// RUN: mfc-opt %s --split-input-file --mfc-hls-directives --verify-diagnostics | FileCheck %s

// Innermost loops are pipelined; every argument is an AXI master port (weights on a
// bundle of their own) with its depth (packed codes: in 512-bit words, see
// mfc-hls-weight-words); control over AXI-lite; the ports are recorded.
// CHECK: module attributes {hls.ports = [{name = "x", role = "input", type = memref<1x8xf32>}, {name = "y", role = "output", type = memref<1x4xf32>}, {data = dense<1> : tensor<4x2xi8>, name = "w", role = "weight", type = memref<4x2xi8>}]}
// CHECK-LABEL: func.func @main_graph
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v1 offset=slave bundle=io depth=8"
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v2 offset=slave bundle=io depth=4"
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v3 offset=slave bundle=weights depth=1"
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE s_axilite port=return"
// CHECK: scf.for
// CHECK-NOT: emitc.verbatim
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
func.func @main_graph(%x: memref<1x8xf32> {onnx.name = "x"}, %y: memref<1x4xf32> {onnx.name = "y", bufferize.result},
                      %w: memref<4x2xi8> {hls.weight = "w", hls.weight_data = dense<1> : tensor<4x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %x[%c0, %k] : memref<1x8xf32>
      memref.store %v, %y[%c0, %i] : memref<1x4xf32>
    }
  }
  return
}

// -----

// expected-error @below {{argument 0 is no statically shaped buffer}}
func.func @main_graph(%x: memref<?xf32>) {
  return
}
