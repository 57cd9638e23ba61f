// RUN: mfc-opt %s --split-input-file --test-tern-constant-eval --verify-diagnostics

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// An absmean-style chain over a constant, through a transpose and a reshape: each float
// result rounded to f32 as the model computes it.
func.func @chain() -> tensor<4xf32> {
  %w = arith.constant dense<[[0.5, -0.25], [0.0, 1.0]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<2x2xf32>
  %s = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%v: f32, %o: f32):
    %three = arith.constant 3.0 : f32
    %d = arith.divf %v, %three : f32
    linalg.yield %d : f32
  } -> tensor<2x2xf32>
  // expected-remark @+1 {{values: 0.166666672 0 -0.0833333358 0.333333343}}
  %r = tensor.collapse_shape %s [[0, 1]] {test.query} : tensor<2x2xf32> into tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A value from outside the constants cannot be evaluated; the reason is the remark.
func.func @not_constant(%x: tensor<2xf32>) -> tensor<2xf32> {
  %e = tensor.empty() : tensor<2xf32>
  // expected-remark @+1 {{not evaluated: the weight is computed from a non-constant value}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"], test.query}
      ins(%x : tensor<2xf32>) outs(%e : tensor<2xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// Reductions run over the whole iteration space (a sum over the last dim).
func.func @reduction() -> tensor<2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [-1.0, -1.0, 0.5]]> : tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  // expected-remark @+1 {{values: 6 -1.5}}
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"], test.query}
      ins(%w : tensor<2x3xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %a = arith.addf %acc, %v : f32
    linalg.yield %a : f32
  } -> tensor<2xf32>
  return %s : tensor<2xf32>
}
