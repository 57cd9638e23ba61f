// RUN: mfc-opt %s --split-input-file --mfc-hls-directives=lanes=8 | FileCheck %s
// RUN: not mfc-opt %s --split-input-file --mfc-hls-directives=lanes=6 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mfc-hls-directives: lanes=6 is neither 1 nor a multiple of 4 (the codes of a byte)

// lanes=8: the loop over a byte's 4 codes (it loads a weight port) is unrolled, the loop
// over the bytes pipelined and unrolled by 2, the on-chip array read at the moving index
// partitioned (a cast names it for the emitter); the packed weight port counts 512-bit
// words (mfc-hls-weight-words reads it so; no widening). The accumulator's index does not
// move with the lanes: no partition.
// CHECK-LABEL: func.func @main_graph
// CHECK: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v1 offset=slave bundle=weights depth=1"
// CHECK: %[[ACT:.+]] = memref.alloca() {hls.partition = array<i64: 1, 8>} : memref<1x16xi8>
// CHECK-NEXT: %[[NAMED:.+]] = builtin.unrealized_conversion_cast %[[ACT]] : memref<1x16xi8> to !emitc.array<1x16xi8>
// CHECK-NEXT: emitc.verbatim "#pragma HLS ARRAY_PARTITION variable={} cyclic factor=8 dim=2" args %[[NAMED]] : !emitc.array<1x16xi8>
// CHECK: %[[ACC:.+]] = memref.alloca() : memref<4xi32>
// CHECK-NOT: ARRAY_PARTITION
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL factor=2"
// CHECK-NEXT: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL"
func.func @main_graph(%w: memref<4x4xi8> {hls.weight = "w", hls.weight_data = dense<1> : tensor<4x4xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %act = memref.alloca() : memref<1x16xi8>
  %acc = memref.alloca() : memref<4xi32>
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      scf.for %k = %c0 to %c4 step %c1 {
        %byte = memref.load %w[%i, %j] : memref<4x4xi8>
        %at = affine.apply affine_map<(d0, d1) -> (d0 * 4 + d1)>(%j, %k)
        %x = memref.load %act[%c0, %at] : memref<1x16xi8>
        %a = memref.load %acc[%i] : memref<4xi32>
        %sum = arith.addi %byte, %x : i8
        %wide = arith.extsi %sum : i8 to i32
        %next = arith.addi %a, %wide : i32
        memref.store %next, %acc[%i] : memref<4xi32>
      }
    }
  }
  return
}

// -----

// lanes=8 leaves loops that load no weight port (element-wise ones) as they were.
// CHECK-LABEL: func.func @main_graph
// CHECK: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NOT: UNROLL
func.func @main_graph(%x: memref<4xf32> {onnx.name = "x"}, %y: memref<4xf32> {onnx.name = "y", bufferize.result}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %k = %c0 to %c4 step %c1 {
    %v = memref.load %x[%k] : memref<4xf32>
    memref.store %v, %y[%k] : memref<4xf32>
  }
  return
}

// -----

// Two rows side by side (mfc-hls-split-channels): the byte loop's pragmas once, the
// accumulator, which the rows index %i and %i + 1, partitioned by the two rows so that
// each row's sum has its own register; each channel's weight port on its own bundle.
// CHECK-LABEL: func.func @main_graph
// CHECK: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v1 offset=slave bundle=weights0 depth=1"
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE m_axi port=v2 offset=slave bundle=weights1 depth=1"
// CHECK: %[[ACC:.+]] = memref.alloca() {hls.partition = array<i64: 2>} : memref<4xi32>
// CHECK-NEXT: %[[NAMED:.+]] = builtin.unrealized_conversion_cast %[[ACC]]
// CHECK-NEXT: emitc.verbatim "#pragma HLS ARRAY_PARTITION variable={} cyclic factor=2 dim=1" args %[[NAMED]]
// CHECK: scf.for
// CHECK-NEXT: arith.addi
// CHECK-NEXT: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS PIPELINE II=1"
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL factor=2"
// CHECK-NEXT: scf.for
// CHECK-NEXT: emitc.verbatim "#pragma HLS UNROLL"
// CHECK-NOT: emitc.verbatim
func.func @main_graph(%w0: memref<2x4xi8> {hls.weight = "w.ch0", hls.channel = 0 : i32, hls.weight_data = dense<1> : tensor<2x4xi8>},
                      %w1: memref<2x4xi8> {hls.weight = "w.ch1", hls.channel = 1 : i32, hls.weight_data = dense<1> : tensor<2x4xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %acc = memref.alloca() : memref<4xi32>
  scf.for %i = %c0 to %c4 step %c2 {
    %next = arith.addi %i, %c1 : index
    scf.for %j = %c0 to %c4 step %c1 {
      scf.for %k = %c0 to %c4 step %c1 {
        %half = arith.divsi %i, %c2 : index
        %b0 = memref.load %w0[%half, %j] : memref<2x4xi8>
        %a0 = memref.load %acc[%i] : memref<4xi32>
        %s0 = arith.addi %a0, %a0 : i32
        memref.store %s0, %acc[%i] : memref<4xi32>
        %b1 = memref.load %w1[%half, %j] : memref<2x4xi8>
        %a1 = memref.load %acc[%next] : memref<4xi32>
        %s1 = arith.addi %a1, %a1 : i32
        memref.store %s1, %acc[%next] : memref<4xi32>
      }
    }
  }
  return
}
