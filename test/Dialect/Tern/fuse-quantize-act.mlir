// RUN: mfc-opt %s --split-input-file --tern-fuse-quantize-act | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-fuse-quantize-act=remarks=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The importer's chain: Abs, ReduceMax, Max(eps), Div(127, .), Mul, Round, Clip, one generic
// each. The clamped values become sitofp of the int8 values; the scale is the fused op's.
// CHECK-LABEL: func.func @absmax_chain
// CHECK-SAME: (%[[X:.+]]: tensor<4x16xf32>)
// CHECK: %[[Q:.+]], %[[S:.+]] = tern.quantize_act %[[X]] : tensor<4x16xf32> -> tensor<4x16xi8>, tensor<4x1xf32>
// CHECK-NOT: math.roundeven
// CHECK: %[[V:.+]] = linalg.generic
// CHECK-SAME: ins(%[[Q]] : tensor<4x16xi8>)
// CHECK: arith.sitofp
// CHECK-NOT: linalg.generic
// CHECK: return %[[V]], %[[S]]
// REMARK: remark: fused into tern.quantize_act (eps = 1.000000e-05)
func.func @absmax_chain(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>) {
  %e = tensor.empty() : tensor<4x16xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %zero = arith.constant 0.0 : f32
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.absf %a : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%abs : tensor<4x16xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %floor = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max : tensor<4x1xf32>) outs(%e1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %r = arith.maximumf %a, %eps : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%floor : tensor<4x1xf32>) outs(%e1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c127 = arith.constant 127.0 : f32
    %r = arith.divf %c127, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<4x16xf32>, tensor<4x1xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %rounded = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.roundeven %a : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %clipped = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%rounded : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %c = arith.maximumf %a, %lo : f32
    %d = arith.minimumf %c, %hi : f32
    linalg.yield %d : f32
  } -> tensor<4x16xf32>
  return %clipped, %s : tensor<4x16xf32>, tensor<4x1xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// One generic for the whole element-wise part, Clip as max(min(.)), operands swapped, abs
// inside the reduction body, a -inf start and another eps.
// CHECK-LABEL: func.func @fused_body_variant
// CHECK: tern.quantize_act %{{.+}} {eps = 1.000000e-03 : f32}
// CHECK-NOT: math.roundeven
func.func @fused_body_variant(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %e1 = tensor.empty(%n) : tensor<?x1xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %init = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %o, %abs : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<?x1xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-3 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %floor = arith.maxnumf %eps, %m : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %s, %a : f32
    %r = math.roundeven %p : f32
    %c = arith.minimumf %c127, %r : f32
    %d = arith.maximumf %lo, %c : f32
    linalg.yield %d : f32
  } -> tensor<?x8xf32>
  return %clipped : tensor<?x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// Round half away from zero (math.round) is not ONNX Round: not a candidate.
// CHECK-LABEL: func.func @round_half_away_from_zero
// CHECK-NOT: tern.quantize_act
func.func @round_half_away_from_zero(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %start = arith.constant 0.0 : f32
  %init = linalg.fill ins(%start : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    %r = math.round %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// A symmetric [-127, 127] clamp is another quantizer: not a candidate.
// CHECK-LABEL: func.func @clamp_to_127
// CHECK-NOT: tern.quantize_act
func.func @clamp_to_127(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %start = arith.constant 0.0 : f32
  %init = linalg.fill ins(%start : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -127.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    %r = math.roundeven %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The scale comes from the mean |x| (a sum), not the absmax.
// CHECK-LABEL: func.func @absmean_scale
// CHECK-NOT: tern.quantize_act
// REMARK: remark: not fused into tern.quantize_act: absmax is not a max over the last dim of |x| starting from 0
func.func @absmean_scale(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %start = arith.constant 0.0 : f32
  %init = linalg.fill ins(%start : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.addf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    %r = math.roundeven %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The scale is the absmax of y, the product is of x.
// CHECK-LABEL: func.func @scale_of_another_tensor
// CHECK-NOT: tern.quantize_act
// REMARK: remark: not fused into tern.quantize_act: absmax is not a max over the last dim of |x| starting from 0
func.func @scale_of_another_tensor(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %start = arith.constant 0.0 : f32
  %init = linalg.fill ins(%start : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    %r = math.roundeven %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// A max starting from 1.0 is not the absmax.
// CHECK-LABEL: func.func @positive_start
// CHECK-NOT: tern.quantize_act
// REMARK: remark: not fused into tern.quantize_act: absmax is not a max over the last dim of |x| starting from 0
func.func @positive_start(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %start = arith.constant 1.0 : f32
  %init = linalg.fill ins(%start : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %clipped = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    %r = math.roundeven %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>
#all = affine_map<(d0, d1) -> (0, 0)>

// One scale for the whole tensor (per-tensor absmax) is not per token.
// CHECK-LABEL: func.func @per_tensor_scale
// CHECK-NOT: tern.quantize_act
// REMARK: remark: not fused into tern.quantize_act: the rounded value is not x * s with a per-token scale s
func.func @per_tensor_scale(%x: tensor<4x8xf32>, %s: tensor<1x1xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %clipped = linalg.generic {indexing_maps = [#all, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %x : tensor<1x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %p = arith.mulf %a, %m : f32
    %r = math.roundeven %p : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The unrounded product has another user: fusing would leave the chain alive.
// CHECK-LABEL: func.func @product_has_another_user
// CHECK-NOT: tern.quantize_act
// REMARK: remark: not fused into tern.quantize_act: an intermediate value of the chain has a user outside it
func.func @product_has_another_user(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %max = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %r = arith.maximumf %abs, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %scaled = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%max, %x : tensor<4x1xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %eps = arith.constant 1.0e-5 : f32
    %c127 = arith.constant 127.0 : f32
    %floor = arith.maximumf %m, %eps : f32
    %s = arith.divf %c127, %floor : f32
    %p = arith.mulf %a, %s : f32
    linalg.yield %p : f32
  } -> tensor<4x8xf32>
  %clipped = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c127 = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %r = math.roundeven %a : f32
    %c = arith.maximumf %r, %lo : f32
    %d = arith.minimumf %c, %c127 : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  return %clipped, %scaled : tensor<4x8xf32>, tensor<4x8xf32>
}
