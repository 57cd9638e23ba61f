// RUN: mfc-opt %s --mfc-outline-loop-nests | FileCheck %s

// Each result-less top-level loop nest becomes a private function; values from outside
// the nest become its arguments.
// CHECK-LABEL: func.func private @f_nest0(
// CHECK-SAME: memref<4xf32>
// CHECK-SAME: llvm.no_inline
// CHECK: scf.for
// CHECK: arith.addf
// CHECK-LABEL: func.func private @f_nest1(
// CHECK: scf.for
// CHECK: arith.mulf
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[A:.+]]: memref<4xf32>, %[[B:.+]]: memref<4xf32>)
// CHECK: call @f_nest0(
// CHECK: call @f_nest1(
// The loop with results (a loop-carried value) stays in place.
// CHECK: %[[SUM:.+]] = scf.for
// CHECK: return %[[SUM]]
func.func @f(%a: memref<4xf32>, %b: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    %x = memref.load %a[%i] : memref<4xf32>
    %y = arith.addf %x, %one : f32
    memref.store %y, %b[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %x = memref.load %b[%i] : memref<4xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %a[%i] : memref<4xf32>
  }
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
    %x = memref.load %a[%i] : memref<4xf32>
    %s = arith.addf %acc, %x : f32
    scf.yield %s : f32
  }
  return %sum : f32
}
