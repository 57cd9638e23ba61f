// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-ternary-gemv | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-ternary-gemv=rows=2 | FileCheck %s --check-prefix=ROWS2
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-ternary-gemv=mma-min-tokens=0 | FileCheck %s --check-prefix=NOMMA

// K = 256: 4 steps of 64 codes, so groups of 4 lanes; N = 100 leaves the GPU idle with
// more than one output per group. One block per token row (block x), 32 groups of a
// 128-thread block per tile of outputs (block y).
// CHECK-LABEL: func.func @gemv
// CHECK-SAME: (%[[X:.+]]: memref<1x2x256xi8>, %[[W:.+]]: memref<100x64xi8>, %[[Y:.+]]: memref<1x2x100xi32>)
// CHECK: %[[X2:.+]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]]
// CHECK: %[[XD:.+]] = memref.cast %[[X2]] : memref<2x256xi8> to memref<?x256xi8>
// CHECK: %[[Y2:.+]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2]]
// CHECK: %[[YD:.+]] = memref.cast %[[Y2]] : memref<2x100xi32> to memref<?x100xi32>
// CHECK: %[[TOKENS:.+]] = memref.dim %[[XD]], %c0
// CHECK: gpu.launch blocks(%[[TOKEN:.+]], %[[TILE:.+]], %{{.+}}) in (%{{.+}} = %[[TOKENS]], %{{.+}} = %c4{{.*}}, %{{.+}} = %c1{{.*}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK: %[[LANE:.+]] = arith.remui %[[T]], %c4
// The last row is read in place of rows past N.
// CHECK: arith.minui %{{.+}}, %c99
// CHECK: scf.for %[[STEP:.+]] = %[[LANE]] to %c4{{.*}} step %c4{{.*}} iter_args
// 128-bit loads of activations and codes.
// CHECK-COUNT-4: vector.load %[[XD]][%[[TOKEN]], %{{.+}}] {alignment = 16 : i64} : memref<?x256xi8>, vector<16xi8>
// CHECK: nvvm.prmt <default>
// CHECK: vector.load %[[W]][%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<100x64xi8>, vector<16xi8>
// The +1 bits and sign bits of codes at bits 2j, j = 0: masks 0x01010101, 0x02020202.
// CHECK: arith.andi %{{.+}}, %c16843009_i32
// CHECK: nvvm.dot.accumulate.4way %{{.+}} <signed>, %{{.+}} <unsigned>
// CHECK: arith.andi %{{.+}}, %c33686018_i32
// CHECK: nvvm.dot.accumulate.4way
// CHECK-COUNT-30: nvvm.dot.accumulate.4way
// CHECK-NOT: nvvm.dot.accumulate.4way
// CHECK: scf.yield
// The sum over the group's lanes, then the first lane stores the row if it is < N.
// CHECK: gpu.shuffle  xor %{{.+}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.+}}, %c1_i32
// CHECK: arith.cmpi ult, %{{.+}}, %c100
// CHECK: scf.if
// CHECK: memref.store %{{.+}}, %[[YD]][%[[TOKEN]], %{{.+}}] : memref<?x100xi32>
// CHECK: gpu.terminator
// CHECK-NOT: tern.matmul
// ROWS2-LABEL: func.func @gemv
// ROWS2: gpu.launch
func.func @gemv(%x: memref<1x2x256xi8>, %w: memref<100x64xi8>, %y: memref<1x2x100xi32>) {
  tern.matmul ins(%x, %w : memref<1x2x256xi8>, memref<100x64xi8>) outs(%y : memref<1x2x100xi32>)
  return
}

// -----

// Enough outputs for the GPU: 4 rows per group of 32 lanes (K = 8192 is 128 steps),
// 16 rows per 128-thread block, 4096 / 16 = 256 tiles. A vector's one token row is a
// unit dim added in front.
// CHECK-LABEL: func.func @vector_gemv
// CHECK: memref.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [1, 8192]
// CHECK: gpu.launch blocks({{.+}}) in ({{.+}} = %{{.+}}, {{.+}} = %c256{{.*}}, {{.+}} = %c1{{.*}})
// CHECK-COUNT-4: arith.minui
// CHECK-NOT: arith.minui
// CHECK: gpu.shuffle  xor %{{.+}}, %c16_i32
// CHECK-COUNT-4: memref.store
// ROWS2-LABEL: func.func @vector_gemv
// ROWS2-COUNT-2: arith.minui
// ROWS2-NOT: arith.minui
func.func @vector_gemv(%x: memref<8192xi8>, %w: memref<4096x2048xi8>, %y: memref<4096xi32>) {
  tern.matmul ins(%x, %w : memref<8192xi8>, memref<4096x2048xi8>) outs(%y : memref<4096xi32>)
  return
}

