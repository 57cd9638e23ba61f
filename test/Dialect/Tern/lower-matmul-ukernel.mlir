// RUN: mfc-opt %s --split-input-file --tern-lower-matmul=ukernels=true | FileCheck %s

// int8 activations call the micro-kernel on buffers: rows = leading dims flattened.
// CHECK-LABEL: func.func @batched
// CHECK-SAME: (%[[X:.+]]: tensor<2x?x8xi8>, %[[W:.+]]: tensor<4x2xi8>)
// CHECK: %[[ROWS:.+]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x?x8xi8> into tensor<?x8xi8>
// CHECK: %[[XB:.+]] = bufferization.to_buffer %[[ROWS]] read_only
// CHECK: %[[WB:.+]] = bufferization.to_buffer %[[W]] read_only
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) : memref<2x?x4xi32>
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[YB:.+]] = memref.cast %[[FLAT]] : memref<?x4xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
// CHECK: call @mfc_ternary_matmul_i8(%{{.+}}, %{{.+}}, %[[YB]])
// CHECK: %[[Y:.+]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]] : tensor<2x?x4xi32>
// CHECK: func.func private @mfc_ternary_matmul_i8(memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
func.func @batched(%x: tensor<2x?x8xi8>, %w: tensor<4x2xi8>) -> tensor<2x?x4xi32> {
  %0 = tern.matmul %x, %w : tensor<2x?x8xi8>, tensor<4x2xi8> -> tensor<2x?x4xi32>
  return %0 : tensor<2x?x4xi32>
}

// -----

// A single token: [K] -> [1, K] rows, [1, N] -> [N].
// CHECK-LABEL: func.func @vector
// CHECK: tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [1, 8] : tensor<8xi8> into tensor<1x8xi8>
// CHECK: memref.alloc() : memref<1x4xi32>
// CHECK: call @mfc_ternary_matmul_i8
// CHECK: tensor.collapse_shape %{{.+}} {{\[}}[0, 1]] : tensor<1x4xi32> into tensor<4xi32>
func.func @vector(%x: tensor<8xi8>, %w: tensor<4x2xi8>) -> tensor<4xi32> {
  %0 = tern.matmul %x, %w : tensor<8xi8>, tensor<4x2xi8> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Float activations keep the multiply-free linalg.generic; no kernel is declared.
// CHECK-LABEL: func.func @float_stays_generic
// CHECK-NOT: call
// CHECK: linalg.generic
// CHECK-NOT: arith.mulf
// CHECK-NOT: func.func private @mfc_ternary_matmul_i8
func.func @float_stays_generic(%x: tensor<3x8xf32>, %w: tensor<4x2xi8>) -> tensor<3x4xf32> {
  %0 = tern.matmul %x, %w : tensor<3x8xf32>, tensor<4x2xi8> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
