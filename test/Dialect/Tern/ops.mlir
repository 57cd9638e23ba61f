// RUN: mfc-opt %s --split-input-file | FileCheck %s
// Round trip: print, parse again, and the generic form must agree too.
// RUN: mfc-opt %s --split-input-file | mfc-opt --split-input-file | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mlir-print-op-generic | mfc-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.+]]: tensor<?x32xi8>, %[[W:.+]]: tensor<64x8xi8>)
// CHECK: tern.matmul ins(%[[X]], %[[W]] : tensor<?x32xi8>, tensor<64x8xi8>) outs(%{{.+}} : tensor<?x64xi32>) -> tensor<?x64xi32>
func.func @matmul(%x: tensor<?x32xi8>, %w: tensor<64x8xi8>) -> tensor<?x64xi32> {
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x32xi8>
  %init_0 = tensor.empty(%d0_0) : tensor<?x64xi32>
  %0 = tern.matmul ins(%x, %w : tensor<?x32xi8>, tensor<64x8xi8>) outs(%init_0 : tensor<?x64xi32>) -> tensor<?x64xi32>
  return %0 : tensor<?x64xi32>
}

// -----

// K not a multiple of 4: the last byte of each row is partly padding.
// CHECK-LABEL: func.func @matmul_padded_rows_batched
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x?x10xi8>, tensor<5x3xi8>) outs(%{{.+}} : tensor<2x?x5xi32>) -> tensor<2x?x5xi32>
func.func @matmul_padded_rows_batched(%x: tensor<2x?x10xi8>, %w: tensor<5x3xi8>) -> tensor<2x?x5xi32> {
  %c1_0 = arith.constant 1 : index
  %d1_0 = tensor.dim %x, %c1_0 : tensor<2x?x10xi8>
  %init_0 = tensor.empty(%d1_0) : tensor<2x?x5xi32>
  %0 = tern.matmul ins(%x, %w : tensor<2x?x10xi8>, tensor<5x3xi8>) outs(%init_0 : tensor<2x?x5xi32>) -> tensor<2x?x5xi32>
  return %0 : tensor<2x?x5xi32>
}

// -----

