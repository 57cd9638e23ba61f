// RUN: mfc-opt %s --split-input-file | FileCheck %s
// Round trip: print, parse again, and the generic form must agree too.
// RUN: mfc-opt %s --split-input-file | mfc-opt --split-input-file | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mlir-print-op-generic | mfc-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.+]]: tensor<?x32xi8>, %[[W:.+]]: tensor<64x8xi8>)
// CHECK: tern.matmul %[[X]], %[[W]] : tensor<?x32xi8>, tensor<64x8xi8> -> tensor<?x64xi32>
func.func @matmul(%x: tensor<?x32xi8>, %w: tensor<64x8xi8>) -> tensor<?x64xi32> {
  %0 = tern.matmul %x, %w : tensor<?x32xi8>, tensor<64x8xi8> -> tensor<?x64xi32>
  return %0 : tensor<?x64xi32>
}

// -----

// K not a multiple of 4: the last byte of each row is partly padding.
// CHECK-LABEL: func.func @matmul_padded_rows_batched
// CHECK: tern.matmul %{{.+}}, %{{.+}} : tensor<2x?x10xi8>, tensor<5x3xi8> -> tensor<2x?x5xi32>
func.func @matmul_padded_rows_batched(%x: tensor<2x?x10xi8>, %w: tensor<5x3xi8>) -> tensor<2x?x5xi32> {
  %0 = tern.matmul %x, %w : tensor<2x?x10xi8>, tensor<5x3xi8> -> tensor<2x?x5xi32>
  return %0 : tensor<2x?x5xi32>
}

// -----

// Packed weights as a dense resource blob: 2 rows of 4 weights, +1 0 -1 +1 / 0 0 0 -1.
// CHECK-LABEL: func.func @matmul_resource_weights
// CHECK: %[[W:.+]] = arith.constant dense_resource<packed_w> : tensor<2x1xi8>
// CHECK: tern.matmul %{{.+}}, %[[W]]
func.func @matmul_resource_weights(%x: tensor<3x4xi8>) -> tensor<3x2xi32> {
  %w = arith.constant dense_resource<packed_w> : tensor<2x1xi8>
  %0 = tern.matmul %x, %w : tensor<3x4xi8>, tensor<2x1xi8> -> tensor<3x2xi32>
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
// CHECK: tern.bitlinear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : (tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) -> tensor<?x64xf32>
// CHECK: tern.bitlinear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32} : (tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<64xf32>) -> tensor<?x64xf32>
func.func @bitlinear(%x: tensor<?x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>,
                     %a: tensor<1xf32>, %per_channel: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = tern.bitlinear %x, %n, %w, %a : (tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) -> tensor<?x64xf32>
  %1 = tern.bitlinear %x, %n, %w, %per_channel {eps = 1.0e-5 : f32} : (tensor<?x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<64xf32>) -> tensor<?x64xf32>
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
// CHECK: tern.matmul %{{.+}}, %{{.+}} : tensor<?x32xf32>, tensor<64x8xi8> -> tensor<?x64xf32>
func.func @matmul_float(%x: tensor<?x32xf32>, %w: tensor<64x8xi8>) -> tensor<?x64xf32> {
  %0 = tern.matmul %x, %w : tensor<?x32xf32>, tensor<64x8xi8> -> tensor<?x64xf32>
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
