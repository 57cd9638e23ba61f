// RUN: mfc-opt %s --split-input-file --verify-diagnostics --mfc-hls-share-functions | FileCheck %s

// Two nests with one body over arrays partitioned alike: one function, kept apart from
// the top (INLINE off) and limited to one instance, which both calls use.
// CHECK-LABEL: func.func private @main_graph_nest0(
// CHECK-SAME: memref<8xf32> {hls.partition = array<i64: 4>}
// CHECK-NEXT: emitc.verbatim "#pragma HLS INLINE off"
// CHECK-NOT: func.func private @main_graph_nest1(
// CHECK-LABEL: func.func @main_graph(
// CHECK-NEXT: emitc.verbatim "#pragma HLS INTERFACE s_axilite port=return"
// CHECK-NEXT: emitc.verbatim "#pragma HLS allocation function instances=main_graph_nest0 limit=1"
// CHECK: call @main_graph_nest0(%[[A:.+]], %arg0)
// CHECK: call @main_graph_nest0(%[[B:.+]], %arg1)
func.func private @main_graph_nest0(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<8xf32>
  memref.store %v, %y[%c0] : memref<8xf32>
  return
}
func.func private @main_graph_nest1(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<8xf32>
  memref.store %v, %y[%c0] : memref<8xf32>
  return
}
func.func @main_graph(%out0: memref<8xf32>, %out1: memref<8xf32>) {
  emitc.verbatim "#pragma HLS INTERFACE s_axilite port=return"
  %a = memref.alloca() {hls.partition = array<i64: 4>} : memref<8xf32>
  %b = memref.alloca() {hls.partition = array<i64: 4>} : memref<8xf32>
  call @main_graph_nest0(%a, %out0) : (memref<8xf32>, memref<8xf32>) -> ()
  call @main_graph_nest1(%b, %out1) : (memref<8xf32>, memref<8xf32>) -> ()
  return
}

// -----

// The same body over arrays partitioned differently is different hardware: two
// functions, each called once (no allocation limit).
// CHECK-LABEL: func.func private @main_graph_nest0(
// CHECK-SAME: memref<8xf32> {hls.partition = array<i64: 4>}
// CHECK-NEXT: emitc.verbatim "#pragma HLS INLINE off"
// CHECK-LABEL: func.func private @main_graph_nest1(
// CHECK-SAME: memref<8xf32> {hls.partition = array<i64: 2>}
// CHECK-NEXT: emitc.verbatim "#pragma HLS INLINE off"
// CHECK-LABEL: func.func @main_graph(
// CHECK-NOT: allocation
// CHECK: call @main_graph_nest0(
// CHECK: call @main_graph_nest1(
func.func private @main_graph_nest0(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<8xf32>
  memref.store %v, %y[%c0] : memref<8xf32>
  return
}
func.func private @main_graph_nest1(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<8xf32>
  memref.store %v, %y[%c0] : memref<8xf32>
  return
}
func.func @main_graph(%out0: memref<8xf32>, %out1: memref<8xf32>) {
  %a = memref.alloca() {hls.partition = array<i64: 4>} : memref<8xf32>
  %b = memref.alloca() {hls.partition = array<i64: 2>} : memref<8xf32>
  call @main_graph_nest0(%a, %out0) : (memref<8xf32>, memref<8xf32>) -> ()
  call @main_graph_nest1(%b, %out1) : (memref<8xf32>, memref<8xf32>) -> ()
  return
}

// -----

// expected-error @+1 {{no entry function @main_graph}}
module {
  func.func @forward() {
    return
  }
}
