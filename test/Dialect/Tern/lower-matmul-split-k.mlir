// RUN: mfc-opt %s --tern-lower-matmul=k-chunk=8 | FileCheck %s

// k-chunk: partial sums over chunks of K (x viewed as [..., chunks, bytes, 4]), then
// their sum; weight k = s * chunk + 4 kb + j is in byte s * chunk / 4 + kb.
// CHECK-DAG: #[[XC:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[WC:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d1 * 2 + d3)>
// CHECK-DAG: #[[PC:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-DAG: #[[PR:.+]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-DAG: #[[YR:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @lower_split_k
// CHECK: %[[XS:.+]] = tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2, 3]] output_shape [%{{.+}}, 2, 2, 4] : tensor<?x16xi8> into tensor<?x2x2x4xi8>
// CHECK: %[[P:.+]] = linalg.generic {indexing_maps = [#[[XC]], #[[WC]], #[[PC]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[XS]], %{{.+}} : tensor<?x2x2x4xi8>, tensor<4x4xi8>) outs(%{{.+}} : tensor<?x2x4xi32>)
// CHECK: linalg.index 4
// CHECK: linalg.generic {indexing_maps = [#[[PR]], #[[YR]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] : tensor<?x2x4xi32>)
// CHECK: arith.addi
// A K that the chunk does not divide stays one sum.
// CHECK-LABEL: func.func @no_split
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
func.func @lower_split_k(%x: tensor<?x16xi8>, %w: tensor<4x4xi8>, %y: tensor<?x4xi32>) -> tensor<?x4xi32> {
  %0 = tern.matmul ins(%x, %w : tensor<?x16xi8>, tensor<4x4xi8>) outs(%y : tensor<?x4xi32>) -> tensor<?x4xi32>
  return %0 : tensor<?x4xi32>
}
func.func @no_split(%x: tensor<2x12xf32>, %w: tensor<4x3xi8>, %y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = tern.matmul ins(%x, %w : tensor<2x12xf32>, tensor<4x3xi8>) outs(%y : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// On buffers the partial sums get a buffer of their own, freed after their sum.
// CHECK-LABEL: func.func @split_k_buffers
// CHECK: %[[PB:.+]] = memref.alloc() : memref<2x2x4xi32>
// CHECK: linalg.generic {{.+}} outs(%[[PB]] : memref<2x2x4xi32>)
// CHECK: linalg.generic {{.+}} ins(%[[PB]] : memref<2x2x4xi32>)
// CHECK-NEXT: ^bb0
// CHECK: memref.dealloc %[[PB]]
func.func @split_k_buffers(%x: memref<2x16xi8>, %w: memref<4x4xi8>, %y: memref<2x4xi32>) {
  tern.matmul ins(%x, %w : memref<2x16xi8>, memref<4x4xi8>) outs(%y : memref<2x4xi32>)
  return
}
