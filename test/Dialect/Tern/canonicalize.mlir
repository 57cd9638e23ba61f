// RUN: mfc-opt %s --split-input-file --canonicalize | FileCheck %s

// All-zero codes: every weight is 0, the accumulation is 0.
// CHECK-LABEL: func.func @fold_zero_weights
// CHECK-NOT: tern.matmul
// CHECK: %[[Z:.+]] = arith.constant dense<0> : tensor<3x16xi32>
// CHECK: return %[[Z]]
func.func @fold_zero_weights(%x: tensor<3x8xi8>) -> tensor<3x16xi32> {
  %w = arith.constant dense<0> : tensor<16x2xi8>
  %init_0 = tensor.empty() : tensor<3x16xi32>
  %0 = tern.matmul ins(%x, %w : tensor<3x8xi8>, tensor<16x2xi8>) outs(%init_0 : tensor<3x16xi32>) -> tensor<3x16xi32>
  return %0 : tensor<3x16xi32>
}

// -----

// CHECK-LABEL: func.func @fold_zero_input
// CHECK-NOT: tern.matmul
// CHECK: arith.constant dense<0> : tensor<3x16xi32>
func.func @fold_zero_input(%w: tensor<16x2xi8>) -> tensor<3x16xi32> {
  %x = arith.constant dense<0> : tensor<3x8xi8>
  %init_0 = tensor.empty() : tensor<3x16xi32>
  %0 = tern.matmul ins(%x, %w : tensor<3x8xi8>, tensor<16x2xi8>) outs(%init_0 : tensor<3x16xi32>) -> tensor<3x16xi32>
  return %0 : tensor<3x16xi32>
}

// -----

// A splat of +1 codes (0b01010101 = 85) is not zero: no fold.
// CHECK-LABEL: func.func @no_fold_nonzero_splat
// CHECK: tern.matmul
func.func @no_fold_nonzero_splat(%x: tensor<3x8xi8>) -> tensor<3x16xi32> {
  %w = arith.constant dense<85> : tensor<16x2xi8>
  %init_0 = tensor.empty() : tensor<3x16xi32>
  %0 = tern.matmul ins(%x, %w : tensor<3x8xi8>, tensor<16x2xi8>) outs(%init_0 : tensor<3x16xi32>) -> tensor<3x16xi32>
  return %0 : tensor<3x16xi32>
}

// -----

// The result shape is not known at compile time: no constant can stand for it.
// CHECK-LABEL: func.func @no_fold_dynamic_result
// CHECK: tern.matmul
func.func @no_fold_dynamic_result(%x: tensor<?x8xi8>) -> tensor<?x16xi32> {
  %w = arith.constant dense<0> : tensor<16x2xi8>
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x8xi8>
  %init_0 = tensor.empty(%d0_0) : tensor<?x16xi32>
  %0 = tern.matmul ins(%x, %w : tensor<?x8xi8>, tensor<16x2xi8>) outs(%init_0 : tensor<?x16xi32>) -> tensor<?x16xi32>
  return %0 : tensor<?x16xi32>
}

// -----

