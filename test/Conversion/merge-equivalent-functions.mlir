// RUN: mfc-opt %s --split-input-file --mfc-merge-equivalent-functions | FileCheck %s

// Two outlined nests with the same body, differing only in names and locations, become
// one; the calls of the second call the first.
// CHECK-LABEL: func.func private @f_nest0(
// CHECK-NOT: func.func private @f_nest1(
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[A:.+]]: memref<4xf32>, %[[B:.+]]: memref<4xf32>, %[[C:.+]]: memref<4xf32>)
// CHECK: call @f_nest0(%[[A]], %[[B]])
// CHECK: call @f_nest0(%[[B]], %[[C]])
func.func private @f_nest0(%x: memref<4xf32>, %y: memref<4xf32>) attributes {llvm.no_inline} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %x[%i] : memref<4xf32>
    %s = arith.mulf %v, %v : f32
    memref.store %s, %y[%i] : memref<4xf32>
  }
  return
}
func.func private @f_nest1(%p: memref<4xf32>, %q: memref<4xf32>) attributes {llvm.no_inline} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %j = %c0 to %c4 step %c1 {
    %v = memref.load %p[%j] : memref<4xf32> loc("elsewhere")
    %s = arith.mulf %v, %v : f32
    memref.store %s, %q[%j] : memref<4xf32>
  }
  return
}
func.func @f(%a: memref<4xf32>, %b: memref<4xf32>, %c: memref<4xf32>) {
  call @f_nest0(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  call @f_nest1(%b, %c) : (memref<4xf32>, memref<4xf32>) -> ()
  return
}

// -----

// Bodies that differ in a constant, in which argument an op reads, or in their
// attributes stay apart.
// CHECK-LABEL: func.func private @g_scale2(
// CHECK: arith.constant 2.0
// CHECK-LABEL: func.func private @g_scale3(
// CHECK: arith.constant 3.0
// CHECK-LABEL: func.func private @g_swapped(
// CHECK-LABEL: func.func private @g_inlinable(
// CHECK-LABEL: func.func @g(
// CHECK: call @g_scale2(
// CHECK: call @g_scale3(
// CHECK: call @g_swapped(
// CHECK: call @g_inlinable(
func.func private @g_scale2(%x: memref<4xf32>, %y: memref<4xf32>) attributes {llvm.no_inline} {
  %c0 = arith.constant 0 : index
  %k = arith.constant 2.0 : f32
  %v = memref.load %x[%c0] : memref<4xf32>
  %s = arith.mulf %v, %k : f32
  memref.store %s, %y[%c0] : memref<4xf32>
  return
}
func.func private @g_scale3(%x: memref<4xf32>, %y: memref<4xf32>) attributes {llvm.no_inline} {
  %c0 = arith.constant 0 : index
  %k = arith.constant 3.0 : f32
  %v = memref.load %x[%c0] : memref<4xf32>
  %s = arith.mulf %v, %k : f32
  memref.store %s, %y[%c0] : memref<4xf32>
  return
}
func.func private @g_swapped(%x: memref<4xf32>, %y: memref<4xf32>) attributes {llvm.no_inline} {
  %c0 = arith.constant 0 : index
  %k = arith.constant 2.0 : f32
  %v = memref.load %y[%c0] : memref<4xf32>
  %s = arith.mulf %v, %k : f32
  memref.store %s, %x[%c0] : memref<4xf32>
  return
}
func.func private @g_inlinable(%x: memref<4xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %k = arith.constant 2.0 : f32
  %v = memref.load %x[%c0] : memref<4xf32>
  %s = arith.mulf %v, %k : f32
  memref.store %s, %y[%c0] : memref<4xf32>
  return
}
func.func @g(%a: memref<4xf32>, %b: memref<4xf32>) {
  call @g_scale2(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  call @g_scale3(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  call @g_swapped(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  call @g_inlinable(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  return
}

// -----

// Public functions keep their names (callers outside the module use them), and a
// function of another type is another function.
// CHECK-LABEL: func.func @h_public_a(
// CHECK-LABEL: func.func @h_public_b(
// CHECK-LABEL: func.func private @h_f32(
// CHECK-LABEL: func.func private @h_f16(
func.func @h_public_a(%x: memref<4xf32>) {
  return
}
func.func @h_public_b(%x: memref<4xf32>) {
  return
}
func.func private @h_f32(%x: memref<4xf32>) {
  return
}
func.func private @h_f16(%x: memref<4xf16>) {
  return
}
