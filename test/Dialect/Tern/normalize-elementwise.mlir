// RUN: mfc-opt %s --split-input-file --tern-normalize-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>
#scalar = affine_map<(d0, d1) -> ()>

// The straight-through estimator x + (y - x) is y.
// CHECK-LABEL: func.func @straight_through
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4xf32>, %[[Y:.+]]: tensor<2x4xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
func.func @straight_through(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %x : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %d : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Nearest negative: x + (y - z) with z != x stays.
// CHECK-LABEL: func.func @not_straight_through
// CHECK-COUNT-2: linalg.generic
func.func @not_straight_through(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>, %z: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %z : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %d : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>

// 0 + x (a zero constant, as torch writes a fresh state) is x.
// CHECK-LABEL: func.func @add_zero
// CHECK-SAME:    (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[X]]
func.func @add_zero(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero, %x : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#bcast = affine_map<(d0, d1) -> (d1)>

// Nearest negative: x + 0 where x is broadcast is not x (another shape).
// CHECK-LABEL: func.func @add_zero_broadcast
// CHECK:         linalg.generic
// CHECK:         arith.addf
func.func @add_zero_broadcast(%x: tensor<4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #bcast, #id], iterator_types = ["parallel", "parallel"]}
      ins(%zero, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// 127 * Reciprocal(m) (torch's activation scale) is 127 / m, m read per token.
// CHECK-DAG:   #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[TOK:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @reciprocal_scale
// CHECK-SAME:    (%[[M:.+]]: tensor<2x1xf32>)
// CHECK:         %[[C:.+]] = arith.constant 1.270000e+02 : f32
// CHECK:         %[[R:.+]] = linalg.generic {indexing_maps = [#[[TOK]], #[[ID]]]
// CHECK-SAME:      ins(%[[M]] : tensor<2x1xf32>)
// CHECK:           %[[D:.+]] = arith.divf %[[C]], %{{.+}} : f32
// CHECK:           linalg.yield %[[D]]
// CHECK:         return %[[R]]
func.func @reciprocal_scale(%m: tensor<2x1xf32>) -> tensor<2x4xf32> {
  %e1 = tensor.empty() : tensor<2x1xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%m : tensor<2x1xf32>) outs(%e1 : tensor<2x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %d = arith.divf %one, %a : f32
    linalg.yield %d : f32
  } -> tensor<2x1xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r : tensor<2x1xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 127.0 : f32
    %p = arith.mulf %a, %c : f32
    linalg.yield %p : f32
  } -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Nearest negative: a * (2 / b) is not a reciprocal.
// CHECK-LABEL: func.func @not_reciprocal
// CHECK:         arith.divf
// CHECK:         arith.mulf
func.func @not_reciprocal(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %d = arith.divf %two, %y : f32
    %p = arith.mulf %x, %d : f32
    linalg.yield %p : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// A small computation on constants (torch's lower bounds: a CumSum by linalg.index and
// select, then a row of it) becomes a constant the MLGRU matcher can read.
// CHECK-LABEL: func.func @cumsum_of_constant
// CHECK-NOT:     linalg.generic
// CHECK:         %[[C:.+]] = arith.constant dense<[3.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK:         return %[[C]]
func.func @cumsum_of_constant() -> tensor<2xf32> {
  %x = arith.constant dense<[[1.0, 2.0], [2.0, 2.0]]> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %cum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 2 : index
    %take = arith.cmpi sle, %j, %i : index
    %v = arith.select %take, %a, %zero : f32
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  %row = tensor.extract_slice %cum[1, 0] [1, 2] [1, 1] : tensor<2x2xf32> to tensor<2xf32>
  return %row : tensor<2xf32>
}
