// RUN: mfc-opt %s --split-input-file --transform-interpreter --canonicalize | FileCheck %s

// tern.matmul implements TilingInterface: its domain is the leading dims and the outputs,
// all parallel; a tile reads its rows of the input, its outputs' packed rows whole, and
// writes its block of the destination.
// CHECK-LABEL: func.func @tile_rows_and_outputs
// CHECK-SAME: (%[[X:.+]]: tensor<8x32xi8>, %[[W:.+]]: tensor<64x8xi8>, %[[Y:.+]]: tensor<8x64xi32>)
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %c2 iter_args(%[[ACC0:.+]] = %[[Y]])
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %c16 iter_args(%[[ACC:.+]] = %[[ACC0]])
// CHECK-DAG: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[I]], 0] [2, 32] [1, 1] : tensor<8x32xi8> to tensor<2x32xi8>
// CHECK-DAG: %[[WT:.+]] = tensor.extract_slice %[[W]][%[[J]], 0] [16, 8] [1, 1] : tensor<64x8xi8> to tensor<16x8xi8>
// CHECK-DAG: %[[YT:.+]] = tensor.extract_slice %[[ACC]][%[[I]], %[[J]]] [2, 16] [1, 1] : tensor<8x64xi32> to tensor<2x16xi32>
// CHECK: %[[T:.+]] = tern.matmul ins(%[[XT]], %[[WT]] : tensor<2x32xi8>, tensor<16x8xi8>) outs(%[[YT]] : tensor<2x16xi32>) -> tensor<2x16xi32>
// CHECK: tensor.insert_slice %[[T]] into %[[ACC]][%[[I]], %[[J]]] [2, 16] [1, 1]
func.func @tile_rows_and_outputs(%x: tensor<8x32xi8>, %w: tensor<64x8xi8>, %y: tensor<8x64xi32>) -> tensor<8x64xi32> {
  %0 = tern.matmul ins(%x, %w : tensor<8x32xi8>, tensor<64x8xi8>) outs(%y : tensor<8x64xi32>) -> tensor<8x64xi32>
  return %0 : tensor<8x64xi32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["tern.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %m tile_sizes [2, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Outputs distributed over parallel workers (what a target maps to threads or blocks);
// with codes in columns a tile's outputs are a column block of the weights. A dynamic
// number of rows stays dynamic in the tile.
// CHECK-LABEL: func.func @forall_outputs_columns
// CHECK: scf.forall (%[[J:.+]]) in (4)
// CHECK: %[[WT:.+]] = tensor.extract_slice %{{.+}}[0, %{{.+}}] [8, 16] [1, 1] : tensor<8x64xi8> to tensor<8x16xi8>
// CHECK: tern.matmul ins(%{{.+}}, %[[WT]] : tensor<?x32xf32>, tensor<8x16xi8>) outs(%{{.+}} : tensor<?x16xf32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<?x16xf32>
// CHECK: tensor.parallel_insert_slice
func.func @forall_outputs_columns(%x: tensor<?x32xf32>, %w: tensor<8x64xi8>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = tern.matmul ins(%x, %w : tensor<?x32xf32>, tensor<8x64xi8>) outs(%y : tensor<?x64xf32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["tern.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %forall = transform.structured.tile_using_forall %m tile_sizes [0, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// tern.bitlinear tiles the same way: a tile normalizes and quantizes its tokens whole
// and reads its outputs' packed rows and per-channel scales.
// CHECK-LABEL: func.func @bitlinear_rows_and_outputs
// CHECK-SAME: (%[[X:.+]]: tensor<8x32xf32>, %[[N:.+]]: tensor<32xf32>, %[[W:.+]]: tensor<64x8xi8>, %[[A:.+]]: tensor<64xf32>)
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %c4
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %c32
// CHECK-DAG: %[[XT:.+]] = tensor.extract_slice %[[X]][%[[I]], 0] [4, 32] [1, 1]
// CHECK-DAG: %[[WT:.+]] = tensor.extract_slice %[[W]][%[[J]], 0] [32, 8] [1, 1]
// CHECK-DAG: %[[AT:.+]] = tensor.extract_slice %[[A]][%[[J]]] [32] [1]
// CHECK: tern.bitlinear ins(%[[XT]], %[[N]], %[[WT]], %[[AT]] : tensor<4x32xf32>, tensor<32xf32>, tensor<32x8xi8>, tensor<32xf32>) outs(%{{.+}} : tensor<4x32xf32>) {eps = 0.000000e+00 : f32} -> tensor<4x32xf32>
func.func @bitlinear_rows_and_outputs(%x: tensor<8x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>, %a: tensor<64xf32>) -> tensor<8x64xf32> {
  %init_0 = tensor.empty() : tensor<8x64xf32>
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<8x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<64xf32>) outs(%init_0 : tensor<8x64xf32>) {eps = 0.0 : f32} -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["tern.bitlinear"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %m tile_sizes [4, 32] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
