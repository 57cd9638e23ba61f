// RUN: mfc-opt %s --split-input-file --test-tern-numeric-range --verify-diagnostics

#id = affine_map<(d0) -> (d0)>

// A quantization chain's clip(round(x * s)): integers in [-128, 127].
func.func @clip_round(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  // expected-remark @+1 {{integral in [-128, 127], fits int8}}
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], test.query}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %r = math.roundeven %v : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %hi : f32
    linalg.yield %d : f32
  } -> tensor<8xf32>
  return %q : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

// Rounded but not clamped: integral, unbounded.
func.func @round_only(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  // expected-remark @+1 {{integral in [-inf, inf]}}
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], test.query}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = math.roundeven %v : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %q : tensor<8xf32>
}

// -----

// Constants: their actual values; sitofp of i8 in generics: the type's range.
func.func @constants() -> (tensor<3xf32>, tensor<2xf32>) {
  // expected-remark @+1 {{integral in [-2, 5]}}
  %a = arith.constant {test.query} dense<[-2.0, 5.0, 0.0]> : tensor<3xf32>
  // expected-remark @+1 {{not integral in [0.5, 1]}}
  %b = arith.constant {test.query} dense<[0.5, 1.0]> : tensor<2xf32>
  return %a, %b : tensor<3xf32>, tensor<2xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

func.func @from_int8(%x: tensor<8xi8>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  // expected-remark @+1 {{integral in [-128, 127], fits int8}}
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], test.query}
      ins(%x : tensor<8xi8>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: i8, %o: f32):
    %f = arith.sitofp %v : i8 to f32
    linalg.yield %f : f32
  } -> tensor<8xf32>
  return %q : tensor<8xf32>
}

// -----

// A function argument: nothing known.
func.func @unknown(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-remark @+1 {{not integral in [-inf, inf]}}
  %c = tensor.cast %x {test.query} : tensor<8xf32> to tensor<8xf32>
  return %c : tensor<8xf32>
}