// -----

// Not for the kernel, left to tern-lower-matmul: float activations, codes in columns,
// K not a multiple of 64, a strided view, tensors.
// CHECK-LABEL: func.func @not_taken
// ROWS2-LABEL: func.func @not_taken
// CHECK-NOT: gpu.launch
// CHECK-COUNT-5: tern.matmul
// CHECK-NOT: gpu.launch
func.func @not_taken(%xf: memref<2x256xf32>, %wf: memref<100x64xi8>, %yf: memref<2x100xf32>,
                     %x: memref<2x256xi8>, %wc: memref<64x100xi8>, %y: memref<2x100xi32>,
                     %x96: memref<2x96xi8>, %w96: memref<100x24xi8>,
                     %xs: memref<2x256xi8, strided<[512, 1]>>,
                     %xt: tensor<2x256xi8>, %wt: tensor<100x64xi8>,
                     %yt: tensor<2x100xi32>) -> tensor<2x100xi32> {
  tern.matmul ins(%xf, %wf : memref<2x256xf32>, memref<100x64xi8>) outs(%yf : memref<2x100xf32>)
  tern.matmul ins(%x, %wc : memref<2x256xi8>, memref<64x100xi8>) outs(%y : memref<2x100xi32>) {layout = #tern.packed<bits = 2, order = columns>}
  tern.matmul ins(%x96, %w96 : memref<2x96xi8>, memref<100x24xi8>) outs(%y : memref<2x100xi32>)
  tern.matmul ins(%xs, %wf : memref<2x256xi8, strided<[512, 1]>>, memref<100x64xi8>) outs(%y : memref<2x100xi32>)
  %r = tern.matmul ins(%xt, %wt : tensor<2x256xi8>, tensor<100x64xi8>) outs(%yt : tensor<2x100xi32>) -> tensor<2x100xi32>
  return %r : tensor<2x100xi32>
}

// -----

// CHECK-LABEL: func.func @bad_option
// RUN: not mfc-opt %s --split-input-file --mfc-cuda-lower-ternary-gemv=warps=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: mfc-cuda-lower-ternary-gemv: rows must be >= 1, warps 1..32, mma-min-tokens >= 0
func.func @bad_option() {
  return
}

// -----

// The element-wise op that reads the product (a bitlinear's rescale) runs on each sum in
// the kernel; the product's buffer goes.
// CHECK-LABEL: func.func @epilogue
// CHECK-SAME: (%[[X:.+]]: memref<2x3x256xi8>, %[[W:.+]]: memref<100x64xi8>, %[[S:.+]]: memref<2x3x1xf32>, %[[A:.+]]: memref<100xf32>, %[[Y:.+]]: memref<2x3x100xf32>)
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK: gpu.shuffle
// CHECK: scf.if
// The token's leading indices from the output's shape.
// CHECK: %[[D1:.+]] = memref.dim %[[Y]], %c1
// CHECK: arith.remui %{{.+}}, %[[D1]]
// CHECK: memref.load %[[S]]
// CHECK: memref.load %[[A]]
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK: memref.store %{{.+}}, %[[Y]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.dealloc
func.func @epilogue(%x: memref<2x3x256xi8>, %w: memref<100x64xi8>, %s: memref<2x3x1xf32>,
                    %a: memref<100xf32>, %y: memref<2x3x100xf32>) {
  %acc = memref.alloc() : memref<2x3x100xi32>
  tern.matmul ins(%x, %w : memref<2x3x256xi8>, memref<100x64xi8>) outs(%acc : memref<2x3x100xi32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>,
                                   affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc, %s, %a : memref<2x3x100xi32>, memref<2x3x1xf32>, memref<100xf32>) outs(%y : memref<2x3x100xf32>) {
  ^bb0(%v: i32, %sx: f32, %sw: f32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    %m = arith.mulf %f, %sw : f32
    %d = arith.divf %m, %sx : f32
    linalg.yield %d : f32
  }
  memref.dealloc %acc : memref<2x3x100xi32>
  return
}

// -----

// Not fused: the product is read again later, or read transposed.
// CHECK-LABEL: func.func @no_epilogue
// CHECK: gpu.launch
// CHECK: memref.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}] : memref<?x100xi32>
// CHECK: linalg.generic
// CHECK: gpu.launch
// CHECK: linalg.generic
func.func @no_epilogue(%x: memref<2x256xi8>, %w: memref<100x64xi8>, %y: memref<2x100xf32>,
                       %t: memref<100x2xf32>, %keep: memref<2x100xi32>) {
  %acc = memref.alloc() : memref<2x100xi32>
  tern.matmul ins(%x, %w : memref<2x256xi8>, memref<100x64xi8>) outs(%acc : memref<2x100xi32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<2x100xi32>) outs(%y : memref<2x100xf32>) {
  ^bb0(%v: i32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    linalg.yield %f : f32
  }
  memref.copy %acc, %keep : memref<2x100xi32> to memref<2x100xi32>
  %acc2 = memref.alloc() : memref<2x100xi32>
  tern.matmul ins(%x, %w : memref<2x256xi8>, memref<100x64xi8>) outs(%acc2 : memref<2x100xi32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc2 : memref<2x100xi32>) outs(%t : memref<100x2xf32>) {
  ^bb0(%v: i32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    linalg.yield %f : f32
  }
  return
}

// -----

// 64 token rows: the tensor-core kernel. Blocks of 4 warps take 64 outputs (x) by 64
// tokens (y); each step of 128 inputs loads 8 bytes of codes per output tile, decodes
// them by prmt and runs 4 k-blocks x 4 token tiles x 2 output tiles of int8 mma.
// CHECK-LABEL: func.func @mma_static
// CHECK-SAME: (%[[X:.+]]: memref<64x256xi8>, %[[W:.+]]: memref<96x64xi8>, %[[Y:.+]]: memref<64x96xi32>)
// CHECK-NOT: scf.if
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c2{{.*}}, %{{.+}} = %{{.+}}, %{{.+}} = %c1{{.*}}) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c128{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// Rows past the ends read the last output and the last token.
// CHECK: arith.minui %{{.+}}, %c95
// CHECK: scf.for %{{.+}} = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args
// CHECK: vector.load %[[W]][%{{.+}}, %{{.+}}] {alignment = 8 : i64} : memref<96x64xi8>, vector<8xi8>
// CHECK: nvvm.prmt
// CHECK: vector.load %{{.+}}[%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x256xi8>, vector<16xi8>
// CHECK-COUNT-32: nvvm.mma.sync {{.+}} {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// CHECK: scf.yield
// Each of the 32 sums a lane holds is stored where its token and output exist.
// CHECK-COUNT-32: memref.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}] : memref<?x96xi32>
// CHECK: gpu.terminator
// CHECK-NOT: tern.matmul
func.func @mma_static(%x: memref<64x256xi8>, %w: memref<96x64xi8>, %y: memref<64x96xi32>) {
  tern.matmul ins(%x, %w : memref<64x256xi8>, memref<96x64xi8>) outs(%y : memref<64x96xi32>)
      {layout = #tern.packed<bits = 2, order = rows>}
  return
}

// -----

// An unknown number of token rows: the kernel is chosen per call. Without tensor cores
// (mma-min-tokens=0) only the GEMV remains.
// CHECK-LABEL: func.func @mma_or_gemv
// CHECK: %[[TOKENS:.+]] = memref.dim
// CHECK: %[[MANY:.+]] = arith.cmpi uge, %[[TOKENS]], %c8
// CHECK: scf.if %[[MANY]]
// CHECK: gpu.launch
// CHECK: nvvm.mma.sync
// CHECK: } else {
// CHECK: gpu.launch
// CHECK: nvvm.dot.accumulate.4way
// NOMMA-LABEL: func.func @mma_or_gemv
// NOMMA-NOT: scf.if
// NOMMA-NOT: nvvm.mma.sync
// NOMMA: nvvm.dot.accumulate.4way
func.func @mma_or_gemv(%x: memref<?x256xi8>, %w: memref<96x64xi8>, %y: memref<?x96xi32>) {
  tern.matmul ins(%x, %w : memref<?x256xi8>, memref<96x64xi8>) outs(%y : memref<?x96xi32>)
      {layout = #tern.packed<bits = 2, order = rows>}
  return
}

// -----

// K = 192 is no whole number of 128-input steps: the GEMV serves every token count.
// CHECK-LABEL: func.func @gemv_only_k
// CHECK-NOT: scf.if
// CHECK-NOT: nvvm.mma.sync
// CHECK: nvvm.dot.accumulate.4way
func.func @gemv_only_k(%x: memref<?x192xi8>, %w: memref<96x48xi8>, %y: memref<?x96xi32>) {
  tern.matmul ins(%x, %w : memref<?x192xi8>, memref<96x48xi8>) outs(%y : memref<?x96xi32>)
      {layout = #tern.packed<bits = 2, order = rows>}
  return
}
