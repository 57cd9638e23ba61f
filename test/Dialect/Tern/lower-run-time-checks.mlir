// RUN: mfc-opt %s --split-input-file --tern-lower-run-time-checks | FileCheck %s --check-prefixes=CHECK,REPORT
// RUN: mfc-opt %s --split-input-file --tern-lower-run-time-checks=mode=clamp | FileCheck %s --check-prefixes=CHECK,CLAMP
// RUN: mfc-opt %s --split-input-file --tern-lower-run-time-checks=mode=unchecked | FileCheck %s --check-prefixes=CHECK,UNCHECKED
// RUN: not mfc-opt %s --tern-lower-run-time-checks=mode=wrap 2>&1 | FileCheck %s --check-prefix=BAD-MODE

// BAD-MODE: error: tern-lower-run-time-checks: unknown mode 'wrap' (expected report, clamp or unchecked)

// Every mode wraps a negative index; report and clamp then check it (unsigned, so a still
// negative one fails too) and select 0 when it is out of range; report also calls the
// runtime with the message, the raw value and the size.
// REPORT: memref.global "private" constant @mfc_index_what : memref<28xi8> = dense<
// CLAMP-NOT: mfc_index_error
// UNCHECKED-NOT: mfc_index_error
// CHECK-LABEL: func.func @gather_row
// CHECK-SAME: (%[[RAW:.+]]: i64, %[[SIZE:.+]]: index)
// CHECK:      %[[I:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK:      %[[NEG:.+]] = arith.cmpi slt, %[[I]], %[[ZERO:.+]] : index
// CHECK:      %[[WRAPPED:.+]] = arith.addi %[[I]], %[[SIZE]] : index
// CHECK:      %[[W:.+]] = arith.select %[[NEG]], %[[WRAPPED]], %[[I]] : index
// UNCHECKED-NEXT: return %[[W]] : index
// REPORT-NEXT: %[[OK:.+]] = arith.cmpi ult, %[[W]], %[[SIZE]] : index
// CLAMP-NEXT:  %[[OK:.+]] = arith.cmpi ult, %[[W]], %[[SIZE]] : index
// REPORT:      %[[BAD:.+]] = arith.xori %[[OK]], %true : i1
// REPORT-NEXT: scf.if %[[BAD]] {
// REPORT-NEXT:   %[[MSG:.+]] = memref.get_global @mfc_index_what : memref<28xi8>
// REPORT-NEXT:   %[[DYN:.+]] = memref.cast %[[MSG]] : memref<28xi8> to memref<?xi8>
// REPORT-NEXT:   %[[V:.+]] = arith.index_cast %[[I]] : index to i64
// REPORT-NEXT:   %[[N:.+]] = arith.index_cast %[[SIZE]] : index to i64
// REPORT-NEXT:   func.call @mfc_index_error(%[[DYN]], %[[V]], %[[N]])
// REPORT:      }
// REPORT-NEXT: %[[R:.+]] = arith.select %[[OK]], %[[W]], %[[ZERO]] : index
// REPORT-NEXT: return %[[R]] : index
// CLAMP-NEXT:  %[[R:.+]] = arith.select %[[OK]], %[[W]], %[[ZERO]] : index
// CLAMP-NEXT:  return %[[R]] : index
// REPORT:      func.func private @mfc_index_error(memref<?xi8>, i64, i64) attributes {llvm.emit_c_interface}
func.func @gather_row(%raw: i64, %size: index) -> index {
  %0 = tern.checked_index %raw, %size {what = "Gather node 'g' (input 'i')"} : i64
  return %0 : index
}

// -----

// An index-typed index needs no cast. Two checks with one text share one message; a
// second text gets its own global.
// REPORT-DAG:  memref.global "private" constant @mfc_index_what : memref<2xi8> = dense<[97, 0]>
// REPORT-DAG:  memref.global "private" constant @mfc_index_what_0 : memref<2xi8> = dense<[98, 0]>
// CHECK-LABEL: func.func @index_typed
// CHECK-NOT:   arith.index_cast %{{.+}} : i64 to index
// REPORT-COUNT-2: memref.get_global @mfc_index_what :
// REPORT:      memref.get_global @mfc_index_what_0 :
// CHECK-NOT:   tern.checked_index
func.func @index_typed(%i: index, %j: index, %size: index) -> (index, index, index) {
  %0 = tern.checked_index %i, %size {what = "a"} : index
  %1 = tern.checked_index %j, %size {what = "a"} : index
  %2 = tern.checked_index %j, %size {what = "b"} : index
  return %0, %1, %2 : index, index, index
}

// -----

// A module without checks is left alone: no declaration, no global.
// CHECK-LABEL: func.func @no_checks
// CHECK-NOT: mfc_index
func.func @no_checks(%i: index) -> index {
  return %i : index
}

// -----

// A shape check: report calls the runtime when the sizes differ; clamp and unchecked
// drop it (device code cannot report).
// REPORT: memref.global "private" constant @mfc_index_what : memref<2xi8> = dense<[114, 0]>
// CHECK-LABEL: func.func @reshape_count
// CHECK-SAME: (%[[COUNT:.+]]: index, %[[TOTAL:.+]]: index)
// REPORT:      %[[DIFFER:.+]] = arith.cmpi ne, %[[COUNT]], %[[TOTAL]] : index
// REPORT-NEXT: scf.if %[[DIFFER]] {
// REPORT:        func.call @mfc_shape_error(%{{.+}}, %{{.+}}, %{{.+}}) : (memref<?xi8>, i64, i64) -> ()
// CLAMP-NOT:   scf.if
// UNCHECKED-NOT: scf.if
// CHECK-NOT:   tern.check_equal
// CHECK:       return
// REPORT:      func.func private @mfc_shape_error(memref<?xi8>, i64, i64) attributes {llvm.emit_c_interface}
func.func @reshape_count(%count: index, %total: index) {
  tern.check_equal %count, %total {what = "r"}
  return
}
