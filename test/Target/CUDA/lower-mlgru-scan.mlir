// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan="unroll=1 chunk=0" --canonicalize | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan="unroll=4 chunk=0" --canonicalize | FileCheck %s --check-prefix=UNROLL
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan="unroll=4 chunk=0" --tern-expand-ops --one-shot-bufferize="bufferize-function-boundaries allow-return-allocs-from-loops function-boundary-type-conversion=identity-layout-map" --scf-forall-to-parallel | FileCheck %s --check-prefix=BUFFERS
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=unroll=1 --canonicalize | FileCheck %s --check-prefix=CHUNK
// RUN: mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan --tern-expand-ops --one-shot-bufferize="bufferize-function-boundaries allow-return-allocs-from-loops function-boundary-type-conversion=identity-layout-map" --scf-forall-to-parallel | FileCheck %s --check-prefix=CHUNKBUF

// A gated scan of unknown length: a thread per (batch, feature) loops over time,
// writing its column of the hidden states and its element of the final state in place.
// CHECK-LABEL: func.func @gated_dynamic_length
// CHECK-SAME: (%[[I:.+]]: tensor<2x?x64xf32>, %[[F:.+]]: tensor<2x?x64xf32>, %[[H0:.+]]: tensor<2x64xf32>, %[[LB:.+]]: tensor<64xf32>)
// CHECK: %[[S:.+]] = tensor.dim %[[I]], %c1
// CHECK: %[[HS0:.+]] = tensor.empty(%[[S]]) : tensor<2x?x64xf32>
// CHECK: %[[LAST0:.+]] = tensor.empty() : tensor<2x64xf32>
// CHECK: %[[R:.+]]:2 = scf.forall (%[[B:.+]], %[[H:.+]]) in (2, 64) shared_outs(%[[HS:.+]] = %[[HS0]], %[[LAST:.+]] = %[[LAST0]])
// CHECK: %[[INIT:.+]] = tensor.extract %[[H0]][%[[B]], %[[H]]]
// CHECK: %[[LEN:.+]] = tensor.dim %[[I]], %c1
// CHECK: %[[COL:.+]] = tensor.extract_slice %[[HS]][%[[B]], 0, %[[H]]] [1, %[[LEN]], 1] [1, 1, 1]
// CHECK: %[[BOUND:.+]] = tensor.extract %[[LB]][%[[H]]]
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[T:.+]] = %c0{{.*}} to %[[LEN]] step %c1{{.*}} iter_args(%[[STATE:.+]] = %[[INIT]], %[[C:.+]] = %[[COL]])
// CHECK: %[[IV:.+]] = tensor.extract %[[I]][%[[B]], %[[T]], %[[H]]]
// CHECK: %[[FV:.+]] = tensor.extract %[[F]][%[[B]], %[[T]], %[[H]]]
// CHECK: math.exp
// CHECK: %[[FH:.+]] = arith.mulf %{{.+}}, %[[STATE]]
// CHECK: %[[NEW:.+]] = arith.addf %[[FH]]
// CHECK: %[[W:.+]] = tensor.insert %[[NEW]] into %[[C]][%c0{{.*}}, %[[T]], %c0{{.*}}]
// CHECK: scf.yield %[[NEW]], %[[W]]
// CHECK: %[[ONE:.+]] = tensor.extract_slice %[[LAST]][%[[B]], %[[H]]] [1, 1] [1, 1]
// CHECK: %[[END:.+]] = tensor.insert %[[LOOP]]#0 into %[[ONE]]
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[LOOP]]#1 into %[[HS]][%[[B]], 0, %[[H]]] [1, %[[LEN]], 1] [1, 1, 1]
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
// By default a sequence of unknown length goes in chunks of 64 steps: per chunk the
// product of its forget gates and its scan from zero; per (batch, feature) the state
// entering each chunk, chunk after chunk; per chunk its scan from that state.
// CHUNK-LABEL: func.func @gated_dynamic_length
// CHUNK-SAME: (%[[I:.+]]: tensor<2x?x64xf32>, %[[F:.+]]: tensor<2x?x64xf32>, %[[H0:.+]]: tensor<2x64xf32>, %[[LB:.+]]: tensor<64xf32>)
// CHUNK: %[[S:.+]] = tensor.dim %[[I]], %c1
// CHUNK: %[[C:.+]] = arith.ceildivui %{{.+}}, %c64
// CHUNK: %[[SUM:.+]]:2 = scf.forall (%[[B:.+]], %[[K:.+]], %[[H:.+]]) in (2, %[[C]], 64)
// CHUNK: %[[START:.+]] = arith.muli %[[K]], %c64
// CHUNK: %[[END:.+]] = arith.minui
// CHUNK: %[[P:.+]]:2 = scf.for %{{.+}} = %[[START]] to %[[END]] step %c1 iter_args(%[[PROD:.+]] = %cst{{.*}}, %[[Y:.+]] = %cst{{.*}}) -> (f32, f32)
// CHUNK: math.exp
// CHUNK: %[[NP:.+]] = arith.mulf %[[PROD]], %[[FG:.+]] : f32
// CHUNK: %[[FY:.+]] = arith.mulf %[[FG]], %[[Y]] : f32
// CHUNK: %[[NY:.+]] = arith.addf %[[FY]]
// CHUNK: scf.yield %[[NP]], %[[NY]]
// CHUNK: tensor.parallel_insert_slice
// CHUNK: tensor.parallel_insert_slice
// CHUNK: %[[ENTER:.+]]:2 = scf.forall (%{{.+}}, %{{.+}}) in (2, 64)
// CHUNK: scf.for %[[KK:.+]] = %c0 to %[[C]] step %c1 iter_args(%[[E:.+]] = %{{.+}}, %{{.+}} = %{{.+}}) -> (f32, tensor<1x?x1xf32>)
// CHUNK: tensor.insert %[[E]]
// CHUNK: %[[PK:.+]] = tensor.extract %[[SUM]]#0
// CHUNK: %[[YK:.+]] = tensor.extract %[[SUM]]#1
// CHUNK: %[[PE:.+]] = arith.mulf %[[PK]], %[[E]]
// CHUNK: arith.addf %[[PE]], %[[YK]]
// CHUNK: %[[HS:.+]] = scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (2, %[[C]], 64)
// CHUNK: tensor.extract %[[ENTER]]#0
// CHUNK: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}] [1, %{{.+}}, 1] [1, 1, 1]
// CHUNK: scf.for
// CHUNK: math.exp
// CHUNK: tensor.insert
// CHUNK: tensor.parallel_insert_slice
// CHUNK: return %[[HS]], %[[ENTER]]#1

