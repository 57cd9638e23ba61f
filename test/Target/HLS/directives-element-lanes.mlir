// RUN: mfc-opt %s --split-input-file --mfc-hls-directives=element-lanes=4 | FileCheck %s
// RUN: not mfc-opt %s --split-input-file --mfc-hls-directives=element-lanes=0 2>&1 | FileCheck %s --check-prefix=BADCOUNT
// BADCOUNT: error: mfc-hls-directives: element-lanes=0

// A map (every iteration writes its own element): 4 elements a cycle, the on-chip
// arrays it moves along partitioned by 4 (the input in its last dim, the output in
// both: it moves along both); the float ports widened.
// CHECK-LABEL: func.func @main_graph
// CHECK: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v1 offset=slave bundle=io depth=8 max_widen_bitwidth=512"
// CHECK: %[[IN:.+]] = memref.alloca() {hls.partition = array<i64: 1, 4>} : memref<1x8xf32>
// CHECK-NEXT: %[[IN_NAMED:.+]] = builtin.unrealized_conversion_cast %[[IN]]
// CHECK-NEXT: emitc.verbatim "#pragma HLS ARRAY_PARTITION variable={} cyclic factor=4 dim=2" args %[[IN_NAMED]]
// CHECK-NEXT: %[[OUT:.+]] = memref.alloca() {hls.partition = array<i64: 4>} : memref<8xf32>
// CHECK-NEXT: %[[OUT_NAMED:.+]] = builtin.unrealized_conversion_cast %[[OUT]]
// CHECK-NEXT: emitc.verbatim "#pragma HLS ARRAY_PARTITION variable={} cyclic factor=4 dim=1" args %[[OUT_NAMED]]
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL factor=4"
func.func @main_graph(%x: memref<8xf32> {onnx.name = "x"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %in = memref.alloca() : memref<1x8xf32>
  %out = memref.alloca() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %in[%c0, %i] : memref<1x8xf32>
    %w = memref.load %x[%i] : memref<8xf32>
    %s = arith.mulf %v, %w : f32
    memref.store %s, %out[%i] : memref<8xf32>
  }
  return
}

// -----

// A reduction (every iteration updates one element) keeps one element a cycle, and its
// arrays whole.
// CHECK-LABEL: func.func @main_graph
// CHECK-NOT: ARRAY_PARTITION
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NOT: UNROLL
func.func @main_graph(%x: memref<8xf32> {onnx.name = "x"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %sum = memref.alloca() : memref<1xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %x[%i] : memref<8xf32>
    %a = memref.load %sum[%c0] : memref<1xf32>
    %s = arith.addf %a, %v : f32
    memref.store %s, %sum[%c0] : memref<1xf32>
  }
  return
}

// -----

// A map whose trip count does not divide by the element lanes keeps one a cycle.
// CHECK-LABEL: func.func @main_graph
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NOT: UNROLL
func.func @main_graph(%x: memref<6xf32> {onnx.name = "x"}, %y: memref<6xf32> {onnx.name = "y", bufferize.result}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  scf.for %i = %c0 to %c6 step %c1 {
    %v = memref.load %x[%i] : memref<6xf32>
    memref.store %v, %y[%i] : memref<6xf32>
  }
  return
}

// -----

// Partial sums (tern-expand-ops' reduction-partials) as many as the element lanes: the
// loop over the partials unrolled completely, the loop around it pipelined.
// CHECK-LABEL: func.func @main_graph
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NEXT: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL"
// CHECK-NOT: emitc.verbatim
func.func @main_graph(%x: memref<16xf32> {onnx.name = "x"}, %p: memref<4xf32> {onnx.name = "p", bufferize.result}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      %base = arith.muli %i, %c4 : index
      %at = arith.addi %base, %j : index
      %v = memref.load %x[%at] : memref<16xf32>
      %a = memref.load %p[%j] : memref<4xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %p[%j] : memref<4xf32>
    }
  }
  return
}

// -----

// An array dim smaller than the factor is split into its elements: factor 2, not 4.
// CHECK-LABEL: func.func @main_graph
// CHECK: emitc.verbatim "#pragma HLS ARRAY_PARTITION variable={} cyclic factor=2 dim=2"
func.func @main_graph(%x: memref<4xf32> {onnx.name = "x"}, %y: memref<4xf32> {onnx.name = "y", bufferize.result}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %pairs = memref.alloca() : memref<1x2xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %x[%i] : memref<4xf32>
    %pair = arith.divui %i, %c2 : index
    %w = memref.load %pairs[%c0, %pair] : memref<1x2xf32>
    %p = arith.mulf %v, %w : f32
    memref.store %p, %y[%i] : memref<4xf32>
  }
  return
}
