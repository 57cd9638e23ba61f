// RUN: mfc-opt %s --split-input-file --mfc-cpu-approximate-math | FileCheck %s

// f32 exp becomes arithmetic: clamp, range reduction by ln 2, a polynomial, 2^k in the
// exponent bits.
// CHECK-LABEL: func.func @exp_f32
// CHECK-NOT: math.exp
// CHECK: math.floor
// CHECK: math.fma
// CHECK: arith.shli
// CHECK: arith.bitcast
// CHECK-NOT: math.exp
func.func @exp_f32(%x: f32) -> f32 {
  %y = math.exp %x : f32
  return %y : f32
}

// -----

// Vectors of f32 too (what the loop vectorizer would otherwise widen into calls).
// CHECK-LABEL: func.func @exp_vector
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<8xf32>
func.func @exp_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %y = math.exp %x : vector<8xf32>
  return %y : vector<8xf32>
}

// -----

// f64 keeps libm's exp; other functions are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : f32
// CHECK: math.log %{{.*}} : f32
func.func @untouched(%x: f64, %z: f32) -> (f64, f32, f32) {
  %y = math.exp %x : f64
  %t = math.tanh %z : f32
  %l = math.log %z : f32
  return %y, %t, %l : f64, f32, f32
}
