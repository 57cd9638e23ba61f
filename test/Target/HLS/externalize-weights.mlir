// RUN: mfc-opt %s --split-input-file --mfc-hls-externalize-weights --verify-diagnostics | FileCheck %s

// Each constant global becomes a trailing argument that carries its data; a 0-d one is a
// constant at its loads.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X:.+]]: memref<2xf32>, %[[W:.+]]: memref<4x2xi8> {hls.weight = "w", hls.weight_data = dense<{{.+}}> : tensor<4x2xi8>}, %[[N:.+]]: memref<2xf32> {hls.weight = "norm", hls.weight_data = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>})
// CHECK-NOT: memref.get_global
// CHECK: memref.load %[[W]]
// CHECK: memref.load %[[N]]
// CHECK: %[[EPS:.+]] = arith.constant 9.99999997E-7 : f32
// CHECK: arith.addf %{{.+}}, %[[EPS]]
// CHECK-NOT: memref.global
memref.global "private" constant @w : memref<4x2xi8> = dense<[[1, 2], [3, 4], [5, 6], [7, 8]]>
memref.global "private" constant @norm : memref<2xf32> = dense<[1.0, 2.0]>
memref.global "private" constant @eps : memref<f32> = dense<1.0e-6>
func.func @main_graph(%x: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %w = memref.get_global @w : memref<4x2xi8>
  %n = memref.get_global @norm : memref<2xf32>
  %e = memref.get_global @eps : memref<f32>
  %a = memref.load %w[%c0, %c0] : memref<4x2xi8>
  %b = memref.load %n[%c0] : memref<2xf32>
  %eps = memref.load %e[] : memref<f32>
  %s = arith.addf %b, %eps : f32
  memref.store %s, %x[%c0] : memref<2xf32>
  return
}

// -----

// expected-error @below {{only initialized constant globals can become weights}}
memref.global "private" @state : memref<2xf32> = uninitialized
func.func @main_graph() {
  return
}