// Packed weights as a dense resource blob: 2 rows of 4 weights, +1 0 -1 +1 / 0 0 0 -1.
// CHECK-LABEL: func.func @matmul_resource_weights
// CHECK: %[[W:.+]] = arith.constant dense_resource<packed_w> : tensor<2x1xi8>
// CHECK: tern.matmul ins(%{{.+}}, %[[W]] :
func.func @matmul_resource_weights(%x: tensor<3x4xi8>) -> tensor<3x2xi32> {
  %w = arith.constant dense_resource<packed_w> : tensor<2x1xi8>
  %init_0 = tensor.empty() : tensor<3x2xi32>
  %0 = tern.matmul ins(%x, %w : tensor<3x4xi8>, tensor<2x1xi8>) outs(%init_0 : tensor<3x2xi32>) -> tensor<3x2xi32>
  return %0 : tensor<3x2xi32>
}
{-#
  dialect_resources: {
    builtin: {
      packed_w: "0x0100000071C0"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @quantize_act
// CHECK: %{{.+}}, %{{.+}} = tern.quantize_act %{{.+}} : tensor<4x?x32xf32> -> tensor<4x?x32xi8>, tensor<4x?x1xf32>
// CHECK: tern.quantize_act %{{.+}} {eps = 1.000000e-03 : f32}
func.func @quantize_act(%x: tensor<4x?x32xf32>) -> (tensor<4x?x32xi8>, tensor<4x?x1xf32>) {
  %q, %s = tern.quantize_act %x : tensor<4x?x32xf32> -> tensor<4x?x32xi8>, tensor<4x?x1xf32>
  %q2, %s2 = tern.quantize_act %x {eps = 1.0e-3 : f32} : tensor<4x?x32xf32> -> tensor<4x?x32xi8>, tensor<4x?x1xf32>
  return %q, %s : tensor<4x?x32xi8>, tensor<4x?x1xf32>
}

// -----

// CHECK-LABEL: func.func @bitlinear
// CHECK: tern.bitlinear ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%{{.+}} : tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK: tern.bitlinear ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<64xf32>) outs(%{{.+}} : tensor<?x64xf32>) {eps = 9.99999974E-6 : f32} -> tensor<?x64xf32>
func.func @bitlinear(%x: tensor<?x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>,
                     %a: tensor<1xf32>, %per_channel: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x32xf32>
  %init_0 = tensor.empty(%d0_0) : tensor<?x64xf32>
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%init_0 : tensor<?x64xf32>) -> tensor<?x64xf32>
  %c0_1 = arith.constant 0 : index
  %d0_1 = tensor.dim %x, %c0_1 : tensor<?x32xf32>
  %init_1 = tensor.empty(%d0_1) : tensor<?x64xf32>
  %1 = tern.bitlinear ins(%x, %n, %w, %per_channel : tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<64xf32>) outs(%init_1 : tensor<?x64xf32>) {eps = 1.0e-5 : f32} -> tensor<?x64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @mlgru_scan
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} lower_bound %{{.+}} : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>, tensor<16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
func.func @mlgru_scan(%i: tensor<2x?x16xf32>, %f: tensor<2x?x16xf32>, %h0: tensor<2x16xf32>,
                      %lb: tensor<16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>) {
  %h, %last = tern.mlgru_scan %i, %f, %h0 : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
  %h2, %last2 = tern.mlgru_scan %i, %f, %last lower_bound %lb : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>, tensor<16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
  return %h2, %last2 : tensor<2x?x16xf32>, tensor<2x16xf32>
}

// -----

// Float activations accumulate in their own type (still only adds and subtracts).
// CHECK-LABEL: func.func @matmul_float
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<?x32xf32>, tensor<64x8xi8>) outs(%{{.+}} : tensor<?x64xf32>) -> tensor<?x64xf32>
func.func @matmul_float(%x: tensor<?x32xf32>, %w: tensor<64x8xi8>) -> tensor<?x64xf32> {
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x32xf32>
  %init_0 = tensor.empty(%d0_0) : tensor<?x64xf32>
  %0 = tern.matmul ins(%x, %w : tensor<?x32xf32>, tensor<64x8xi8>) outs(%init_0 : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @glu
// CHECK: tern.glu %{{.+}}, %{{.+}} : tensor<?x1x64xf32>
func.func @glu(%gate: tensor<?x1x64xf32>, %value: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
  %0 = tern.glu %gate, %value : tensor<?x1x64xf32>
  return %0 : tensor<?x1x64xf32>
}

// -----

// CHECK-LABEL: func.func @mlgru_scan_ungated
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} {ungated} : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
func.func @mlgru_scan_ungated(%c: tensor<2x?x16xf32>, %f: tensor<2x?x16xf32>, %h0: tensor<2x16xf32>)
    -> (tensor<2x?x16xf32>, tensor<2x16xf32>) {
  %h, %last = tern.mlgru_scan %c, %f, %h0 {ungated} : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x16xf32>) -> (tensor<2x?x16xf32>, tensor<2x16xf32>)
  return %h, %last : tensor<2x?x16xf32>, tensor<2x16xf32>
}

// -----

// After bufferization: the op writes its destination and returns nothing.
// CHECK-LABEL: func.func @matmul_buffers
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : memref<?x32xi8>, memref<64x8xi8>) outs(%{{.+}} : memref<?x64xi32, strided<[?, 1], offset: ?>>)
// CHECK-NOT: ->
func.func @matmul_buffers(%x: memref<?x32xi8>, %w: memref<64x8xi8>, %y: memref<?x64xi32, strided<[?, 1], offset: ?>>) {
  tern.matmul ins(%x, %w : memref<?x32xi8>, memref<64x8xi8>) outs(%y : memref<?x64xi32, strided<[?, 1], offset: ?>>)
  return
}

// -----

