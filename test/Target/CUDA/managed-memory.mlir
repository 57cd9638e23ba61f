// RUN: mfc-opt %s --split-input-file --mfc-cuda-managed-memory --verify-diagnostics | FileCheck %s

// Inputs and weights are copied into managed memory at entry, every buffer in between
// is managed, and results are copied out to host buffers; the managed ones are freed.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X:.+]]: memref<?x8xf32>) -> memref<?x8xf32>
// CHECK: %[[G:.+]] = memref.get_global @w : memref<1x8xf32>
// CHECK: %[[W:.+]] = gpu.alloc  host_shared () : memref<1x8xf32>
// CHECK: memref.copy %[[G]], %[[W]]
// CHECK: %[[XM:.+]] = gpu.alloc  host_shared (%{{.+}}) : memref<?x8xf32>
// CHECK: memref.copy %[[X]], %[[XM]]
// CHECK: %[[Y:.+]] = gpu.alloc  host_shared (%{{.+}}) : memref<?x8xf32>
// CHECK: memref.copy %[[W]], %[[Y]]
// CHECK: %[[T:.+]] = gpu.alloc  host_shared (%{{.+}}) : memref<?x8xf32>
// CHECK: %[[S:.+]] = gpu.wait async
// CHECK: gpu.dealloc async [%[[S]]] %[[T]]
// CHECK: %[[R:.+]] = memref.alloc(%{{.+}}) : memref<?x8xf32>
// CHECK: memref.copy %[[Y]], %[[R]]
// CHECK-DAG: gpu.dealloc async [%{{.+}}] %[[W]]
// CHECK-DAG: gpu.dealloc async [%{{.+}}] %[[XM]]
// CHECK-DAG: gpu.dealloc async [%{{.+}}] %[[Y]]
// CHECK: return %[[R]]
memref.global "private" constant @w : memref<1x8xf32> = dense<1.0>
func.func @main_graph(%x: memref<?x8xf32>) -> memref<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %w = memref.get_global @w : memref<1x8xf32>
  %y = memref.alloc(%n) : memref<?x8xf32>
  memref.copy %w, %y : memref<1x8xf32> to memref<?x8xf32>
  %t = memref.alloc(%n) : memref<?x8xf32>
  memref.dealloc %t : memref<?x8xf32>
  return %y : memref<?x8xf32>
}

// -----

// expected-error @below {{no entry function @main_graph}}
module {
  func.func @other() {
    return
  }
}
