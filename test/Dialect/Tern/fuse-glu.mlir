// RUN: mfc-opt %s --split-input-file --tern-fuse-glu | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-fuse-glu=remarks=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

#id = affine_map<(d0, d1) -> (d0, d1)>

// The channel mixer: one projection split into gate and value halves (ONNX Split),
// silu(gate) as Mul(x, Sigmoid(x)), times value.
// CHECK-LABEL: func.func @split_projection
// CHECK: %[[P:.+]] = tern.bitlinear
// CHECK: %[[G:.+]] = tensor.extract_slice %[[P]][0, 0] [4, 8] [1, 1]
// CHECK: %[[V:.+]] = tensor.extract_slice %[[P]][0, 8] [4, 8] [1, 1]
// CHECK: %[[Y:.+]] = tern.glu %[[G]], %[[V]] : tensor<4x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
// REMARK: remark: fused into tern.glu
func.func @split_projection(%x: tensor<4x16xf32>, %n: tensor<16xf32>, %w: tensor<16x4xi8>, %a: tensor<1xf32>) -> tensor<4x8xf32> {
  %init_p = tensor.empty() : tensor<4x16xf32>
  %p = tern.bitlinear ins(%x, %n, %w, %a : tensor<4x16xf32>, tensor<16xf32>, tensor<16x4xi8>, tensor<1xf32>) outs(%init_p : tensor<4x16xf32>) -> tensor<4x16xf32>
  %g = tensor.extract_slice %p[0, 0] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %v = tensor.extract_slice %p[0, 8] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %sig = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %a0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %r = arith.divf %one, %den : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %silu = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %sig : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %b0: f32, %o: f32):
    %r = arith.mulf %a0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%silu, %v : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %b0: f32, %o: f32):
    %r = arith.mulf %a0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Two float tern.matmul projections, each rescaled, in one generic, value first.
// CHECK-LABEL: func.func @rescaled_matmuls
// CHECK: tern.glu %{{.+}}, %{{.+}} : tensor<4x8xf32>
func.func @rescaled_matmuls(%x: tensor<4x16xf32>, %w: tensor<8x4xi8>) -> tensor<4x8xf32> {
  %init_mg = tensor.empty() : tensor<4x8xf32>
  %mg = tern.matmul ins(%x, %w : tensor<4x16xf32>, tensor<8x4xi8>) outs(%init_mg : tensor<4x8xf32>) -> tensor<4x8xf32>
  %init_mv = tensor.empty() : tensor<4x8xf32>
  %mv = tern.matmul ins(%x, %w : tensor<4x16xf32>, tensor<8x4xi8>) outs(%init_mv : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mg : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %s = arith.constant 0.5 : f32
    %r = arith.mulf %a0, %s : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mv, %g : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v0: f32, %g0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %g0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %sig = arith.divf %one, %den : f32
    %silu = arith.mulf %sig, %g0 : f32
    %r = arith.mulf %v0, %silu : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// silu(h) * b of plain arguments (as the MLGRU output gate multiplies by an RMSNorm): no GLU.
// CHECK-LABEL: func.func @not_projections
// CHECK-NOT: tern.glu
// REMARK: remark: not fused into tern.glu: silu(a) * b does not multiply two ternary projections of one shape
func.func @not_projections(%h: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%h0: f32, %b0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %h0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %sig = arith.divf %one, %den : f32
    %silu = arith.mulf %h0, %sig : f32
    %r = arith.mulf %silu, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// sigmoid(a) * b without the factor a is a plain gate, not a SiLU GLU.
// CHECK-LABEL: func.func @sigmoid_gate
// CHECK-NOT: tern.glu
func.func @sigmoid_gate(%x: tensor<4x16xf32>, %w: tensor<8x4xi8>) -> tensor<4x8xf32> {
  %init_mg = tensor.empty() : tensor<4x8xf32>
  %mg = tern.matmul ins(%x, %w : tensor<4x16xf32>, tensor<8x4xi8>) outs(%init_mg : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mg, %mg : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%g0: f32, %v0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %g0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %sig = arith.divf %one, %den : f32
    %r = arith.mulf %sig, %v0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Nearest negative: the MLGRU's c = silu(i) * (1 - sigmoid(f)) multiplies a projection by
// a gate computed from one, not by a projection (not a GLU).
// CHECK-LABEL: func.func @gate_of_projection
// CHECK-NOT: tern.glu
// REMARK: remark: not fused into tern.glu: silu(a) * b does not multiply two ternary projections of one shape
func.func @gate_of_projection(%x: tensor<4x16xf32>, %n: tensor<16xf32>, %w: tensor<16x4xi8>, %a: tensor<1xf32>, %wf: tensor<8x4xi8>) -> tensor<4x8xf32> {
  %init_i = tensor.empty() : tensor<4x16xf32>
  %i = tern.bitlinear ins(%x, %n, %w, %a : tensor<4x16xf32>, tensor<16xf32>, tensor<16x4xi8>, tensor<1xf32>) outs(%init_i : tensor<4x16xf32>) -> tensor<4x16xf32>
  %g = tensor.extract_slice %i[0, 0] [4, 8] [1, 1] : tensor<4x16xf32> to tensor<4x8xf32>
  %init_f = tensor.empty() : tensor<4x8xf32>
  %f = tern.matmul ins(%x, %wf : tensor<4x16xf32>, tensor<8x4xi8>) outs(%init_f : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %one_minus = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%f : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %a0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %sig = arith.divf %one, %den : f32
    %r = arith.subf %one, %sig : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %sig = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %neg = arith.negf %a0 : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %one, %exp : f32
    %r = arith.divf %one, %den : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %sig, %one_minus : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %b0: f32, %c0: f32, %o: f32):
    %s = arith.mulf %a0, %b0 : f32
    %r = arith.mulf %s, %c0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
