// RUN: mfc-opt %s --split-input-file --tern-fuse-bitlinear | FileCheck %s
// RUN: mfc-opt %s --split-input-file --tern-fuse-bitlinear=remarks=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>
#feat = affine_map<(d0, d1) -> (d1)>
#one = affine_map<(d0, d1) -> (0)>

// The importer's RMSNorm (Mul, ReduceMean, Add, Sqrt, Div, Mul by the weight), then what
// tern-fuse-quantize-act and tern-detect-ternary-matmul leave: quantize, matmul, sitofp,
// the per-tensor weight scale, and the division by the activation scale.
// CHECK-LABEL: func.func @rmsnorm_quantize_matmul_rescale
// CHECK-SAME: (%[[X:.+]]: tensor<4x16xf32>, %[[N:.+]]: tensor<16xf32>)
// CHECK-DAG: %[[W:.+]] = arith.constant dense<{{.+}}> : tensor<8x4xi8>
// CHECK-DAG: %[[A:.+]] = arith.constant dense<5.000000e-01> : tensor<1xf32>
// CHECK: %[[Y:.+]] = tern.bitlinear ins(%[[X]], %[[N]], %[[W]], %[[A]] : tensor<4x16xf32>, tensor<16xf32>, tensor<8x4xi8>, tensor<1xf32>) outs(%{{.+}} : tensor<4x8xf32>) {act_eps = 1.000000e-03 : f32} -> tensor<4x8xf32>
// CHECK-NEXT: return %[[Y]]
// REMARK: remark: fused into tern.bitlinear (RMSNorm eps = 1.000000e-06, with norm weight)
func.func @rmsnorm_quantize_matmul_rescale(%x: tensor<4x16xf32>, %n: tensor<16xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %eo = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %square = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %x : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%square : tensor<4x16xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %rms = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<4x1xf32>) outs(%e1 : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %k = arith.constant 16.0 : f32
    %eps = arith.constant 1.0e-6 : f32
    %mean = arith.divf %a, %k : f32
    %shifted = arith.addf %mean, %eps : f32
    %r = math.sqrt %shifted : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %normed = linalg.generic {indexing_maps = [#id, #tok, #feat, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %rms, %n : tensor<4x16xf32>, tensor<4x1xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %w: f32, %o: f32):
    %d = arith.divf %a, %b : f32
    %r = arith.mulf %d, %w : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %q, %s = tern.quantize_act %normed {eps = 1.0e-3 : f32} : tensor<4x16xf32> -> tensor<4x16xi8>, tensor<4x1xf32>
  %w = arith.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16],
                             [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28], [29, 30, 31, 32]]> : tensor<8x4xi8>
  %init_acc = tensor.empty() : tensor<4x8xi32>
  %acc = tern.matmul ins(%q, %w : tensor<4x16xi8>, tensor<8x4xi8>) outs(%init_acc : tensor<4x8xi32>) -> tensor<4x8xi32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %float = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc : tensor<4x8xi32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: i32, %o: f32):
    %r = arith.sitofp %a : i32 to f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %a = arith.constant dense<0.5> : tensor<1xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #one, #id], iterator_types = ["parallel", "parallel"]}
      ins(%float, %a : tensor<4x8xf32>, tensor<1xf32>) outs(%eo : tensor<4x8xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %r = arith.mulf %v, %c : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled, %s : tensor<4x8xf32>, tensor<4x1xf32>) outs(%eo : tensor<4x8xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %r = arith.divf %v, %c : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>
#feat = affine_map<(d0, d1) -> (d1)>

// No norm weight (n = 1), x * rsqrt(sum * (1/K) + eps) with Pow for the square, a scale per
// output column, and the whole rescale in one generic.
// CHECK-LABEL: func.func @rsqrt_pow_per_column
// CHECK-SAME: (%[[X:.+]]: tensor<?x8xf32>)
// CHECK-DAG: %[[ONES:.+]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK-DAG: %[[A:.+]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK: tern.bitlinear ins(%[[X]], %[[ONES]], %{{.+}}, %[[A]] : tensor<?x8xf32>, tensor<8xf32>, tensor<4x2xi8>, tensor<4xf32>) outs(%{{.+}} : tensor<?x4xf32>) {eps = 9.99999974E-6 : f32} -> tensor<?x4xf32>
// CHECK-NOT: tern.quantize_act
// CHECK-NOT: tern.matmul
func.func @rsqrt_pow_per_column(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%rows) : tensor<?x8xf32>
  %e1 = tensor.empty(%rows) : tensor<?x1xf32>
  %eo = tensor.empty(%rows) : tensor<?x4xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x8xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %sq = math.powf %a, %two : f32
    %r = arith.addf %o, %sq : f32
    linalg.yield %r : f32
  } -> tensor<?x1xf32>
  %normed = linalg.generic {indexing_maps = [#tok, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum, %x : tensor<?x1xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%ss: f32, %a: f32, %o: f32):
    %inv_k = arith.constant 0.125 : f32
    %eps = arith.constant 1.0e-5 : f32
    %mean = arith.mulf %inv_k, %ss : f32
    %shifted = arith.addf %eps, %mean : f32
    %inv = math.rsqrt %shifted : f32
    %r = arith.mulf %inv, %a : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %q, %s = tern.quantize_act %normed : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<?x1xf32>
  %w = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
  %init_acc = tensor.empty(%rows) : tensor<?x4xi32>
  %acc = tern.matmul ins(%q, %w : tensor<?x8xi8>, tensor<4x2xi8>) outs(%init_acc : tensor<?x4xi32>) -> tensor<?x4xi32>
  %a = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #feat, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %a, %s : tensor<?x4xi32>, tensor<4xf32>, tensor<?x1xf32>) outs(%eo : tensor<?x4xf32>) {
  ^bb0(%v: i32, %c: f32, %t: f32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    %m = arith.mulf %c, %f : f32
    %r = arith.divf %m, %t : f32
    linalg.yield %r : f32
  } -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The quantized input is x itself, not an RMSNorm of it: quantize and matmul stay.
// CHECK-LABEL: func.func @no_rmsnorm
// CHECK: tern.quantize_act
// CHECK: tern.matmul
// CHECK-NOT: tern.bitlinear
// REMARK: remark: not fused into tern.bitlinear: the quantized activation is not an RMSNorm over its last dim
func.func @no_rmsnorm(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %eo = tensor.empty() : tensor<4x4xf32>
  %q, %s = tern.quantize_act %x : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  %w = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
  %init_acc = tensor.empty() : tensor<4x4xi32>
  %acc = tern.matmul ins(%q, %w : tensor<4x8xi8>, tensor<4x2xi8>) outs(%init_acc : tensor<4x4xi32>) -> tensor<4x4xi32>
  %y = linalg.generic {indexing_maps = [#id, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %s : tensor<4x4xi32>, tensor<4x1xf32>) outs(%eo : tensor<4x4xf32>) {
  ^bb0(%v: i32, %t: f32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    %r = arith.divf %f, %t : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#tok = affine_map<(d0, d1) -> (d0, 0)>

// The int32 accumulator is also returned: fusing would compute the product twice.
// CHECK-LABEL: func.func @accumulator_has_another_user
// CHECK-NOT: tern.bitlinear
// REMARK: remark: not fused into tern.bitlinear: a value between the quantization and the rescale has a user outside the chain
func.func @accumulator_has_another_user(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xi32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x1xf32>
  %eo = tensor.empty() : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #tok], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %sq, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %normed = linalg.generic {indexing_maps = [#id, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %ss: f32, %o: f32):
    %k = arith.constant 8.0 : f32
    %eps = arith.constant 1.0e-6 : f32
    %mean = arith.divf %ss, %k : f32
    %shifted = arith.addf %mean, %eps : f32
    %rms = math.sqrt %shifted : f32
    %r = arith.divf %a, %rms : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %q, %s = tern.quantize_act %normed : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  %w = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
  %init_acc = tensor.empty() : tensor<4x4xi32>
  %acc = tern.matmul ins(%q, %w : tensor<4x8xi8>, tensor<4x2xi8>) outs(%init_acc : tensor<4x4xi32>) -> tensor<4x4xi32>
  %y = linalg.generic {indexing_maps = [#id, #tok, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %s : tensor<4x4xi32>, tensor<4x1xf32>) outs(%eo : tensor<4x4xf32>) {
  ^bb0(%v: i32, %t: f32, %o: f32):
    %f = arith.sitofp %v : i32 to f32
    %r = arith.divf %f, %t : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %y, %acc : tensor<4x4xf32>, tensor<4x4xi32>
}
