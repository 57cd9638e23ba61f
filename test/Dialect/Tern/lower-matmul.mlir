// RUN: mfc-opt %s --split-input-file --tern-lower-matmul | FileCheck %s

// Float activations: add where the code is +1 (01), subtract where it is -1 (11).
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2) -> (d1, d2 floordiv 4)>
// CHECK-DAG: #[[Y:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @lower_float
// CHECK-SAME: (%[[IN:.+]]: tensor<?x10xf32>, %[[CODES:.+]]: tensor<5x3xi8>)
// CHECK: %[[INIT:.+]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[IN]], %[[CODES]] : tensor<?x10xf32>, tensor<5x3xi8>) outs(%[[INIT]] : tensor<?x5xf32>)
// CHECK: ^bb0(%[[XV:.+]]: f32, %[[BYTE:.+]]: i8, %[[ACC:.+]]: f32):
// CHECK-NOT: arith.mul
// CHECK: %[[K:.+]] = linalg.index 2
// CHECK: arith.shli
// CHECK: %[[SHIFTED:.+]] = arith.shrui %[[BYTE]]
// CHECK: %[[CODE:.+]] = arith.andi %[[SHIFTED]]
// CHECK-DAG: %[[PLUS:.+]] = arith.addf %[[ACC]], %[[XV]] : f32
// CHECK-DAG: %[[MINUS:.+]] = arith.subf %[[ACC]], %[[XV]] : f32
// CHECK-DAG: %[[ISPLUS:.+]] = arith.cmpi eq, %[[CODE]], %c1_i8
// CHECK-DAG: %[[ISMINUS:.+]] = arith.cmpi eq, %[[CODE]], %c3_i8
// CHECK: %[[NEXT:.+]] = arith.select %[[ISMINUS]], %[[MINUS]], %[[ACC]]
// CHECK: %[[R:.+]] = arith.select %[[ISPLUS]], %[[PLUS]], %[[NEXT]]
// CHECK-NOT: arith.mul
// CHECK: linalg.yield %[[R]] : f32
func.func @lower_float(%x: tensor<?x10xf32>, %w: tensor<5x3xi8>) -> tensor<?x5xf32> {
  %c0_0 = arith.constant 0 : index
  %d0_0 = tensor.dim %x, %c0_0 : tensor<?x10xf32>
  %init_0 = tensor.empty(%d0_0) : tensor<?x5xf32>
  %0 = tern.matmul ins(%x, %w : tensor<?x10xf32>, tensor<5x3xi8>) outs(%init_0 : tensor<?x5xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}

// -----

// int8 activations accumulate exactly in i32, batched leading dims carried through. K a
// multiple of 4: x is viewed as [..., bytes, 4] and the loops run over bytes and the
// weights of a byte (no division in any index).
// CHECK-DAG: #[[XB:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[WB:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d3)>
// CHECK-LABEL: func.func @lower_int8
// CHECK: %[[XV:.+]] = tensor.expand_shape %{{.+}} {{\[}}[0], [1], [2, 3]] output_shape [2, %{{.+}}, 2, 4] : tensor<2x?x8xi8> into tensor<2x?x2x4xi8>
// CHECK: linalg.generic {indexing_maps = [#[[XB]], #[[WB]], #{{[a-z0-9]+}}]
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%[[XV]], %{{.+}} : tensor<2x?x2x4xi8>, tensor<4x2xi8>)
// CHECK: ^bb0(%[[XV:.+]]: i8, %{{.+}}: i8, %[[ACC:.+]]: i32):
// CHECK-NOT: arith.mul
// The code picks a contribution, x, -x or 0, which is added to the accumulator.
// CHECK: %[[WIDE:.+]] = arith.extsi %[[XV]] : i8 to i32
// CHECK: %[[NEG:.+]] = arith.subi %[[ZERO:.+]], %[[WIDE]] : i32
// CHECK: %[[MINUS_OR_0:.+]] = arith.select %{{.+}}, %[[NEG]], %[[ZERO]] : i32
// CHECK: %[[CONTRIB:.+]] = arith.select %{{.+}}, %[[WIDE]], %[[MINUS_OR_0]] : i32
// CHECK-NOT: arith.mul
// CHECK: %[[SUM:.+]] = arith.addi %[[ACC]], %[[CONTRIB]] : i32
// CHECK: linalg.yield %[[SUM]]
func.func @lower_int8(%x: tensor<2x?x8xi8>, %w: tensor<4x2xi8>) -> tensor<2x?x4xi32> {
  %c1_0 = arith.constant 1 : index
  %d1_0 = tensor.dim %x, %c1_0 : tensor<2x?x8xi8>
  %init_0 = tensor.empty(%d1_0) : tensor<2x?x4xi32>
  %0 = tern.matmul ins(%x, %w : tensor<2x?x8xi8>, tensor<4x2xi8>) outs(%init_0 : tensor<2x?x4xi32>) -> tensor<2x?x4xi32>
  return %0 : tensor<2x?x4xi32>
}

// -----

// Nothing else is touched.
// CHECK-LABEL: func.func @no_tern
// CHECK-NEXT: return
func.func @no_tern(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// On buffers: the destination is zeroed, then accumulated into in place.
// CHECK-LABEL: func.func @lower_buffers
// CHECK-SAME: (%[[X:.+]]: memref<?x8xi8>, %[[W:.+]]: memref<4x2xi8>, %[[Y:.+]]: memref<?x4xi32>)
// CHECK: %[[XV:.+]] = memref.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.+}}, 2, 4] : memref<?x8xi8> into memref<?x2x4xi8>
// CHECK: linalg.fill ins(%{{.+}} : i32) outs(%[[Y]] : memref<?x4xi32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[XV]], %[[W]] : memref<?x2x4xi8>, memref<4x2xi8>) outs(%[[Y]] : memref<?x4xi32>)
// CHECK-NOT: tern.matmul
func.func @lower_buffers(%x: memref<?x8xi8>, %w: memref<4x2xi8>, %y: memref<?x4xi32>) {
  tern.matmul ins(%x, %w : memref<?x8xi8>, memref<4x2xi8>) outs(%y : memref<?x4xi32>)
  return
}

// -----

// Codes in columns are read at [byte, n].
// CHECK-DAG: #[[WCOL:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d1)>
// CHECK-LABEL: func.func @lower_columns
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[WCOL]], #{{.+}}]
func.func @lower_columns(%x: tensor<3x8xf32>, %w: tensor<2x4xi8>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = tern.matmul ins(%x, %w : tensor<3x8xf32>, tensor<2x4xi8>) outs(%y : tensor<3x4xf32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

