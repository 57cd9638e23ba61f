// RUN: mfc-opt %s --split-input-file --tern-detect-ternary-matmul | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-detect-ternary-matmul=remarks=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// Per-tensor scale 0.5: W[k, n] in {-0.5, 0, 0.5}. Columns of W become packed rows:
// column 0 = (+, -, 0, +) -> 01 11 00 01 = 0b01001101 = 77; column 1 = (0, 0, +, -) = 0b11010000 = -48.
// CHECK-LABEL: func.func @per_tensor
// CHECK-SAME: (%[[X:.+]]: tensor<?x4xf32>)
// CHECK: %[[CODES:.+]] = arith.constant dense_resource<ternary_weights> : tensor<2x1xi8>
// CHECK: %[[ACC:.+]] = tern.matmul ins(%[[X]], %[[CODES]] : tensor<?x4xf32>, tensor<2x1xi8>) outs(%{{.+}} : tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK: %[[SCALE:.+]] = arith.constant dense<5.000000e-01> : tensor<1xf32>
// CHECK: %[[Y:.+]] = linalg.generic
// CHECK-SAME: ins(%[[ACC]], %[[SCALE]] : tensor<?x2xf32>, tensor<1xf32>)
// CHECK: arith.mulf
// CHECK: return %[[Y]]
// CHECK: ternary_weights: "0x010000004DD0"
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale
func.func @per_tensor(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%m) : tensor<?x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x4xf32>, tensor<4x2xf32>) outs(%init : tensor<?x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Per-column scales (Gemm transB layout W[n, k]); an all-zero column gets scale 1.
// CHECK-LABEL: func.func @per_column_transposed
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x4xf32>, tensor<3x1xi8>) outs(%{{.+}} : tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: arith.constant dense<[2.000000e+00, 2.500000e-01, 1.000000e+00]> : tensor<3xf32>
// REMARK: remark: rewritten to tern.matmul: 4x3 weight, 5 nonzeros, per-column scale
func.func @per_column_transposed(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[[2.0, -2.0, 0.0, 2.0], [0.0, 0.25, 0.25, 0.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<3x4xf32>
  %e = tensor.empty() : tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<3x4xf32>) outs(%init : tensor<2x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// QDQ: an int8 {-1, 0, 1} constant behind DequantizeLinear(scale 0.125) is evaluated.
// CHECK-LABEL: func.func @qdq
// CHECK: tern.matmul
// CHECK: arith.constant dense<1.250000e-01> : tensor<1xf32>
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 4 nonzeros, per-tensor scale
func.func @qdq(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %q = arith.constant dense<[[1, 0], [-1, 0], [0, 1], [0, -1]]> : tensor<4x2xi8>
  %s = arith.constant dense<0.125> : tensor<f32>
  %de = tensor.empty() : tensor<4x2xf32>
  %w = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q, %s : tensor<4x2xi8>, tensor<f32>) outs(%de : tensor<4x2xf32>) {
  ^bb0(%qi: i8, %si: f32, %o: f32):
    %i = arith.extsi %qi : i8 to i32
    %f = arith.sitofp %i : i32 to f32
    %m = arith.mulf %f, %si : f32
    linalg.yield %m : f32
  } -> tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s2 = arith.addf %acc, %p : f32
    linalg.yield %s2 : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Negative: two nonzero magnitudes in column 0 (0.5 and 0.25).
// CHECK-LABEL: func.func @not_ternary
// CHECK-NOT: tern.matmul
// CHECK: linalg.generic
// REMARK: remark: not rewritten to tern.matmul: weight column 0 takes magnitudes 0.5 and 0.25; a ternary weight has one nonzero magnitude per column
func.func @not_ternary(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.25, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Negative: the weight is a function argument, not a constant.
// CHECK-LABEL: func.func @dynamic_weight
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: the weight is not a constant
func.func @dynamic_weight(%x: tensor<2x4xf32>, %w: tensor<4x2xf32>) -> tensor<2x2xf32> {
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Negative: accumulating into a non-zero value (a bias folded into the init).
// CHECK-LABEL: func.func @nonzero_init
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: the contraction accumulates into a non-zero initial value
func.func @nonzero_init(%x: tensor<2x4xf32>, %bias: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%bias : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Negative: the activation's reduction dim is not last (x[k, m]).
// CHECK-LABEL: func.func @transposed_activation
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: the activation is not laid out as x[..., k] -> y[..., n]
func.func @transposed_activation(%x: tensor<4x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x2xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Activations that are clip(round(.), -128, 127) hold int8 values: they are converted
// to i8 and accumulated exactly in i32.
// CHECK-LABEL: func.func @int8_activations
// CHECK: arith.fptosi %{{.+}} : f32 to i8
// CHECK: %[[ACC:.+]] = tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x4xi8>, tensor<2x1xi8>) outs(%{{.+}} : tensor<2x2xi32>) -> tensor<2x2xi32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[ACC]] : tensor<2x2xi32>)
// CHECK: arith.sitofp %{{.+}} : i32 to f32
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale, int8 activations (i32 accumulation)
func.func @int8_activations(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %e0 = tensor.empty() : tensor<2x4xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x4xf32>) outs(%e0 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.roundeven %a : f32
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %hi : f32
    linalg.yield %d : f32
  } -> tensor<2x4xf32>
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Rounded but not clipped: values may exceed int8, so the float path is kept.
// CHECK-LABEL: func.func @rounded_unclipped
// CHECK-NOT: arith.fptosi
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x4xf32>
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale, float activations
func.func @rounded_unclipped(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %e0 = tensor.empty() : tensor<2x4xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x4xf32>) outs(%e0 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.roundeven %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>

// One weight read by two contractions is packed once.
// CHECK-LABEL: func.func @shared_weight
// CHECK-COUNT-1: dense_resource<ternary_weights> : tensor<2x1xi8>
// CHECK-NOT: dense_resource
// CHECK: tern.matmul
// CHECK: tern.matmul
// REMARK-COUNT-2: remark: rewritten to tern.matmul: 4x2 weight, 4 nonzeros, per-tensor scale
func.func @shared_weight(%x: tensor<3x4xf32>, %x2: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x4xf32>, tensor<4x2xf32>) outs(%init : tensor<3x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  %y2 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x2, %w : tensor<3x4xf32>, tensor<4x2xf32>) outs(%init : tensor<3x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %y, %y2 : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Negative: an infinite weight is not a scale (it would pass any relative tolerance
// against the column's other magnitudes).
// CHECK-LABEL: func.func @infinite_weight
// CHECK-NOT: tern.matmul
// CHECK: linalg.generic
// REMARK: remark: not rewritten to tern.matmul: weight column 1 holds inf (row 3); a ternary weight is finite
func.func @infinite_weight(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.5], [-0.5, 0.0], [0.0, 0.5], [0.5, 0x7F800000]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Negative: nor is NaN, wherever it stands in the column.
// CHECK-LABEL: func.func @nan_weight
// CHECK-NOT: tern.matmul
// CHECK: linalg.generic
// REMARK: remark: not rewritten to tern.matmul: weight column 0 holds NaN (row 0); a ternary weight is finite
func.func @nan_weight(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0x7FC00000, 0.5], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#y = affine_map<(d0, d1, d2) -> (d0, d1)>

// Negative: four distinct values {-1, -0.5, 0.5, 1} (a 2-bit but not ternary weight).
// CHECK-LABEL: func.func @four_values
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: weight column 0 takes magnitudes 1 and 0.5; a ternary weight has one nonzero magnitude per column
func.func @four_values(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0], [-0.5, 1.0], [0.5, -1.0], [-1.0, 1.0]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x4xf32>, tensor<4x2xf32>) outs(%init : tensor<3x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Negative: a batched weight [batch, k, n] (one matrix per batch entry) is the wrong shape
// for one packed matrix.
// CHECK-LABEL: func.func @batched_weight
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: the contraction is not over one reduction dim with one output column dim
func.func @batched_weight(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4x2xf32>
  %e = tensor.empty() : tensor<2x3x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x3x4xf32>, tensor<2x4x2xf32>) outs(%init : tensor<2x3x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x2xf32>
  return %y : tensor<2x3x2xf32>
}

// -----

// The straight-through estimator folded in float32, w + (a*T - w), leaves magnitudes an
// ulp or two apart (0.5 and 0.50000006): one magnitude, per-tensor scale 0.5.
// CHECK-LABEL: func.func @ulp_apart
// CHECK: tern.matmul
// CHECK: arith.constant dense<5.000000e-01> : tensor<1xf32>
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale
func.func @ulp_apart(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.50000006, 0.0], [0.0, 0.5], [0.5, -0.50000006]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<1x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x4xf32>, tensor<4x2xf32>) outs(%init : tensor<1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Nearest negative: 0.5 and 0.5001 are two magnitudes (about 1700 ulps apart).
// CHECK-LABEL: func.func @two_magnitudes
// CHECK-NOT: tern.matmul
// REMARK: remark: not rewritten to tern.matmul: weight column 0 takes magnitudes 0.5 and 0.5001;
func.func @two_magnitudes(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5001, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<1x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x4xf32>, tensor<4x2xf32>) outs(%init : tensor<1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A weight computed from constants through linalg.transpose (torch's F.linear writes
// MatMul(x, Transpose(W))) is evaluated like any other constant chain.
// CHECK-LABEL: func.func @through_transpose
// CHECK-NOT: linalg.transpose
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<1x4xf32>, tensor<2x1xi8>) outs(%{{.+}} : tensor<1x2xf32>) -> tensor<1x2xf32>
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale
func.func @through_transpose(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %wt = arith.constant dense<[[0.5, -0.5, 0.0, 0.5], [0.0, 0.0, 0.5, -0.5]]> : tensor<2x4xf32>
  %te = tensor.empty() : tensor<4x2xf32>
  %w = linalg.transpose ins(%wt : tensor<2x4xf32>) outs(%te : tensor<4x2xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<1x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x4xf32>, tensor<4x2xf32>) outs(%init : tensor<1x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Dequantization before the product (torch's BitLinear: MatMul(q / s, W)), s per token:
// the int8 values q take the exact i32 path and the division follows the accumulation.
// CHECK-LABEL: func.func @dequantized_per_token
// CHECK-SAME:    (%[[Q:.+]]: tensor<2x4xi8>, %[[S:.+]]: tensor<2x1xf32>)
// CHECK:         %[[ACC:.+]] = tern.matmul ins(%[[Q]], %{{.+}} : tensor<2x4xi8>, tensor<2x1xi8>) outs(%{{.+}} : tensor<2x2xi32>) -> tensor<2x2xi32>
// CHECK:         %[[F:.+]] = linalg.generic {{.*}} ins(%[[ACC]] : tensor<2x2xi32>)
// CHECK:         %[[A:.+]] = linalg.generic {{.*}} ins(%[[F]], %{{.+}} : tensor<2x2xf32>, tensor<1xf32>)
// CHECK:         linalg.generic {{.*}} ins(%[[A]], %[[S]] : tensor<2x2xf32>, tensor<2x1xf32>)
// CHECK:           arith.divf
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale, int8 activations (i32 accumulation), dequantized per token after the accumulation
func.func @dequantized_per_token(%q: tensor<2x4xi8>, %s: tensor<2x1xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e4 = tensor.empty() : tensor<2x4xf32>
  %qf = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<2x4xi8>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: i8, %o: f32):
    %f = arith.sitofp %a : i8 to f32
    linalg.yield %f : f32
  } -> tensor<2x4xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qf, %s : tensor<2x4xf32>, tensor<2x1xf32>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Nearest negative: a scale that varies along k cannot move past the sum (float path).
// CHECK-LABEL: func.func @dequantized_per_element
// CHECK:         tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x4xf32>, tensor<2x1xi8>) outs(%{{.+}} : tensor<2x2xf32>) -> tensor<2x2xf32>
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale, float activations
func.func @dequantized_per_element(%q: tensor<2x4xi8>, %s: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e4 = tensor.empty() : tensor<2x4xf32>
  %qf = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<2x4xi8>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: i8, %o: f32):
    %f = arith.sitofp %a : i8 to f32
    linalg.yield %f : f32
  } -> tensor<2x4xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qf, %s : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// The same with the dequantization as a product by r = 1/s (r first): q's int8 values
// take the exact path and the product follows the accumulation.
// CHECK-LABEL: func.func @dequantized_by_product
// CHECK-SAME:    (%[[Q:.+]]: tensor<2x4xi8>, %[[R:.+]]: tensor<2x1xf32>)
// CHECK:         tern.matmul ins(%[[Q]], %{{.+}} : tensor<2x4xi8>, tensor<2x1xi8>) outs(%{{.+}} : tensor<2x2xi32>) -> tensor<2x2xi32>
// CHECK:         linalg.generic {{.*}} ins(%{{.+}}, %[[R]] : tensor<2x2xf32>, tensor<2x1xf32>)
// CHECK:           arith.mulf
// REMARK: remark: rewritten to tern.matmul: 4x2 weight, 5 nonzeros, per-tensor scale, int8 activations (i32 accumulation), dequantized per token after the accumulation
func.func @dequantized_by_product(%q: tensor<2x4xi8>, %r: tensor<2x1xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, -0.5]]> : tensor<4x2xf32>
  %e4 = tensor.empty() : tensor<2x4xf32>
  %qf = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<2x4xi8>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: i8, %o: f32):
    %f = arith.sitofp %a : i8 to f32
    linalg.yield %f : f32
  } -> tensor<2x4xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r, %qf : tensor<2x1xf32>, tensor<2x4xf32>) outs(%e4 : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.mulf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
