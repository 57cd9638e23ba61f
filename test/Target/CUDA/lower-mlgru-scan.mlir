// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=unroll=1 | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=unroll=4 --canonicalize | FileCheck %s --check-prefix=UNROLL
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=unroll=4 --tern-expand-ops --one-shot-bufferize="bufferize-function-boundaries allow-return-allocs-from-loops function-boundary-type-conversion=identity-layout-map" --scf-forall-to-parallel | FileCheck %s --check-prefix=BUFFERS

// A gated scan of unknown length: a thread per (batch, feature) loops over time,
// writing its column of the hidden states and its element of the final state in place.
// CHECK-LABEL: func.func @gated_dynamic_length
// CHECK-SAME: (%[[I:.+]]: tensor<2x?x64xf32>, %[[F:.+]]: tensor<2x?x64xf32>, %[[H0:.+]]: tensor<2x64xf32>, %[[LB:.+]]: tensor<64xf32>)
// CHECK: %[[S:.+]] = tensor.dim %[[I]], %c1
// CHECK: %[[HS0:.+]] = tensor.empty(%[[S]]) : tensor<2x?x64xf32>
// CHECK: %[[LAST0:.+]] = tensor.empty() : tensor<2x64xf32>
// CHECK: %[[R:.+]]:2 = scf.forall (%[[B:.+]], %[[H:.+]]) in (2, 64) shared_outs(%[[HS:.+]] = %[[HS0]], %[[LAST:.+]] = %[[LAST0]])
// CHECK: %[[COL:.+]] = tensor.extract_slice %[[HS]][%[[B]], 0, %[[H]]] [1, %[[S]], 1] [1, 1, 1]
// CHECK: %[[ONE:.+]] = tensor.extract_slice %[[LAST]][%[[B]], %[[H]]] [1, 1] [1, 1]
// CHECK: %[[INIT:.+]] = tensor.extract %[[H0]][%[[B]], %[[H]]]
// CHECK: %[[BOUND:.+]] = tensor.extract %[[LB]][%[[H]]]
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[T:.+]] = %c0{{.*}} to %{{.+}} step %c1{{.*}} iter_args(%[[STATE:.+]] = %[[INIT]], %[[C:.+]] = %[[COL]])
// CHECK: %[[IV:.+]] = tensor.extract %[[I]][%[[B]], %[[T]], %[[H]]]
// CHECK: %[[FV:.+]] = tensor.extract %[[F]][%[[B]], %[[T]], %[[H]]]
// CHECK: math.exp
// CHECK: %[[FH:.+]] = arith.mulf %{{.+}}, %[[STATE]]
// CHECK: %[[NEW:.+]] = arith.addf %[[FH]]
// CHECK: %[[W:.+]] = tensor.insert %[[NEW]] into %[[C]][%c0{{.*}}, %[[T]], %c0{{.*}}]
// CHECK: scf.yield %[[NEW]], %[[W]]
// CHECK: %[[END:.+]] = tensor.insert %[[LOOP]]#0 into %[[ONE]]
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[LOOP]]#1 into %[[HS]][%[[B]], 0, %[[H]]] [1, %[[S]], 1] [1, 1, 1]
// CHECK: tensor.parallel_insert_slice %[[END]] into %[[LAST]][%[[B]], %[[H]]] [1, 1] [1, 1]
// CHECK: return %[[R]]#0, %[[R]]#1
// CHECK-NOT: tern.mlgru_scan

// Four steps per iteration, then a loop for the rest.
// UNROLL-LABEL: func.func @gated_dynamic_length
// UNROLL: scf.for {{.+}} step %c4
// UNROLL-COUNT-4: tensor.insert
// UNROLL: scf.yield
// UNROLL: scf.for
// UNROLL-COUNT-1: tensor.insert
// UNROLL: scf.yield

// Bufferized in place: no copy and no allocation inside the loop nest, which becomes
// a parallel loop (a kernel after mfc-cuda-tile-parallel-loops).
// BUFFERS-LABEL: func.func @gated_dynamic_length
// BUFFERS: memref.alloc
// BUFFERS: memref.alloc
// BUFFERS: scf.parallel
// BUFFERS-NOT: memref.alloc
// BUFFERS-NOT: memref.copy
// BUFFERS: memref.load
// BUFFERS: memref.store
// BUFFERS: scf.reduce
// BUFFERS: return
func.func @gated_dynamic_length(%i: tensor<2x?x64xf32>, %f: tensor<2x?x64xf32>, %h0: tensor<2x64xf32>,
                                %lb: tensor<64xf32>) -> (tensor<2x?x64xf32>, tensor<2x64xf32>) {
  %hs, %last = tern.mlgru_scan %i, %f, %h0 lower_bound %lb
      : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<2x64xf32>, tensor<64xf32>)
      -> (tensor<2x?x64xf32>, tensor<2x64xf32>)
  return %hs, %last : tensor<2x?x64xf32>, tensor<2x64xf32>
}

// -----

// Ungated, dynamic batch: h = f * h + c, no sigmoid.
// CHECK-LABEL: func.func @ungated
// CHECK: %[[BATCH:.+]] = tensor.dim %{{.+}}, %c0
// CHECK: scf.forall (%{{.+}}, %{{.+}}) in (%[[BATCH]], 16)
// CHECK: scf.for
// CHECK-NOT: math.exp
// CHECK: %[[M:.+]] = arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK-NEXT: arith.addf %[[M]]
// CHECK: scf.yield
func.func @ungated(%c: tensor<?x8x16xf32>, %f: tensor<?x8x16xf32>, %h0: tensor<?x16xf32>)
    -> (tensor<?x8x16xf32>, tensor<?x16xf32>) {
  %hs, %last = tern.mlgru_scan %c, %f, %h0 {ungated}
      : (tensor<?x8x16xf32>, tensor<?x8x16xf32>, tensor<?x16xf32>) -> (tensor<?x8x16xf32>, tensor<?x16xf32>)
  return %hs, %last : tensor<?x8x16xf32>, tensor<?x16xf32>
}

// -----

// A decode step (sequence of one) stays for tern-expand-ops.
// CHECK-LABEL: func.func @decode_step
// CHECK: tern.mlgru_scan
// CHECK-NOT: scf.forall
func.func @decode_step(%i: tensor<1x1x64xf32>, %f: tensor<1x1x64xf32>, %h0: tensor<1x64xf32>)
    -> (tensor<1x1x64xf32>, tensor<1x64xf32>) {
  %hs, %last = tern.mlgru_scan %i, %f, %h0
      : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x64xf32>)
  return %hs, %last : tensor<1x1x64xf32>, tensor<1x64xf32>
}

// -----

// RUN: not mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=unroll=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: unroll must be >= 1, got 0
func.func @bad_unroll() {
  return
}
