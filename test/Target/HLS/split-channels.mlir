// RUN: mfc-opt %s --split-input-file --mfc-hls-split-channels=channels=2 | FileCheck %s
// RUN: not mfc-opt %s --split-input-file --mfc-hls-split-channels=channels=0 2>&1 | FileCheck %s --check-prefix=BADCOUNT
// BADCOUNT: error: mfc-hls-split-channels: channels=0

// A product's row loop: weight rows 0, 2 go to channel 0 and rows 1, 3 to channel 1, the
// rows computed two at a time (unrolled and jammed: both rows' codes in one code loop),
// each reading row %row / 2 of its channel; each row accumulates into its own element.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: %[[Y:[^:]+]]: memref<4xi32>
// CHECK-SAME: %[[CH0:[^:]+]]: memref<2x2xi8> {hls.channel = 0 : i32, hls.weight = "w.ch0", hls.weight_data = dense<{{\[}}[1, 2], [5, 6]]> : tensor<2x2xi8>}
// CHECK-SAME: %[[CH1:[^:]+]]: memref<2x2xi8> {hls.channel = 1 : i32, hls.weight = "w.ch1", hls.weight_data = dense<{{\[}}[3, 4], [7, 8]]> : tensor<2x2xi8>}
// CHECK-NOT: memref<4x2xi8>
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: scf.for %[[ROW:.+]] = %{{.+}} to %[[C4]] step %[[C2]]
// CHECK: %[[HALF:.+]] = arith.divsi %[[ROW]], %[[C2]]
// CHECK-DAG: memref.store %{{.+}}, %[[Y]][%[[ROW]]]
// CHECK-DAG: %[[NEXT:.+]] = arith.addi %[[ROW]], %{{.+}} : index
// CHECK-DAG: memref.store %{{.+}}, %[[Y]][%[[NEXT]]]
// CHECK: scf.for %[[BYTE:[^ ]+]] =
// CHECK-NEXT: scf.for
// CHECK-NEXT: memref.load %[[CH0]][%[[HALF]], %[[BYTE]]]
// CHECK-NEXT: memref.load %[[Y]][%[[ROW]]]
// CHECK: memref.store %{{.+}}, %[[Y]][%[[ROW]]]
// CHECK: %[[NEXT2:.+]] = arith.addi %[[ROW]]
// CHECK: memref.load %[[CH1]][%[[HALF]], %[[BYTE]]]
// CHECK-NEXT: memref.load %[[Y]][%[[NEXT2]]]
// CHECK-NOT: scf.for
// CHECK: return
func.func @main_graph(%y: memref<4xi32> {bufferize.result},
                      %w: memref<4x2xi8> {hls.weight = "w", hls.weight_data = dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0 : i32
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %zero, %y[%i] : memref<4xi32>
    scf.for %j = %c0 to %c2 step %c1 {
      scf.for %k = %c0 to %c4 step %c1 {
        %byte = memref.load %w[%i, %j] : memref<4x2xi8>
        %a = memref.load %y[%i] : memref<4xi32>
        %wide = arith.extsi %byte : i8 to i32
        %next = arith.addi %a, %wide : i32
        memref.store %next, %y[%i] : memref<4xi32>
      }
    }
  }
  return
}

// -----

// Rows that do not divide by the channels: one port, the loop as it was.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: memref<3x2xi8> {hls.weight = "w"
// CHECK-NOT: hls.channel
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c1
func.func @main_graph(%y: memref<3xi32> {bufferize.result},
                      %w: memref<3x2xi8> {hls.weight = "w", hls.weight_data = dense<1> : tensor<3x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  scf.for %i = %c0 to %c3 step %c1 {
    scf.for %j = %c0 to %c2 step %c1 {
      %byte = memref.load %w[%i, %j] : memref<3x2xi8>
      %a = memref.load %y[%i] : memref<3xi32>
      %wide = arith.extsi %byte : i8 to i32
      %next = arith.addi %a, %wide : i32
      memref.store %next, %y[%i] : memref<3xi32>
    }
  }
  return
}

// -----

// Rows that share a buffer (one accumulator for all rows, not indexed by the row) are
// not independent: jamming them would mix their sums. One port, the loop as it was.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: memref<4x2xi8> {hls.weight = "w"
// CHECK-NOT: hls.channel
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c1
func.func @main_graph(%y: memref<4xi32> {bufferize.result},
                      %w: memref<4x2xi8> {hls.weight = "w", hls.weight_data = dense<1> : tensor<4x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0 : i32
  %acc = memref.alloca() : memref<1xi32>
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %zero, %acc[%c0] : memref<1xi32>
    scf.for %j = %c0 to %c2 step %c1 {
      %byte = memref.load %w[%i, %j] : memref<4x2xi8>
      %a = memref.load %acc[%c0] : memref<1xi32>
      %wide = arith.extsi %byte : i8 to i32
      %next = arith.addi %a, %wide : i32
      memref.store %next, %acc[%c0] : memref<1xi32>
    }
    %sum = memref.load %acc[%c0] : memref<1xi32>
    memref.store %sum, %y[%i] : memref<4xi32>
  }
  return
}

// -----

// A weight read in two row loops stays one port.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: memref<2x2xi8> {hls.weight = "w"
// CHECK-NOT: hls.channel
func.func @main_graph(%y: memref<2xi8> {bufferize.result},
                      %w: memref<2x2xi8> {hls.weight = "w", hls.weight_data = dense<1> : tensor<2x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    %byte = memref.load %w[%i, %c0] : memref<2x2xi8>
    memref.store %byte, %y[%i] : memref<2xi8>
  }
  scf.for %i = %c0 to %c2 step %c1 {
    %byte = memref.load %w[%i, %c1] : memref<2x2xi8>
    memref.store %byte, %y[%i] : memref<2xi8>
  }
  return
}

// -----

// As many rows as channels: the jammed loop is gone, each row a constant, row 0 of
// its channel.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: %[[Y:[^:]+]]: memref<2xi8>
// CHECK-SAME: %[[CH0:[^:]+]]: memref<1x2xi8> {hls.channel = 0 : i32, hls.weight = "w.ch0", hls.weight_data = dense<{{\[}}[1, 2]]> : tensor<1x2xi8>}
// CHECK-SAME: %[[CH1:[^:]+]]: memref<1x2xi8> {hls.channel = 1 : i32, hls.weight = "w.ch1", hls.weight_data = dense<{{\[}}[3, 4]]> : tensor<1x2xi8>}
// CHECK-NOT: scf.for
// CHECK: %[[ZERO:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT: memref.load %[[CH0]][%[[ZERO]], %{{.+}}]
// CHECK-NOT: scf.for
// CHECK: %[[ZERO1:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT: memref.load %[[CH1]][%[[ZERO1]], %{{.+}}]
func.func @main_graph(%y: memref<2xi8> {bufferize.result},
                      %w: memref<2x2xi8> {hls.weight = "w", hls.weight_data = dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    %byte = memref.load %w[%i, %c1] : memref<2x2xi8>
    memref.store %byte, %y[%i] : memref<2xi8>
  }
  return
}
