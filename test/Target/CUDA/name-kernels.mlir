// RUN: mfc-opt %s --mfc-cuda-name-kernels | FileCheck %s

// A kernel without a loop is element-wise, one whose threads loop a thread_loop; a
// kernel that has a name keeps it.
// CHECK-LABEL: func.func @kernels
// CHECK: gpu.launch {{.+}} function(@elementwise)
// CHECK: gpu.launch {{.+}} function(@thread_loop)
// CHECK-NEXT: scf.for
// CHECK: gpu.launch {{.+}} function(@ternary_gemv)
func.func @kernels(%x: memref<4xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1) threads(%t0, %t1, %t2) in (%s0 = %c4, %s1 = %c1, %s2 = %c1) {
    %v = memref.load %x[%t0] : memref<4xf32>
    memref.store %v, %y[%t0] : memref<4xf32>
    gpu.terminator
  }
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1) threads(%t0, %t1, %t2) in (%s0 = %c1, %s1 = %c1, %s2 = %c1) {
    scf.for %i = %c0 to %c4 step %c1 {
      %v = memref.load %x[%i] : memref<4xf32>
      memref.store %v, %y[%i] : memref<4xf32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1) threads(%t0, %t1, %t2) in (%s0 = %c4, %s1 = %c1, %s2 = %c1) function(@ternary_gemv) {
    gpu.terminator
  }
  return
}
