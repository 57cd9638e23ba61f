// RUN: mfc-opt %s --split-input-file --tern-fuse-mlgru | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-fuse-mlgru=remarks=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A decode step: squeezed [batch, 1, hidden] gates with a lower bound, h = f * h_prev + c.
// CHECK-LABEL: func.func @decode_step_with_lower_bound
// CHECK-SAME: (%[[I:.+]]: tensor<?x1x8xf32>, %[[FP:.+]]: tensor<?x1x8xf32>, %[[H:.+]]: tensor<?x8xf32>)
// CHECK: %[[LB:.+]] = arith.constant dense<[0.000000e+00, 1.250000e-01, 2.500000e-01, 3.750000e-01, 5.000000e-01, 6.250000e-01, 7.500000e-01, 8.750000e-01]> : tensor<8xf32>
// CHECK: %{{.+}}, %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H]] lower_bound %[[LB]] : (tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x8xf32>, tensor<8xf32>) -> (tensor<?x1x8xf32>, tensor<?x8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[LAST]]
// REMARK: remark: fused the decode step into tern.mlgru_scan (with lower bound)
func.func @decode_step_with_lower_bound(%i: tensor<?x1x8xf32>, %fp: tensor<?x1x8xf32>, %h: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %i, %c0 : tensor<?x1x8xf32>
  %e3 = tensor.empty(%b) : tensor<?x1x8xf32>
  %e2 = tensor.empty(%b) : tensor<?x8xf32>
  %lb = arith.constant dense<[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]> : tensor<8xf32>
  %one_minus = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]> : tensor<8xf32>
  %wrong = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.25]> : tensor<8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #feat3, #feat3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp, %one_minus, %lb : tensor<?x1x8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%p: f32, %a: f32, %l: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    %m = arith.mulf %s, %a : f32
    %r = arith.addf %m, %l : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<?x1x8xf32>, tensor<?x1x8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %fs = tensor.collapse_shape %f [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %cs = tensor.collapse_shape %c [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%fs, %h, %cs : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %hn : tensor<?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The imported ONNX Scan: a loop over the sequence writing h into [:, t], no lower bound.
// CHECK-LABEL: func.func @scan_loop
// CHECK-SAME: (%[[I:.+]]: tensor<2x?x8xf32>, %[[FP:.+]]: tensor<2x?x8xf32>, %[[H0:.+]]: tensor<2x8xf32>)
// CHECK: %[[HS:.+]], %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H0]] : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x8xf32>)
// CHECK-NOT: scf.for
// CHECK-NOT: linalg.generic
// CHECK: return %[[HS]], %[[LAST]]
// REMARK: remark: fused the scan loop into tern.mlgru_scan (no lower bound)
func.func @scan_loop(%i: tensor<2x?x8xf32>, %fp: tensor<2x?x8xf32>, %h0: tensor<2x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %len = tensor.dim %i, %c1 : tensor<2x?x8xf32>
  %len_m1 = arith.subi %len, %c1 : index
  %e3 = tensor.empty(%len) : tensor<2x?x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x?x8xf32>) outs(%e3 : tensor<2x?x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<2x?x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x?x8xf32>, tensor<2x?x8xf32>) outs(%e3 : tensor<2x?x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x?x8xf32>
  %r:2 = scf.for %t = %c0 to %len step %c1 iter_args(%h = %h0, %hs = %e3) -> (tensor<2x8xf32>, tensor<2x?x8xf32>) {
    %ft = tensor.extract_slice %f[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x8xf32>
    %ct = tensor.extract_slice %c[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x8xf32>
    %e2 = tensor.empty() : tensor<2x8xf32>
    %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%ft, %h, %ct : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
    %hs2 = tensor.insert_slice %hn into %hs[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<2x?x8xf32>
    scf.yield %hn, %hs2 : tensor<2x8xf32>, tensor<2x?x8xf32>
  }
  return %r#1, %r#0 : tensor<2x?x8xf32>, tensor<2x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A loop that stops one step short does not produce the whole sequence.
// CHECK-LABEL: func.func @loop_skips_last_step
// CHECK: scf.for
// CHECK-NOT: tern.mlgru_scan
// REMARK: remark: not fused into tern.mlgru_scan: the loop does not run the recurrence over the whole sequence into [:, t]
func.func @loop_skips_last_step(%i: tensor<2x?x8xf32>, %fp: tensor<2x?x8xf32>, %h0: tensor<2x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %len = tensor.dim %i, %c1 : tensor<2x?x8xf32>
  %len_m1 = arith.subi %len, %c1 : index
  %e3 = tensor.empty(%len) : tensor<2x?x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x?x8xf32>) outs(%e3 : tensor<2x?x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<2x?x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x?x8xf32>, tensor<2x?x8xf32>) outs(%e3 : tensor<2x?x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x?x8xf32>
  %r:2 = scf.for %t = %c0 to %len_m1 step %c1 iter_args(%h = %h0, %hs = %e3) -> (tensor<2x8xf32>, tensor<2x?x8xf32>) {
    %ft = tensor.extract_slice %f[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x8xf32>
    %ct = tensor.extract_slice %c[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x?x8xf32> to tensor<2x8xf32>
    %e2 = tensor.empty() : tensor<2x8xf32>
    %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%ft, %h, %ct : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
    %hs2 = tensor.insert_slice %hn into %hs[0, %t, 0] [2, 1, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<2x?x8xf32>
    scf.yield %hn, %hs2 : tensor<2x8xf32>, tensor<2x?x8xf32>
  }
  return %r#1, %r#0 : tensor<2x?x8xf32>, tensor<2x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// tanh is not the MLGRU forget-gate activation.
// The gates are not MLGRU's: they stay element-wise code, and the step, whose h_prev
// is the function's state, is the bare (ungated) recurrence.
// CHECK-LABEL: func.func @tanh_forget_gate
// CHECK-NOT: lower_bound
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} {ungated}
// REMARK: remark: fused the decode step into tern.mlgru_scan (ungated)
func.func @tanh_forget_gate(%i: tensor<?x1x8xf32>, %fp: tensor<?x1x8xf32>, %h: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %i, %c0 : tensor<?x1x8xf32>
  %e3 = tensor.empty(%b) : tensor<?x1x8xf32>
  %e2 = tensor.empty(%b) : tensor<?x8xf32>
  %lb = arith.constant dense<[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]> : tensor<8xf32>
  %one_minus = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]> : tensor<8xf32>
  %wrong = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.25]> : tensor<8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<?x1x8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %s = math.tanh %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<?x1x8xf32>, tensor<?x1x8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %fs = tensor.collapse_shape %f [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %cs = tensor.collapse_shape %c [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%fs, %h, %cs : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %hn : tensor<?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The forget gate is scaled by something other than 1 - lb.
// The gates are not MLGRU's: they stay element-wise code, and the step, whose h_prev
// is the function's state, is the bare (ungated) recurrence.
// CHECK-LABEL: func.func @scale_is_not_one_minus_lower_bound
// CHECK-NOT: lower_bound
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} {ungated}
// REMARK: remark: fused the decode step into tern.mlgru_scan (ungated)
func.func @scale_is_not_one_minus_lower_bound(%i: tensor<?x1x8xf32>, %fp: tensor<?x1x8xf32>, %h: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %i, %c0 : tensor<?x1x8xf32>
  %e3 = tensor.empty(%b) : tensor<?x1x8xf32>
  %e2 = tensor.empty(%b) : tensor<?x8xf32>
  %lb = arith.constant dense<[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]> : tensor<8xf32>
  %one_minus = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]> : tensor<8xf32>
  %wrong = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.25]> : tensor<8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #feat3, #feat3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp, %wrong, %lb : tensor<?x1x8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%p: f32, %a: f32, %l: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    %m = arith.mulf %s, %a : f32
    %r = arith.addf %m, %l : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<?x1x8xf32>, tensor<?x1x8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %fs = tensor.collapse_shape %f [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %cs = tensor.collapse_shape %c [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%fs, %h, %cs : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %hn : tensor<?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// c = silu(i) * (1 - g) with g not the f of the recurrence.
// The gates are not MLGRU's: they stay element-wise code, and the step, whose h_prev
// is the function's state, is the bare (ungated) recurrence.
// CHECK-LABEL: func.func @candidate_gated_by_another_forget_gate
// CHECK-NOT: lower_bound
// CHECK: tern.mlgru_scan %{{.+}}, %{{.+}}, %{{.+}} {ungated}
// REMARK: remark: fused the decode step into tern.mlgru_scan (ungated)
func.func @candidate_gated_by_another_forget_gate(%i: tensor<?x1x8xf32>, %fp: tensor<?x1x8xf32>, %h: tensor<?x8xf32>, %g: tensor<?x1x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %i, %c0 : tensor<?x1x8xf32>
  %e3 = tensor.empty(%b) : tensor<?x1x8xf32>
  %e2 = tensor.empty(%b) : tensor<?x8xf32>
  %lb = arith.constant dense<[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]> : tensor<8xf32>
  %one_minus = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]> : tensor<8xf32>
  %wrong = arith.constant dense<[1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.25]> : tensor<8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #feat3, #feat3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp, %one_minus, %lb : tensor<?x1x8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%p: f32, %a: f32, %l: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    %m = arith.mulf %s, %a : f32
    %r = arith.addf %m, %l : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %g : tensor<?x1x8xf32>, tensor<?x1x8xf32>) outs(%e3 : tensor<?x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<?x1x8xf32>
  %fs = tensor.collapse_shape %f [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %cs = tensor.collapse_shape %c [[0, 1], [2]] : tensor<?x1x8xf32> into tensor<?x8xf32>
  %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%fs, %h, %cs : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%e2 : tensor<?x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %hn : tensor<?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Unrolled over two steps (Slice + Squeeze of the whole-sequence gates, Unsqueeze +
// Concat of the states): each step becomes a one-step scan, and the chain one scan.
// CHECK-LABEL: func.func @unrolled_two_steps
// CHECK-SAME: (%[[I:.+]]: tensor<2x2x8xf32>, %[[FP:.+]]: tensor<2x2x8xf32>, %[[H0:.+]]: tensor<2x8xf32>)
// CHECK: %[[HS:.+]], %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H0]] : (tensor<2x2x8xf32>, tensor<2x2x8xf32>, tensor<2x8xf32>) -> (tensor<2x2x8xf32>, tensor<2x8xf32>)
// CHECK-NOT: tern.mlgru_scan
// CHECK: %[[FIRST:.+]] = tensor.extract_slice %[[HS]][0, 0, 0] [2, 1, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x8xf32>
// CHECK: return %[[FIRST]], %[[LAST]]
// REMARK-COUNT-2: remark: fused the unrolled step into tern.mlgru_scan (no lower bound)
func.func @unrolled_two_steps(%i: tensor<2x2x8xf32>, %fp: tensor<2x2x8xf32>, %h0: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %e3 = tensor.empty() : tensor<2x2x8xf32>
  %e2 = tensor.empty() : tensor<2x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x2x8xf32>) outs(%e3 : tensor<2x2x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %p : f32
    %x = math.exp %n : f32
    %d = arith.addf %one, %x : f32
    %s = arith.divf %one, %d : f32
    linalg.yield %s : f32
  } -> tensor<2x2x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x2x8xf32>, tensor<2x2x8xf32>) outs(%e3 : tensor<2x2x8xf32>) {
  ^bb0(%v: f32, %g: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %v : f32
    %x = math.exp %n : f32
    %d = arith.addf %one, %x : f32
    %s = arith.divf %one, %d : f32
    %silu = arith.mulf %v, %s : f32
    %keep = arith.subf %one, %g : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x2x8xf32>
  %f0s = tensor.extract_slice %f[0, 0, 0] [2, 1, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x1x8xf32>
  %f0 = tensor.collapse_shape %f0s [[0], [1, 2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
  %c0s = tensor.extract_slice %c[0, 0, 0] [2, 1, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x1x8xf32>
  %c0 = tensor.collapse_shape %c0s [[0], [1, 2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
  %h1 = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%f0, %h0, %c0 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %m = arith.mulf %fv, %hv : f32
    %r = arith.addf %m, %cv : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
  %f1s = tensor.extract_slice %f[0, 1, 0] [2, 1, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x1x8xf32>
  %f1 = tensor.collapse_shape %f1s [[0], [1, 2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
  %c1s = tensor.extract_slice %c[0, 1, 0] [2, 1, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x1x8xf32>
  %c1 = tensor.collapse_shape %c1s [[0], [1, 2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
  %h2 = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%f1, %h1, %c1 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %m = arith.mulf %fv, %hv : f32
    %r = arith.addf %m, %cv : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
  return %h1, %h2 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----


#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// An imported ONNX Loop: a while loop counting t from 0 to the sequence length, the
// state read with Gather (t checked as an index), states stacked as Loop scan outputs
// and transposed back. The transpose of the stacked states is the scan's hidden.
// CHECK-LABEL: func.func @onnx_loop
// CHECK-SAME: (%[[I:.+]]: tensor<2x4x8xf32>, %[[FP:.+]]: tensor<2x4x8xf32>, %[[H0:.+]]: tensor<2x8xf32>)
// CHECK: %[[HS:.+]], %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H0]] : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x8xf32>)
// CHECK-NOT: scf.while
// CHECK: return %[[HS]], %[[LAST]]
// REMARK: remark: fused the Loop into tern.mlgru_scan (no lower bound)
func.func @onnx_loop(%i: tensor<2x4x8xf32>, %fp: tensor<2x4x8xf32>, %h0: tensor<2x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %trips = arith.constant 4 : index
  %e3 = tensor.empty() : tensor<2x4x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x4x8xf32>) outs(%e3 : tensor<2x4x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<2x4x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x4x8xf32>, tensor<2x4x8xf32>) outs(%e3 : tensor<2x4x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %ys0 = tensor.empty() : tensor<4x2x8xf32>
  %r:3 = scf.while (%t = %c0, %h = %h0, %ys = %ys0) : (index, tensor<2x8xf32>, tensor<4x2x8xf32>) -> (index, tensor<2x8xf32>, tensor<4x2x8xf32>) {
    %more = arith.cmpi slt, %t, %trips : index
    scf.condition(%more) %t, %h, %ys : index, tensor<2x8xf32>, tensor<4x2x8xf32>
  } do {
  ^bb0(%t: index, %h: tensor<2x8xf32>, %ys: tensor<4x2x8xf32>):
    %idx = tern.checked_index %t, %c4 {what = "Gather node 'g' (input 't')"} : index
    %ft = tensor.extract_slice %f[0, %idx, 0] [2, 1, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<2x8xf32>
    %ct = tensor.extract_slice %c[0, %idx, 0] [2, 1, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<2x8xf32>
    %e2 = tensor.empty() : tensor<2x8xf32>
    %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%ft, %h, %ct : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
    %next = arith.addi %t, %c1 : index
    %ys2 = tensor.insert_slice %hn into %ys[%t, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<4x2x8xf32>
    scf.yield %next, %hn, %ys2 : index, tensor<2x8xf32>, tensor<4x2x8xf32>
  }
  %e = tensor.empty() : tensor<2x4x8xf32>
  %hs = linalg.transpose ins(%r#2 : tensor<4x2x8xf32>) outs(%e : tensor<2x4x8xf32>) permutation = [1, 0, 2]
  return %hs, %r#1 : tensor<2x4x8xf32>, tensor<2x8xf32>
}

// -----


#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#feat3 = affine_map<(d0, d1, d2) -> (d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

// A Loop of 3 trips over a 4-step sequence leaves the last state unwritten.
// CHECK-LABEL: func.func @loop_stops_early
// CHECK: scf.while
// CHECK-NOT: tern.mlgru_scan
// REMARK: remark: not fused into tern.mlgru_scan: the loop does not run the recurrence over the whole sequence into ys[t]
func.func @loop_stops_early(%i: tensor<2x4x8xf32>, %fp: tensor<2x4x8xf32>, %h0: tensor<2x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %trips = arith.constant 3 : index
  %e3 = tensor.empty() : tensor<2x4x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x4x8xf32>) outs(%e3 : tensor<2x4x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<2x4x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x4x8xf32>, tensor<2x4x8xf32>) outs(%e3 : tensor<2x4x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %ys0 = tensor.empty() : tensor<4x2x8xf32>
  %r:3 = scf.while (%t = %c0, %h = %h0, %ys = %ys0) : (index, tensor<2x8xf32>, tensor<4x2x8xf32>) -> (index, tensor<2x8xf32>, tensor<4x2x8xf32>) {
    %more = arith.cmpi slt, %t, %trips : index
    scf.condition(%more) %t, %h, %ys : index, tensor<2x8xf32>, tensor<4x2x8xf32>
  } do {
  ^bb0(%t: index, %h: tensor<2x8xf32>, %ys: tensor<4x2x8xf32>):
    %idx = tern.checked_index %t, %c4 {what = "Gather node 'g' (input 't')"} : index
    %ft = tensor.extract_slice %f[0, %idx, 0] [2, 1, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<2x8xf32>
    %ct = tensor.extract_slice %c[0, %idx, 0] [2, 1, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<2x8xf32>
    %e2 = tensor.empty() : tensor<2x8xf32>
    %hn = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%ft, %h, %ct : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %hv, %fv : f32
    %r = arith.addf %cv, %d : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
    %next = arith.addi %t, %c1 : index
    %ys2 = tensor.insert_slice %hn into %ys[%t, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<4x2x8xf32>
    scf.yield %next, %hn, %ys2 : index, tensor<2x8xf32>, tensor<4x2x8xf32>
  }
  %e = tensor.empty() : tensor<2x4x8xf32>
  %hs = linalg.transpose ins(%r#2 : tensor<4x2x8xf32>) outs(%e : tensor<2x4x8xf32>) permutation = [1, 0, 2]
  return %hs, %r#1 : tensor<2x4x8xf32>, tensor<2x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// A decode step that keeps the time dim (torch's exporters): f, c, h_prev and h all
// [batch, 1, hidden]; the state goes in and comes out reshaped.
// CHECK-LABEL: func.func @decode_step_keeping_time_dim
// CHECK-SAME: (%[[I:.+]]: tensor<2x1x8xf32>, %[[FP:.+]]: tensor<2x1x8xf32>, %[[H:.+]]: tensor<2x1x8xf32>)
// CHECK: %[[H2:.+]] = tensor.collapse_shape %[[H]] {{\[\[}}0], [1, 2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
// CHECK: %{{.+}}, %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H2]] : (tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x8xf32>) -> (tensor<2x1x8xf32>, tensor<2x8xf32>)
// CHECK: %[[OUT:.+]] = tensor.expand_shape %[[LAST]] {{\[\[}}0], [1, 2]] output_shape [2, 1, 8] : tensor<2x8xf32> into tensor<2x1x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
// REMARK: remark: fused the decode step into tern.mlgru_scan (no lower bound)
func.func @decode_step_keeping_time_dim(%i: tensor<2x1x8xf32>, %fp: tensor<2x1x8xf32>, %h: tensor<2x1x8xf32>) -> tensor<2x1x8xf32> {
  %e3 = tensor.empty() : tensor<2x1x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<2x1x8xf32>) outs(%e3 : tensor<2x1x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<2x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<2x1x8xf32>, tensor<2x1x8xf32>) outs(%e3 : tensor<2x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<2x1x8xf32>
  %hn = linalg.generic {indexing_maps = [#id3, #id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%f, %h, %c : tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x1x8xf32>) outs(%e3 : tensor<2x1x8xf32>) {
  ^bb0(%fv: f32, %hv: f32, %cv: f32, %o: f32):
    %d = arith.mulf %fv, %hv : f32
    %r = arith.addf %d, %cv : f32
    linalg.yield %r : f32
  } -> tensor<2x1x8xf32>
  return %hn : tensor<2x1x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// A decode step on [batch, heads, head_dim] views of [batch, 1, hidden] gates (torch's
// two-head state): the scan runs on the gates, the state goes in and out reshaped.
// CHECK-LABEL: func.func @decode_step_two_heads
// CHECK-SAME: (%[[I:.+]]: tensor<1x1x8xf32>, %[[FP:.+]]: tensor<1x1x8xf32>, %[[H:.+]]: tensor<1x2x4xf32>)
// CHECK: %[[H2:.+]] = tensor.collapse_shape %[[H]] {{\[\[}}0], [1, 2]] : tensor<1x2x4xf32> into tensor<1x8xf32>
// CHECK: %{{.+}}, %[[LAST:.+]] = tern.mlgru_scan %[[I]], %[[FP]], %[[H2]] : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x8xf32>)
// CHECK: %[[OUT:.+]] = tensor.expand_shape %[[LAST]] {{\[\[}}0], [1, 2]] output_shape [1, 2, 4] : tensor<1x8xf32> into tensor<1x2x4xf32>
// CHECK: return %[[OUT]]
// REMARK: remark: fused the decode step into tern.mlgru_scan (no lower bound)
func.func @decode_step_two_heads(%i: tensor<1x1x8xf32>, %fp: tensor<1x1x8xf32>, %h: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %e3 = tensor.empty() : tensor<1x1x8xf32>
  %f = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fp : tensor<1x1x8xf32>) outs(%e3 : tensor<1x1x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sn = arith.negf %p : f32
    %se = math.exp %sn : f32
    %sd = arith.addf %one, %se : f32
    %s = arith.divf %one, %sd : f32
    linalg.yield %s : f32
  } -> tensor<1x1x8xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<1x1x8xf32>, tensor<1x1x8xf32>) outs(%e3 : tensor<1x1x8xf32>) {
  ^bb0(%x: f32, %gv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %sxn = arith.negf %x : f32
    %sxe = math.exp %sxn : f32
    %sxd = arith.addf %one, %sxe : f32
    %sx = arith.divf %one, %sxd : f32
    %silu = arith.mulf %x, %sx : f32
    %keep = arith.subf %one, %gv : f32
    %r = arith.mulf %silu, %keep : f32
    linalg.yield %r : f32
  } -> tensor<1x1x8xf32>
  %fh = tensor.expand_shape %f [[0], [1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x1x8xf32> into tensor<1x1x2x4xf32>
  %fv = tensor.collapse_shape %fh [[0], [1, 2], [3]] : tensor<1x1x2x4xf32> into tensor<1x2x4xf32>
  %ch = tensor.expand_shape %c [[0], [1], [2, 3]] output_shape [1, 1, 2, 4] : tensor<1x1x8xf32> into tensor<1x1x2x4xf32>
  %cv = tensor.collapse_shape %ch [[0], [1, 2], [3]] : tensor<1x1x2x4xf32> into tensor<1x2x4xf32>
  %e = tensor.empty() : tensor<1x2x4xf32>
  %hn = linalg.generic {indexing_maps = [#id3, #id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%fv, %h, %cv : tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) outs(%e : tensor<1x2x4xf32>) {
  ^bb0(%fa: f32, %ha: f32, %ca: f32, %o: f32):
    %d = arith.mulf %fa, %ha : f32
    %r = arith.addf %d, %ca : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4xf32>
  return %hn : tensor<1x2x4xf32>
}
