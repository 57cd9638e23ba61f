// RUN: mfc-opt %s --split-input-file --mfc-cpu-lower-to-ukernels | FileCheck %s

// int8 activations call the micro-kernel: rows = leading dims merged in place.
// CHECK-LABEL: func.func @batched
// CHECK-SAME: (%[[X:.+]]: memref<2x?x8xi8>, %[[W:.+]]: memref<4x2xi8>, %[[Y:.+]]: memref<2x?x4xi32>)
// CHECK: %[[XROWS:.+]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<2x?x8xi8> into memref<?x8xi8>
// CHECK: %[[YROWS:.+]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2]] : memref<2x?x4xi32> into memref<?x4xi32>
// CHECK: %[[XB:.+]] = memref.cast %[[XROWS]] : memref<?x8xi8> to memref<?x?xi8, strided<[?, ?], offset: ?>>
// CHECK: %[[WB:.+]] = memref.cast %[[W]] : memref<4x2xi8> to memref<?x?xi8, strided<[?, ?], offset: ?>>
// CHECK: %[[YB:.+]] = memref.cast %[[YROWS]] : memref<?x4xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
// CHECK: call @mfc_ternary_matmul_i8(%[[XB]], %[[WB]], %[[YB]])
// CHECK-NOT: tern.matmul
// CHECK: func.func private @mfc_ternary_matmul_i8(memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
func.func @batched(%x: memref<2x?x8xi8>, %w: memref<4x2xi8>, %y: memref<2x?x4xi32>) {
  tern.matmul ins(%x, %w : memref<2x?x8xi8>, memref<4x2xi8>) outs(%y : memref<2x?x4xi32>)
  return
}

// -----

// A single token: [K] -> [1, K] rows, [N] -> [1, N].
// CHECK-LABEL: func.func @vector
// CHECK: memref.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [1, 8] : memref<8xi8> into memref<1x8xi8>
// CHECK: memref.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [1, 4] : memref<4xi32> into memref<1x4xi32>
// CHECK: call @mfc_ternary_matmul_i8
func.func @vector(%x: memref<8xi8>, %w: memref<4x2xi8>, %y: memref<4xi32>) {
  tern.matmul ins(%x, %w : memref<8xi8>, memref<4x2xi8>) outs(%y : memref<4xi32>)
  return
}

// -----

// Leading dims that cannot merge in place (a strided view) go through contiguous copies:
// the input before the call, the output after it.
// CHECK-LABEL: func.func @strided_views
// CHECK-SAME: (%[[X:.+]]: memref<2x3x8xi8, strided<[48, 8, 1]>>, %{{.+}}: memref<4x2xi8>, %[[Y:.+]]: memref<2x3x4xi32, strided<[24, 4, 1]>>)
// CHECK: %[[XC:.+]] = memref.alloc() : memref<2x3x8xi8>
// CHECK: memref.copy %[[X]], %[[XC]]
// CHECK: %[[YC:.+]] = memref.alloc() : memref<2x3x4xi32>
// CHECK: call @mfc_ternary_matmul_i8
// CHECK: memref.copy %[[YC]], %[[Y]]
func.func @strided_views(%x: memref<2x3x8xi8, strided<[48, 8, 1]>>, %w: memref<4x2xi8>,
                         %y: memref<2x3x4xi32, strided<[24, 4, 1]>>) {
  tern.matmul ins(%x, %w : memref<2x3x8xi8, strided<[48, 8, 1]>>, memref<4x2xi8>) outs(%y : memref<2x3x4xi32, strided<[24, 4, 1]>>)
  return
}

// -----

// Float activations, tensors and codes in columns are not the kernel's: untouched, and
// no kernel is declared.
// CHECK-LABEL: func.func @not_for_the_kernel
// CHECK-NOT: call
// CHECK-COUNT-3: tern.matmul
// CHECK-NOT: func.func private @mfc_ternary_matmul_i8
func.func @not_for_the_kernel(%xf: memref<3x8xf32>, %x: memref<3x8xi8>, %w: memref<4x2xi8>, %wc: memref<2x4xi8>,
                              %yf: memref<3x4xf32>, %y: memref<3x4xi32>, %xt: tensor<3x8xi8>, %wt: tensor<4x2xi8>,
                              %yt: tensor<3x4xi32>) -> tensor<3x4xi32> {
  tern.matmul ins(%xf, %w : memref<3x8xf32>, memref<4x2xi8>) outs(%yf : memref<3x4xf32>)
  tern.matmul ins(%x, %wc : memref<3x8xi8>, memref<2x4xi8>) outs(%y : memref<3x4xi32>) {layout = #tern.packed<bits = 2, order = columns>}
  %0 = tern.matmul ins(%xt, %wt : tensor<3x8xi8>, tensor<4x2xi8>) outs(%yt : tensor<3x4xi32>) -> tensor<3x4xi32>
  return %0 : tensor<3x4xi32>
}
