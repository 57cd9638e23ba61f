// RUN: mfc-opt %s --split-input-file --tern-repack=order=columns | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-repack=order=columns --tern-repack=order=rows | FileCheck %s --check-prefix=BACK

// A constant is repacked once at compile time (the byte matrix transposed), shared by
// every op that read it. Row n = 0: bytes 0x01 0x02, n = 1: 0x03 0x04, n = 2: 0x05 0x06.
// CHECK-LABEL: func.func @constant_shared
// CHECK: %[[W:.+]] = arith.constant dense_resource<w.columns> : tensor<2x3xi8>
// CHECK: tern.matmul ins(%{{.+}}, %[[W]] : tensor<4x8xi8>, tensor<2x3xi8>) outs(%{{.+}} : tensor<4x3xi32>) {layout = #tern.packed<bits = 2, order = columns>}
// CHECK: tern.bitlinear ins(%{{.+}}, %{{.+}}, %[[W]], %{{.+}} : tensor<4x8xf32>, tensor<8xf32>, tensor<2x3xi8>, tensor<1xf32>) outs(%{{.+}} : tensor<4x3xf32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<4x3xf32>
// CHECK: w.columns: "0x08000000010305020406"
// Repacking back gives the original bytes and the default layout, which is not printed.
// BACK-LABEL: func.func @constant_shared
// BACK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<4x8xi8>, tensor<3x2xi8>) outs(%{{.+}} : tensor<4x3xi32>) -> tensor<4x3xi32>
// BACK-NOT: layout
// BACK: w.columns.rows: "0x08000000010203040506"
func.func @constant_shared(%x: tensor<4x8xi8>, %xf: tensor<4x8xf32>, %n: tensor<8xf32>, %a: tensor<1xf32>,
                           %y: tensor<4x3xi32>) -> (tensor<4x3xi32>, tensor<4x3xf32>) {
  %w = arith.constant dense_resource<w> : tensor<3x2xi8>
  %0 = tern.matmul ins(%x, %w : tensor<4x8xi8>, tensor<3x2xi8>) outs(%y : tensor<4x3xi32>) -> tensor<4x3xi32>
  %init_1 = tensor.empty() : tensor<4x3xf32>
  %1 = tern.bitlinear ins(%xf, %n, %w, %a : tensor<4x8xf32>, tensor<8xf32>, tensor<3x2xi8>, tensor<1xf32>) outs(%init_1 : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %0, %1 : tensor<4x3xi32>, tensor<4x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x08000000010203040506"
    }
  }
#-}

// -----

// Weights computed at run time are transposed by linalg.transpose.
// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%{{.+}}: tensor<4x8xf32>, %[[W:.+]]: tensor<?x2xi8>
// CHECK: %[[T:.+]] = linalg.transpose ins(%[[W]] : tensor<?x2xi8>) outs(%{{.+}} : tensor<2x?xi8>) permutation = [1, 0]
// CHECK: tern.matmul ins(%{{.+}}, %[[T]] : tensor<4x8xf32>, tensor<2x?xi8>) outs(%{{.+}} : tensor<4x?xf32>) {layout = #tern.packed<bits = 2, order = columns>}
func.func @argument(%x: tensor<4x8xf32>, %w: tensor<?x2xi8>, %y: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %0 = tern.matmul ins(%x, %w : tensor<4x8xf32>, tensor<?x2xi8>) outs(%y : tensor<4x?xf32>) -> tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}

// -----

// Ops already in the order asked for are left alone.
// CHECK-LABEL: func.func @already_columns
// CHECK-NOT: linalg.transpose
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<2x3xi8>)
func.func @already_columns(%x: tensor<4x8xf32>, %w: tensor<2x3xi8>, %y: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = tern.matmul ins(%x, %w : tensor<4x8xf32>, tensor<2x3xi8>) outs(%y : tensor<4x3xf32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
