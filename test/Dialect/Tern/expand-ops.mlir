// RUN: mfc-opt %s --split-input-file --tern-expand-ops | FileCheck %s

// CHECK-LABEL: func.func @quantize_act
// CHECK-NOT: tern.quantize_act
// The per-token absmax: a reduction over the last dim into [..., 1].
// CHECK: %[[ABSMAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: %[[SCALE:.+]] = linalg.generic
// CHECK-SAME: ins(%[[ABSMAX]] : tensor<?x1xf32>)
// CHECK: arith.divf
// CHECK: %[[Q:.+]] = linalg.generic
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.+}} : f32 to i8
// CHECK: return %[[Q]], %[[SCALE]]
func.func @quantize_act(%x: tensor<?x16xf32>) -> (tensor<?x16xi8>, tensor<?x1xf32>) {
  %q, %s = tern.quantize_act %x : tensor<?x16xf32> -> tensor<?x16xi8>, tensor<?x1xf32>
  return %q, %s : tensor<?x16xi8>, tensor<?x1xf32>
}

// -----

// BitLinear: norm, then the (expanded) activation quantization, the int8 ternary
// matmul, and one rescale per output.
// CHECK-LABEL: func.func @bitlinear
// CHECK-NOT: tern.bitlinear
// CHECK-NOT: tern.quantize_act
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: %[[ACC:.+]] = tern.matmul ins(%{{.+}}, %{{.+}} : tensor<2x16xi8>, tensor<8x4xi8>) outs(%{{.+}} : tensor<2x8xi32>) -> tensor<2x8xi32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[ACC]], %{{.+}}, %{{.+}} : tensor<2x8xi32>, tensor<2x1xf32>, tensor<8xf32>)
// CHECK: arith.sitofp
func.func @bitlinear(%x: tensor<2x16xf32>, %n: tensor<16xf32>, %w: tensor<8x4xi8>, %a: tensor<8xf32>) -> tensor<2x8xf32> {
  %init_y = tensor.empty() : tensor<2x8xf32>
  %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x16xf32>, tensor<16xf32>, tensor<8x4xi8>, tensor<8xf32>) outs(%init_y : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @mlgru_scan
// CHECK-SAME: (%[[I:.+]]: tensor<1x?x8xf32>, %[[F:.+]]: tensor<1x?x8xf32>, %[[H0:.+]]: tensor<1x8xf32>, %[[LB:.+]]: tensor<8xf32>)
// CHECK-NOT: tern.mlgru_scan
// CHECK: %[[T:.+]] = tensor.dim %[[I]], %c1
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[STEP:.+]] = %{{.+}} to %[[T]] step %{{.+}} iter_args(%[[H:.+]] = %[[H0]], %[[HS:.+]] = %{{.+}})
// CHECK: %[[IT:.+]] = tensor.extract_slice %[[I]][0, %[[STEP]], 0]
// CHECK: %[[FT:.+]] = tensor.extract_slice %[[F]][0, %[[STEP]], 0]
// CHECK: %[[HN:.+]] = linalg.generic
// CHECK-SAME: ins(%[[IT]], %[[FT]], %[[H]], %[[LB]] :
// CHECK: math.exp
// CHECK: %[[HSN:.+]] = tensor.insert_slice %[[HN]] into %[[HS]][0, %[[STEP]], 0]
// CHECK: scf.yield %[[HN]], %[[HSN]]
// CHECK: return %[[LOOP]]#1, %[[LOOP]]#0
func.func @mlgru_scan(%i: tensor<1x?x8xf32>, %f: tensor<1x?x8xf32>, %h0: tensor<1x8xf32>, %lb: tensor<8xf32>)
    -> (tensor<1x?x8xf32>, tensor<1x8xf32>) {
  %hs, %h = tern.mlgru_scan %i, %f, %h0 lower_bound %lb : (tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x8xf32>, tensor<8xf32>) -> (tensor<1x?x8xf32>, tensor<1x8xf32>)
  return %hs, %h : tensor<1x?x8xf32>, tensor<1x8xf32>
}

// -----

// tern.matmul is left for tern-lower-matmul.
// CHECK-LABEL: func.func @matmul_untouched
// CHECK: tern.matmul
func.func @matmul_untouched(%x: tensor<2x8xi8>, %w: tensor<4x2xi8>) -> tensor<2x4xi32> {
  %init_0 = tensor.empty() : tensor<2x4xi32>
  %0 = tern.matmul ins(%x, %w : tensor<2x8xi8>, tensor<4x2xi8>) outs(%init_0 : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

// CHECK-LABEL: func.func @glu
// CHECK-SAME: (%[[G:.+]]: tensor<?x64xf32>, %[[V:.+]]: tensor<?x64xf32>)
// CHECK-NOT: tern.glu
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[G]], %[[V]] : tensor<?x64xf32>, tensor<?x64xf32>)
// CHECK-NEXT: ^bb0(%[[GV:.+]]: f32, %[[VV:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[NEG:.+]] = arith.negf %[[GV]]
// CHECK: %[[EXP:.+]] = math.exp %[[NEG]]
// CHECK: %[[DEN:.+]] = arith.addf %[[EXP]], %{{.+}}
// CHECK: %[[SIG:.+]] = arith.divf %{{.+}}, %[[DEN]]
// CHECK: %[[SILU:.+]] = arith.mulf %[[GV]], %[[SIG]]
// CHECK: %[[Y:.+]] = arith.mulf %[[SILU]], %[[VV]]
// CHECK: linalg.yield %[[Y]]
func.func @glu(%gate: tensor<?x64xf32>, %value: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = tern.glu %gate, %value : tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
