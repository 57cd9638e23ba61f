// RUN: mfc-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// tern.matmul bufferizes in place into its destination: the fresh destination becomes an
// allocation that the op writes and the function returns; no copy.
// CHECK-LABEL: func.func @fresh_destination
// CHECK-SAME: (%[[X:.+]]: memref<?x32xi8>, %[[W:.+]]: memref<64x8xi8>) -> memref<?x64xi32>
// CHECK: %[[Y:.+]] = memref.alloc(%{{.+}}) {{.*}}: memref<?x64xi32>
// CHECK-NOT: memref.copy
// CHECK: tern.matmul ins(%[[X]], %[[W]] : memref<?x32xi8>, memref<64x8xi8>) outs(%[[Y]] : memref<?x64xi32>)
// CHECK: return %[[Y]]
func.func @fresh_destination(%x: tensor<?x32xi8>, %w: tensor<64x8xi8>) -> tensor<?x64xi32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x32xi8>
  %init = tensor.empty(%rows) : tensor<?x64xi32>
  %0 = tern.matmul ins(%x, %w : tensor<?x32xi8>, tensor<64x8xi8>) outs(%init : tensor<?x64xi32>) -> tensor<?x64xi32>
  return %0 : tensor<?x64xi32>
}

// -----

// The destination's values are never read: one that is read again afterwards is not
// copied into the op's buffer, only kept apart from it.
// CHECK-LABEL: func.func @destination_read_later
// CHECK: %[[ONES:.+]] = memref.alloc() {{.*}}: memref<2x4xi32>
// CHECK: linalg.fill ins(%{{.+}} : i32) outs(%[[ONES]] : memref<2x4xi32>)
// CHECK: %[[Y:.+]] = memref.alloc() {{.*}}: memref<2x4xi32>
// CHECK-NOT: memref.copy
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : memref<2x8xi8>, memref<4x2xi8>) outs(%[[Y]] : memref<2x4xi32>)
// CHECK: return %[[Y]], %[[ONES]]
func.func @destination_read_later(%x: tensor<2x8xi8>, %w: tensor<4x2xi8>) -> (tensor<2x4xi32>, tensor<2x4xi32>) {
  %c1 = arith.constant 1 : i32
  %e = tensor.empty() : tensor<2x4xi32>
  %ones = linalg.fill ins(%c1 : i32) outs(%e : tensor<2x4xi32>) -> tensor<2x4xi32>
  %0 = tern.matmul ins(%x, %w : tensor<2x8xi8>, tensor<4x2xi8>) outs(%ones : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0, %ones : tensor<2x4xi32>, tensor<2x4xi32>
}

// -----

// tern.bitlinear bufferizes the same way.
// CHECK-LABEL: func.func @bitlinear
// CHECK: %[[Y:.+]] = memref.alloc() {{.*}}: memref<2x4xf32>
// CHECK: tern.bitlinear ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : memref<2x8xf32>, memref<8xf32>, memref<4x2xi8>, memref<4xf32>) outs(%[[Y]] : memref<2x4xf32>) {eps = 0.000000e+00 : f32}
// CHECK: return %[[Y]]
func.func @bitlinear(%x: tensor<2x8xf32>, %n: tensor<8xf32>, %w: tensor<4x2xi8>, %a: tensor<4xf32>) -> tensor<2x4xf32> {
  %init = tensor.empty() : tensor<2x4xf32>
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x8xf32>, tensor<8xf32>, tensor<4x2xi8>, tensor<4xf32>) outs(%init : tensor<2x4xf32>) {eps = 0.0 : f32} -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