// Unused pure tern ops are erased.
// CHECK-LABEL: func.func @dead_ops
// CHECK-NOT: tern.
// CHECK: return
func.func @dead_ops(%x: tensor<2x8xf32>, %n: tensor<8xf32>, %w: tensor<4x2xi8>, %a: tensor<1xf32>,
                    %i: tensor<1x2x8xf32>, %h0: tensor<1x8xf32>) {
  %q, %s = tern.quantize_act %x : tensor<2x8xf32> -> tensor<2x8xi8>, tensor<2x1xf32>
  %init_y = tensor.empty() : tensor<2x4xf32>
  %y = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x8xf32>, tensor<8xf32>, tensor<4x2xi8>, tensor<1xf32>) outs(%init_y : tensor<2x4xf32>) -> tensor<2x4xf32>
  %h, %last = tern.mlgru_scan %i, %i, %h0 : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1x8xf32>) -> (tensor<1x2x8xf32>, tensor<1x8xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @fold_zero_weights_float
// CHECK-NOT: tern.matmul
// CHECK: arith.constant dense<0.000000e+00> : tensor<3x16xf32>
func.func @fold_zero_weights_float(%x: tensor<3x8xf32>) -> tensor<3x16xf32> {
  %w = arith.constant dense<0> : tensor<16x2xi8>
  %init_0 = tensor.empty() : tensor<3x16xf32>
  %0 = tern.matmul ins(%x, %w : tensor<3x8xf32>, tensor<16x2xi8>) outs(%init_0 : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// -----

// Casts that only erase static sizes fold into tern.glu and tern.mlgru_scan, whose
// results become static (a cast back keeps the old types for the users).
// CHECK-LABEL: func.func @static_through_casts
// CHECK-SAME: (%[[G:.+]]: tensor<1x1x8xf32>, %[[V:.+]]: tensor<1x1x8xf32>, %[[H0:.+]]: tensor<1x8xf32>)
// CHECK: %[[Y:.+]] = tern.glu %[[G]], %[[V]] : tensor<1x1x8xf32>
// CHECK: %[[HS:.+]], %[[LAST:.+]] = tern.mlgru_scan %[[Y]], %[[V]], %[[H0]] : (tensor<1x1x8xf32>, tensor<1x1x8xf32>, tensor<1x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x8xf32>)
// CHECK: %[[C:.+]] = tensor.cast %[[LAST]] : tensor<1x8xf32> to tensor<?x8xf32>
// CHECK: return %{{.+}}, %[[C]]
func.func @static_through_casts(%g: tensor<1x1x8xf32>, %v: tensor<1x1x8xf32>, %h0: tensor<1x8xf32>)
    -> (tensor<?x1x8xf32>, tensor<?x8xf32>) {
  %gd = tensor.cast %g : tensor<1x1x8xf32> to tensor<?x1x8xf32>
  %vd = tensor.cast %v : tensor<1x1x8xf32> to tensor<?x1x8xf32>
  %hd = tensor.cast %h0 : tensor<1x8xf32> to tensor<?x8xf32>
  %y = tern.glu %gd, %vd : tensor<?x1x8xf32>
  %hs, %last = tern.mlgru_scan %y, %vd, %hd
      : (tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x8xf32>) -> (tensor<?x1x8xf32>, tensor<?x8xf32>)
  return %hs, %last : tensor<?x1x8xf32>, tensor<?x8xf32>
}

// -----

// A cast from an operand that stays dynamic is kept.
// CHECK-LABEL: func.func @dynamic_stays
// CHECK: tensor.cast
// CHECK: tern.glu %{{.+}}, %{{.+}} : tensor<?x8xf32>
func.func @dynamic_stays(%g: tensor<1x8xf32>, %v: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %gd = tensor.cast %g : tensor<1x8xf32> to tensor<?x8xf32>
  %y = tern.glu %gd, %v : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A constant index in range of a constant size folds to the index it names (a negative
// one counted from the end); one out of range stays, to be reported when it runs.
// CHECK-LABEL: func.func @fold_checked_index
// CHECK-DAG: %[[LAST:.+]] = arith.constant 255 : index
// CHECK-DAG: %[[FIRST:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[BIG:.+]] = arith.constant 1000000000 : i64
// CHECK: %[[KEPT:.+]] = tern.checked_index %[[BIG]], %{{.+}} {what = "c"} : i64
// CHECK: %[[DYN:.+]] = tern.checked_index %{{.+}}, %{{.+}} {what = "d"} : i64
// CHECK: return %[[LAST]], %[[FIRST]], %[[KEPT]], %[[DYN]]
func.func @fold_checked_index(%raw: i64) -> (index, index, index, index) {
  %size = arith.constant 256 : index
  %minus_one = arith.constant -1 : i64
  %zero = arith.constant 0 : i64
  %big = arith.constant 1000000000 : i64
  %0 = tern.checked_index %minus_one, %size {what = "a"} : i64
  %1 = tern.checked_index %zero, %size {what = "b"} : i64
  %2 = tern.checked_index %big, %size {what = "c"} : i64
  %3 = tern.checked_index %raw, %size {what = "d"} : i64
  return %0, %1, %2, %3 : index, index, index, index
}

// -----

// An index widened from `index` is checked as that index.
// CHECK-LABEL: func.func @checked_index_through_cast
// CHECK-SAME: (%[[I:.+]]: index, %[[N:.+]]: index)
// CHECK-NOT: arith.index_cast
// CHECK: %[[R:.+]] = tern.checked_index %[[I]], %[[N]] {what = "w"} : index
// CHECK: return %[[R]]
func.func @checked_index_through_cast(%i: index, %size: index) -> index {
  %wide = arith.index_cast %i : index to i64
  %0 = tern.checked_index %wide, %size {what = "w"} : i64
  return %0 : index
}


// -----

// A shape check that holds at compile time is gone; one that fails, or depends on run
// time, stays.
// CHECK-LABEL: func.func @fold_check_equal
// CHECK-SAME: (%[[N:.+]]: index, %[[M:.+]]: index)
// CHECK-NOT: {what = "same value"}
// CHECK-NOT: {what = "equal constants"}
// CHECK: tern.check_equal %{{.+}}, %{{.+}} {what = "unequal constants"}
// CHECK: tern.check_equal %[[N]], %[[M]] {what = "run time"}
// CHECK-NEXT: return
func.func @fold_check_equal(%n: index, %m: index) {
  %c4 = arith.constant 4 : index
  %c4b = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  tern.check_equal %n, %n {what = "same value"}
  tern.check_equal %c4, %c4b {what = "equal constants"}
  tern.check_equal %c4, %c5 {what = "unequal constants"}
  tern.check_equal %n, %m {what = "run time"}
  return
}
