// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-bitlinear=threads=64 | FileCheck %s

// One block per token (2 x 3 of them) normalizes and quantizes its row; the product and
// the rescale follow on temporaries this lowering frees.
// CHECK-LABEL: func.func @bitlinear
// CHECK-SAME: (%[[X:.+]]: memref<2x3x128xf32>, %[[N:.+]]: memref<128xf32>, %[[W:.+]]: memref<16x32xi8>, %[[A:.+]]: memref<16xf32>, %[[Y:.+]]: memref<2x3x16xf32>)
// CHECK: %[[Q:.+]] = memref.alloc() : memref<2x3x128xi8>
// CHECK: %[[S:.+]] = memref.alloc() : memref<2x3x1xf32>
// CHECK: %[[ACC:.+]] = memref.alloc() : memref<2x3x16xi32>
// CHECK: gpu.launch blocks(%[[B:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[TOKENS:.+]], %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c64{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK: scf.for %{{.+}} = %[[T]] to %c128{{.*}} step %c64
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: gpu.all_reduce add
// CHECK: math.sqrt
// CHECK: scf.for
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: gpu.all_reduce maximumf
// CHECK: scf.for
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.+}} : f32 to i8
// CHECK: memref.store %{{.+}}, %[[Q]]
// CHECK: scf.if
// CHECK: memref.store %{{.+}}, %[[S]]
// CHECK: gpu.terminator
// CHECK: tern.matmul ins(%[[Q]], %[[W]] : memref<2x3x128xi8>, memref<16x32xi8>) outs(%[[ACC]] : memref<2x3x16xi32>)
// CHECK: linalg.generic {{.+}} ins(%[[ACC]], %[[S]], %[[A]] : memref<2x3x16xi32>, memref<2x3x1xf32>, memref<16xf32>) outs(%[[Y]] : memref<2x3x16xf32>)
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK-DAG: memref.dealloc %[[Q]]
// CHECK-DAG: memref.dealloc %[[S]]
// CHECK-DAG: memref.dealloc %[[ACC]]
// CHECK-NOT: tern.bitlinear
func.func @bitlinear(%x: memref<2x3x128xf32>, %n: memref<128xf32>, %w: memref<16x32xi8>,
                     %a: memref<16xf32>, %y: memref<2x3x16xf32>) {
  tern.bitlinear ins(%x, %n, %w, %a : memref<2x3x128xf32>, memref<128xf32>, memref<16x32xi8>, memref<16xf32>)
                 outs(%y : memref<2x3x16xf32>)
  return
}

// -----

// Dynamic tokens, a per-tensor scale and a columns layout (kept on the product).
// CHECK-LABEL: func.func @dynamic_tokens
// CHECK: %[[D:.+]] = memref.dim %{{.+}}, %c0
// CHECK: memref.alloc(%[[D]]) : memref<?x64xi8>
// CHECK: gpu.launch
// CHECK: tern.matmul {{.+}} {layout = #tern.packed<bits = 2, order = columns>}
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #[[SCALAR:.+]], #{{.+}}]
func.func @dynamic_tokens(%x: memref<?x64xf16>, %n: memref<64xf16>, %w: memref<16x8xi8>,
                          %a: memref<1xf16>, %y: memref<?x8xf16>) {
  tern.bitlinear ins(%x, %n, %w, %a : memref<?x64xf16>, memref<64xf16>, memref<16x8xi8>, memref<1xf16>)
                 outs(%y : memref<?x8xf16>) {layout = #tern.packed<bits = 2, order = columns>}
  return
}

// -----

// On tensors it is tern-expand-ops' to expand.
// CHECK-LABEL: func.func @tensors
// CHECK-NOT: gpu.launch
// CHECK: tern.bitlinear
func.func @tensors(%x: tensor<2x128xf32>, %n: tensor<128xf32>, %w: tensor<16x32xi8>,
                   %a: tensor<16xf32>, %y: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %r = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x128xf32>, tensor<128xf32>, tensor<16x32xi8>, tensor<16xf32>)
                      outs(%y : tensor<2x16xf32>) -> tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}

// -----

// RUN: not mfc-opt %s --split-input-file --mfc-cuda-lower-bitlinear=threads=2048 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mfc-cuda-lower-bitlinear: threads must be 1..1024 (a CUDA block), got 2048
// CHECK-LABEL: func.func @bad_threads
func.func @bad_threads() {
  return
}
