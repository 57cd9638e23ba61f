// RUN: mfc-opt %s --split-input-file --tern-expand-ops=reduction-partials=4 | FileCheck %s

// The per-token absmax over 16 elements in 4 strided partial maxima (x as [.., 4, 4]: the
// partial j takes elements j, j + 4, ...), then one over the partials.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[PARTIAL:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @quantize_act
// CHECK: %[[STRIDED:.+]] = tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [%{{.+}}, 4, 4] : tensor<?x16xf32> into tensor<?x4x4xf32>
// CHECK: %[[PARTIALS:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[PARTIAL]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[STRIDED]] : tensor<?x4x4xf32>) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: %[[ABSMAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[PARTIALS]] : tensor<?x4xf32>) outs(%{{.+}} : tensor<?x1xf32>)
// CHECK-NOT: math.absf
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[ABSMAX]] : tensor<?x1xf32>)
func.func @quantize_act(%x: tensor<?x16xf32>) -> (tensor<?x16xi8>, tensor<?x1xf32>) {
  %q, %s = tern.quantize_act %x : tensor<?x16xf32> -> tensor<?x16xi8>, tensor<?x1xf32>
  return %q, %s : tensor<?x16xi8>, tensor<?x1xf32>
}

// -----

// The BitLinear's sum of squares: partial sums of squares, then a sum of the partials
// (no second squaring).
// CHECK-LABEL: func.func @bitlinear
// CHECK: tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [2, 4, 4] : tensor<2x16xf32> into tensor<2x4x4xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-NEXT: ^bb0(%[[X:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[SQUARE:.+]] = arith.mulf %[[X]], %[[X]]
// CHECK-NEXT: arith.addf %[[SQUARE]], %[[ACC]]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-NEXT: ^bb0(%[[P:.+]]: f32, %[[SUM:.+]]: f32):
// CHECK-NEXT: %[[NEXT:.+]] = arith.addf %[[P]], %[[SUM]]
// CHECK-NEXT: linalg.yield %[[NEXT]]
func.func @bitlinear(%x: tensor<2x16xf32>, %n: tensor<16xf32>, %w: tensor<8x4xi8>, %a: tensor<8xf32>) -> tensor<2x8xf32> {
  %init_y = tensor.empty() : tensor<2x8xf32>
  %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x16xf32>, tensor<16xf32>, tensor<8x4xi8>, tensor<8xf32>) outs(%init_y : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A last dim the partials do not divide (or no larger than them): one reduction.
// CHECK-LABEL: func.func @indivisible
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.+}} : tensor<?x6xf32>)
func.func @indivisible(%x: tensor<?x6xf32>) -> (tensor<?x6xi8>, tensor<?x1xf32>) {
  %q, %s = tern.quantize_act %x : tensor<?x6xf32> -> tensor<?x6xi8>, tensor<?x1xf32>
  return %q, %s : tensor<?x6xi8>, tensor<?x1xf32>
}