// In place: the three loop nests become parallel loops that allocate and copy nothing.
// CHUNKBUF-LABEL: func.func @gated_dynamic_length
// CHUNKBUF-NOT: memref.copy
// CHUNKBUF: scf.parallel
// CHUNKBUF-NOT: memref.alloc
// CHUNKBUF: scf.reduce
// CHUNKBUF: scf.parallel
// CHUNKBUF-NOT: memref.alloc
// CHUNKBUF: scf.reduce
// CHUNKBUF: scf.parallel
// CHUNKBUF-NOT: memref.alloc
// CHUNKBUF: scf.reduce
// CHUNKBUF-NOT: memref.copy
// CHUNKBUF: return
func.func @gated_dynamic_length(%i: tensor<2x?x64xf32>, %f: tensor<2x?x64xf32>, %h0: tensor<2x64xf32>,
                                %lb: tensor<64xf32>) -> (tensor<2x?x64xf32>, tensor<2x64xf32>) {
  %hs, %last = tern.mlgru_scan %i, %f, %h0 lower_bound %lb
      : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<2x64xf32>, tensor<64xf32>)
      -> (tensor<2x?x64xf32>, tensor<2x64xf32>)
  return %hs, %last : tensor<2x?x64xf32>, tensor<2x64xf32>
}

// -----

// Ungated, dynamic batch: h = f * h + c, no sigmoid. Eight steps are fewer than a
// chunk: one thread runs them all.
// CHUNK-LABEL: func.func @ungated
// CHUNK: scf.forall (%{{.+}}, %{{.+}}) in (%{{.+}}, 16)
// CHUNK-NOT: scf.forall (
// CHUNK: return
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
// RUN: not mfc-opt %s --split-input-file --mfc-cuda-lower-mlgru-scan=chunk=-1 2>&1 | FileCheck %s --check-prefix=BADCHUNK
// BAD: unroll must be >= 1 and chunk >= 0, got unroll 0, chunk 64
// BADCHUNK: got unroll 4, chunk -1
func.func @bad_unroll() {
  return
}
