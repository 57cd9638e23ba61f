// RUN: mfc-opt %s --split-input-file --mfc-strided-copy-to-loops | FileCheck %s

// A copy out of a strided view becomes linalg.copy (and later loops), not a call to
// the runner-utils memrefCopy.
// CHECK-LABEL: func.func @strided
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%{{.+}} : memref<2x2xf32, strided<[4, 1], offset: 1>>) outs(%{{.+}} : memref<2x2xf32>)
func.func @strided(%src: memref<4x4xf32>, %dst: memref<2x2xf32>) {
  %view = memref.subview %src[0, 1] [2, 2] [1, 1] : memref<4x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 1>>
  memref.copy %view, %dst : memref<2x2xf32, strided<[4, 1], offset: 1>> to memref<2x2xf32>
  return
}

// -----

// Contiguous on both sides: stays memref.copy (a memcpy).
// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy
// CHECK-NOT: linalg.copy
func.func @contiguous(%src: memref<4xf32>, %dst: memref<4xf32>) {
  memref.copy %src, %dst : memref<4xf32> to memref<4xf32>
  return
}
