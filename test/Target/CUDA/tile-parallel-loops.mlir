// RUN: mfc-opt %s --split-input-file --mfc-cuda-tile-parallel-loops=threads=128 | FileCheck %s

// The innermost dim of the outermost loop is split into blocks of 128 threads.
// CHECK-LABEL: func.func @two_dims
// CHECK: scf.parallel (%[[I:.+]], %[[JJ:.+]]) = (%c0, %c0) to (%{{.+}}, %{{.+}}) step (%c1, %c128)
// CHECK: affine.min #{{.+}}(%[[I]])
// CHECK: %[[N:.+]] = affine.min #{{.+}}(%[[JJ]])
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%{{.+}}, %[[N]]) step (%c1, %c1)
// CHECK: memref.store
// The tile's innermost dim on thread x, the tiles on blocks x and y.
// CHECK: {mapping = [#gpu.loop_dim_map<processor = sequential, {{.+}}>, #gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
// CHECK: {mapping = [#gpu.loop_dim_map<processor = block_y, {{.+}}>, #gpu.loop_dim_map<processor = block_x, {{.+}}>]}
func.func @two_dims(%m: index, %n: index, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    memref.store %zero, %out[%i, %j] : memref<?x?xf32>
  }
  return
}

// -----

// Nested parallel loops are left to the outer one's tiling.
// CHECK-LABEL: func.func @nested
// CHECK-COUNT-3: scf.parallel
// CHECK-NOT: scf.parallel
func.func @nested(%n: index, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.parallel (%j) = (%c0) to (%n) step (%c1) {
      memref.store %zero, %out[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

// -----

// A loop of one iteration stays a loop (a kernel of one block), not host code.
// CHECK-LABEL: func.func @one_iteration
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.for
func.func @one_iteration(%out: memref<1x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %v = memref.load %out[%i, %k] : memref<1x64xf32>
      memref.store %v, %out[%i, %k] : memref<1x64xf32>
    }
  }
  return
}

// -----

// RUN: not mfc-opt %s --split-input-file --mfc-cuda-tile-parallel-loops=threads=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mfc-cuda-tile-parallel-loops: threads must be 1..1024 (a CUDA block), got 0
// CHECK-LABEL: func.func @bad_threads
func.func @bad_threads() {
  return
}
