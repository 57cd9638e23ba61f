// RUN: mfc-opt %s --split-input-file --mfc-split-reductions=partials=4 | FileCheck %s
// RUN: not mfc-opt %s --split-input-file --mfc-split-reductions=partials=1 2>&1 | FileCheck %s --check-prefix=BADCOUNT
// BADCOUNT: error: mfc-split-reductions: partials=1: at least 2

// A sum of squares over 16 elements in 4 strided partials (x as [.., 4, 4]: partial j
// takes elements j, j + 4, ...; the body as it was, the partials from 0.0, the
// neutral element of addf), then a sum of the partials (no second squaring) into the
// original init.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[PARTIAL:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[INIT:.+]]: tensor<?x1xf32>)
// CHECK: %[[STRIDED:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.+}}, 4, 4] : tensor<?x16xf32> into tensor<?x4x4xf32>
// CHECK: %[[NEUTRAL:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[START:.+]] = linalg.fill ins(%[[NEUTRAL]] : f32) outs(%{{.+}} : tensor<?x4xf32>)
// CHECK: %[[PARTIALS:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[PARTIAL]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[STRIDED]] : tensor<?x4x4xf32>) outs(%[[START]] : tensor<?x4xf32>)
// CHECK-NEXT: ^bb0(%[[E:.+]]: f32, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[SQUARE:.+]] = arith.mulf %[[E]], %[[E]]
// CHECK-NEXT: %[[NEXT:.+]] = arith.addf %[[SQUARE]], %[[ACC]]
// CHECK-NEXT: linalg.yield %[[NEXT]]
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[PARTIALS]] : tensor<?x4xf32>) outs(%[[INIT]] : tensor<?x1xf32>)
// CHECK-NEXT: ^bb0(%[[P:.+]]: f32, %[[TOTAL:.+]]: f32):
// CHECK-NEXT: %[[MERGED:.+]] = arith.addf %[[P]], %[[TOTAL]]
// CHECK-NEXT: linalg.yield %[[MERGED]]
// CHECK: return %[[SUM]]
func.func @sum_of_squares(%x: tensor<?x16xf32>, %init: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x16xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %next = arith.addf %sq, %acc : f32
    linalg.yield %next : f32
  } -> tensor<?x1xf32>
  return %r : tensor<?x1xf32>
}

// -----

// An absmax: partials from -inf (the neutral element of maximumf); the merge is the
// maximum alone (no second absf).
// CHECK-LABEL: func.func @absmax
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-NOT: math.absf
// CHECK: arith.maximumf
func.func @absmax(%x: tensor<2x8xf32>, %init: tensor<2xf32>) -> tensor<2xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x8xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %abs = math.absf %in : f32
    %next = arith.maximumf %abs, %acc : f32
    linalg.yield %next : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

// Not split: a last dim the partials do not divide, one no larger than them, an
// accumulator read twice (not a plain fold), a combiner without a neutral float element.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-4: iterator_types = ["parallel", "reduction"]
// CHECK-NOT: tensor.expand_shape
func.func @kept(%x6: tensor<2x6xf32>, %x4: tensor<2x4xf32>, %x8: tensor<2x8xf32>, %i8: tensor<2x8xi32>,
                %init: tensor<2xf32>, %iinit: tensor<2xi32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xi32>) {
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x6 : tensor<2x6xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %in, %acc : f32
    linalg.yield %next : f32
  } -> tensor<2xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x4 : tensor<2x4xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %next = arith.addf %in, %acc : f32
    linalg.yield %next : f32
  } -> tensor<2xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x8 : tensor<2x8xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %scaled = arith.mulf %in, %acc : f32
    %next = arith.addf %scaled, %acc : f32
    linalg.yield %next : f32
  } -> tensor<2xf32>
  %d = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%i8 : tensor<2x8xi32>) outs(%iinit : tensor<2xi32>) {
  ^bb0(%in: i32, %acc: i32):
    %next = arith.addi %in, %acc : i32
    linalg.yield %next : i32
  } -> tensor<2xi32>
  return %a, %b, %c, %d : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xi32>
}
