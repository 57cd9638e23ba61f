// RUN: mfc-opt %s --split-input-file --mfc-cuda-device-memory --verify-diagnostics | FileCheck %s

// Weights come from the runtime's device copy (made once, kept), inputs are copied to
// device memory at entry, buffers in between are device memory, host copies become
// kernels (linalg.copy), results are copied back to host buffers, and the GPU buffers
// are freed; device-side ops run on a stream, waited for.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X:.+]]: memref<?x8xf32>) -> memref<?x8xf32>
// CHECK: %[[G:.+]] = memref.get_global @w : memref<1x8xf32>
// CHECK: %[[GD:.+]] = memref.cast %[[G]] : memref<1x8xf32> to memref<?x?xf32>
// CHECK: %[[WD:.+]] = call @mfcCudaResident_f32_2(%[[GD]], %c32) : (memref<?x?xf32>, index) -> memref<?x?xf32>
// CHECK: %[[W:.+]] = memref.cast %[[WD]] : memref<?x?xf32> to memref<1x8xf32>
// CHECK: %[[XD:.+]], %{{.+}} = gpu.alloc async [%{{.+}}] (%{{.+}}) : memref<?x8xf32>
// CHECK: gpu.memcpy async [%{{.+}}] %[[XD]], %[[X]]
// CHECK: %[[Y:.+]], %{{.+}} = gpu.alloc async [%{{.+}}] (%{{.+}}) : memref<?x8xf32>
// CHECK: linalg.copy ins(%[[W]] : memref<1x8xf32>) outs(%[[Y]] : memref<?x8xf32>)
// CHECK: %[[R:.+]] = memref.alloc(%{{.+}}) : memref<?x8xf32>
// CHECK: gpu.memcpy async [%{{.+}}] %[[R]], %[[Y]]
// CHECK-NOT: gpu.dealloc async [%{{.+}}] %[[W]]
// CHECK-DAG: gpu.dealloc async [%{{.+}}] %[[XD]]
// CHECK-DAG: gpu.dealloc async [%{{.+}}] %[[Y]]
// CHECK: return %[[R]]
// CHECK: func.func private @mfcCudaResident_f32_2(memref<?x?xf32>, index) -> memref<?x?xf32> attributes {llvm.emit_c_interface}
memref.global "private" constant @w : memref<1x8xf32> = dense<1.0>
func.func @main_graph(%x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %w = memref.get_global @w : memref<1x8xf32>
  %y = memref.alloc(%n) : memref<?x8xf32>
  memref.copy %w, %y : memref<1x8xf32> to memref<?x8xf32>
  return %y : memref<?x8xf32>
}

// -----

// A buffer that host code reads element by element (here through a loop-carried view)
// is managed memory, which the host reaches too.
// CHECK-LABEL: func.func @main_graph
// CHECK: %[[S:.+]] = gpu.alloc  host_shared () : memref<4xindex>
// CHECK: scf.for
// CHECK: memref.load
func.func @main_graph(%x: memref<4xf32>) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %s = memref.alloc() : memref<4xindex>
  %last = scf.for %i = %c0 to %c4 step %c1 iter_args(%b = %s) -> (memref<4xindex>) {
    scf.yield %b : memref<4xindex>
  }
  %v = memref.load %last[%c0] : memref<4xindex>
  memref.dealloc %s : memref<4xindex>
  return %v : index
}

// -----

// expected-error @below {{no entry function @main_graph}}
module {
  func.func @other() {
    return
  }
}

// -----

// A load inside a linalg op's body (a gather from a table) runs in that op's kernel: the
// table is the runtime's device copy, not managed memory.
// CHECK-LABEL: func.func @main_graph
// CHECK-NOT: host_shared
// CHECK: %[[T:.+]] = memref.cast %{{.+}} : memref<?x?xf32> to memref<16x4xf32>
// CHECK: memref.load %[[T]]
memref.global "private" constant @table : memref<16x4xf32> = dense<1.0>
func.func @main_graph(%ids: memref<2xindex>) -> memref<2x4xf32> {
  %table = memref.get_global @table : memref<16x4xf32>
  %y = memref.alloc() : memref<2x4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%ids : memref<2xindex>) outs(%y : memref<2x4xf32>) {
  ^bb0(%id: index, %out: f32):
    %j = linalg.index 1 : index
    %v = memref.load %table[%id, %j] : memref<16x4xf32>
    linalg.yield %v : f32
  }
  return %y : memref<2x4xf32>
}

// -----

// Loads and stores in a parallel loop (a lowered MLGRU scan, looping over time in each
// thread through a view) run in that loop's kernel: device memory, not managed.
// CHECK-LABEL: func.func @main_graph
// CHECK-NOT: host_shared
// CHECK: %[[H:[^,]+]], %{{.+}} = gpu.alloc async
// CHECK: scf.parallel
// CHECK: memref.subview %[[H]]
// CHECK: scf.for
// CHECK: memref.store
func.func @main_graph(%x: memref<3x8xf32>) -> memref<3x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %h = memref.alloc() : memref<3x8xf32>
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %column = memref.subview %h[0, %j] [3, 1] [1, 1] : memref<3x8xf32> to memref<3x1xf32, strided<[8, 1], offset: ?>>
    scf.for %t = %c0 to %c3 step %c1 {
      %v = memref.load %x[%t, %j] : memref<3x8xf32>
      memref.store %v, %column[%t, %c0] : memref<3x1xf32, strided<[8, 1], offset: ?>>
    }
    scf.reduce
  }
  return %h : memref<3x8xf32>
}
