// RUN: mfc-opt %s --split-input-file --mfc-cuda-reduction-kernels=threads=128 | FileCheck %s

// A sum of squares over the last dim (an RMSNorm's mean): one block per token, 128
// threads each folding a strided share, then a block-wide sum added to the output.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-SAME: (%[[X:.+]]: memref<?x1024xf32>, %[[OUT:.+]]: memref<?xf32>)
// CHECK: %[[ROWS:.+]] = memref.dim %[[X]], %c0
// CHECK: gpu.launch blocks(%[[B:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %{{.+}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK: %[[ROW:.+]] = arith.remui %[[B]], %[[ROWS]]
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PARTIAL:.+]] = scf.for %[[R:.+]] = %[[T]] to %c1024{{.*}} step %c128{{.*}} iter_args(%[[ACC:.+]] = %[[ZERO]]) -> (f32)
// CHECK: %[[V:.+]] = memref.load %[[X]][%{{.+}}, %{{.+}}]
// CHECK: %[[SQ:.+]] = arith.mulf %[[V]], %[[V]]
// CHECK: %[[NEXT:.+]] = arith.addf %[[SQ]], %[[ACC]]
// CHECK: scf.yield %[[NEXT]]
// CHECK: %[[TOTAL:.+]] = gpu.all_reduce add %[[PARTIAL]] uniform
// CHECK: scf.if
// CHECK: %[[OLD:.+]] = memref.load %[[OUT]]
// CHECK: %[[NEW:.+]] = arith.addf %[[TOTAL]], %[[OLD]]
// CHECK: memref.store %[[NEW]], %[[OUT]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @sum_of_squares(%x: memref<?x1024xf32>, %out: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x1024xf32>) outs(%out : memref<?xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %sum = arith.addf %sq, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// An absmax over a middle dim, indices from linalg.index: max starts from -inf.
// CHECK-LABEL: func.func @absmax_middle
// CHECK: gpu.launch
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: scf.for %[[R:.+]] = %{{.+}} to %c16
// CHECK: arith.index_cast %[[R]]
// CHECK: arith.maximumf
// CHECK: gpu.all_reduce maximumf
// CHECK: arith.maximumf
func.func @absmax_middle(%x: memref<4x16x8xf32>, %out: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x : memref<4x16x8xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %i = linalg.index 1 : index
    %c = arith.index_cast %i : index to i32
    %f = arith.sitofp %c : i32 to f32
    %a = math.absf %v : f32
    %s = arith.addf %a, %f : f32
    %m = arith.maximumf %acc, %s : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Left as they are: two reduced dims, a body that reads the output twice, a combiner
// gpu.all_reduce does not have, tensors.
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: gpu.launch
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: gpu.launch
func.func @not_taken(%x: memref<4x16xf32>, %s: memref<f32>, %out: memref<4xf32>,
                     %t: tensor<4x16xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<4x16xf32>) outs(%s : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x16xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %v, %acc : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x16xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %d = arith.subf %acc, %v : f32
    linalg.yield %d : f32
  }
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%t : tensor<4x16xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// The fill just before is folded into the kernel: the total is combined with its value.
// CHECK-LABEL: func.func @fill_folded
// CHECK-SAME: (%[[X:.+]]: memref<2x64xf32>, %[[OUT:.+]]: memref<2xf32>, %[[INIT:.+]]: f32)
// CHECK-NOT: linalg.fill
// CHECK: %[[TOTAL:.+]] = gpu.all_reduce add
// CHECK: scf.if
// CHECK-NOT: memref.load
// CHECK: %[[NEW:.+]] = arith.addf %[[TOTAL]], %[[INIT]]
// CHECK: memref.store %[[NEW]], %[[OUT]]
func.func @fill_folded(%x: memref<2x64xf32>, %out: memref<2xf32>, %init: f32) {
  linalg.fill ins(%init : f32) outs(%out : memref<2xf32>)
  %c = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x64xf32>) outs(%out : memref<2xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// A write between the fill and the reduction keeps the fill, and the output is read.
// CHECK-LABEL: func.func @fill_kept
// CHECK: linalg.fill
// CHECK: memref.store
// CHECK: gpu.launch
// CHECK: gpu.all_reduce add
// CHECK: memref.load
// CHECK: arith.addf
func.func @fill_kept(%x: memref<2x64xf32>, %out: memref<2xf32>, %init: f32, %i: index) {
  linalg.fill ins(%init : f32) outs(%out : memref<2xf32>)
  memref.store %init, %out[%i] : memref<2xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x64xf32>) outs(%out : memref<2xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %sum = arith.addf %v, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// RUN: not mfc-opt %s --split-input-file --mfc-cuda-reduction-kernels=threads=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mfc-cuda-reduction-kernels: threads must be 1..1024 (a CUDA block), got 0
// CHECK-LABEL: func.func @bad_threads
func.func @bad_threads() {
  return
}