// Weights in columns ([ceil(K/4), N]); a tile of a dynamic number of outputs.
// CHECK-LABEL: func.func @matmul_columns_tile
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<3x32xf16>, tensor<8x?xi8>) outs(%{{.+}} : tensor<3x?xf16>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<3x?xf16>
func.func @matmul_columns_tile(%x: tensor<3x32xf16>, %w: tensor<8x?xi8>, %init: tensor<3x?xf16>) -> tensor<3x?xf16> {
  %0 = tern.matmul ins(%x, %w : tensor<3x32xf16>, tensor<8x?xi8>) outs(%init : tensor<3x?xf16>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<3x?xf16>
  return %0 : tensor<3x?xf16>
}

// -----

// The default layout is not printed.
// CHECK-LABEL: func.func @matmul_default_layout
// CHECK: tern.matmul ins(%{{.+}}, %{{.+}} : tensor<3x8xi8>, tensor<4x2xi8>) outs(%{{.+}} : tensor<3x4xi32>) -> tensor<3x4xi32>
func.func @matmul_default_layout(%x: tensor<3x8xi8>, %w: tensor<4x2xi8>, %init: tensor<3x4xi32>) -> tensor<3x4xi32> {
  %0 = tern.matmul ins(%x, %w : tensor<3x8xi8>, tensor<4x2xi8>) outs(%init : tensor<3x4xi32>) {layout = #tern.packed<bits = 2, order = rows>} -> tensor<3x4xi32>
  return %0 : tensor<3x4xi32>
}

// -----

// bf16 and f16 activations, norms, scales and states.
// CHECK-LABEL: func.func @half_precision
// CHECK: tern.bitlinear ins(%{{.+}} : tensor<?x32xbf16>, tensor<32xbf16>, tensor<64x8xi8>, tensor<1xbf16>) outs(%{{.+}} : tensor<?x64xbf16>) -> tensor<?x64xbf16>
// CHECK: tern.quantize_act %{{.+}} : tensor<?x32xf16> -> tensor<?x32xi8>, tensor<?x1xf16>
// CHECK: tern.glu %{{.+}} : tensor<?x32xf16>
// CHECK: tern.mlgru_scan %{{.+}} : (tensor<1x?x32xf16>, tensor<1x?x32xf16>, tensor<1x32xf16>) -> (tensor<1x?x32xf16>, tensor<1x32xf16>)
func.func @half_precision(%x: tensor<?x32xbf16>, %n: tensor<32xbf16>, %w: tensor<64x8xi8>, %a: tensor<1xbf16>,
                          %h: tensor<?x32xf16>, %i: tensor<1x?x32xf16>, %s: tensor<1x32xf16>) {
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x32xbf16>
  %init_0 = tensor.empty(%d0_0) : tensor<?x64xbf16>
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<?x32xbf16>, tensor<32xbf16>, tensor<64x8xi8>, tensor<1xbf16>) outs(%init_0 : tensor<?x64xbf16>) -> tensor<?x64xbf16>
  %q, %qs = tern.quantize_act %h : tensor<?x32xf16> -> tensor<?x32xi8>, tensor<?x1xf16>
  %g = tern.glu %h, %h : tensor<?x32xf16>
  %hs, %last = tern.mlgru_scan %i, %i, %s : (tensor<1x?x32xf16>, tensor<1x?x32xf16>, tensor<1x32xf16>) -> (tensor<1x?x32xf16>, tensor<1x32xf16>)
  return
}

// -----

// CHECK-LABEL: func.func @checked_index
// CHECK: tern.checked_index %{{.+}}, %{{.+}} {what = "Gather node 'g' (input 'ids')"} : i64
// CHECK: tern.checked_index %{{.+}}, %{{.+}} {what = "w"} : index
func.func @checked_index(%raw: i64, %i: index, %size: index) -> (index, index) {
  %0 = tern.checked_index %raw, %size {what = "Gather node 'g' (input 'ids')"} : i64
  %1 = tern.checked_index %i, %size {what = "w"} : index
  return %0, %1 : index, index
}

// -----

// CHECK-LABEL: func.func @check_equal
// CHECK: tern.check_equal %{{.+}}, %{{.+}} {what = "Reshape node 'r' (input 's')"}
func.func @check_equal(%a: index, %b: index) {
  tern.check_equal %a, %b {what = "Reshape node 'r' (input 's')"}
  return
}
