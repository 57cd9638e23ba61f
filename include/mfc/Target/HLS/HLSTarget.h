//===- HLSTarget.h - the HLS back end ------------------------*- C++ -*-===//
#ifndef MFC_TARGET_HLS_HLSTARGET_H
#define MFC_TARGET_HLS_HLSTARGET_H

#include "mlir/IR/BuiltinTypeInterfaces.h"

#include <cstdint>

namespace mfc {

/// Registers the `hls` target.
void registerHLSTarget();

namespace hls {
/// Whether `lanes`, the codes a ternary product consumes per cycle, is one the
/// generated design can have: 1, or a multiple of 4 (whole packed bytes). The driver
/// checks --hls-lanes with it (--report runs no pass) and mfc-hls-directives its option.
inline bool isValidLaneCount(unsigned lanes) { return lanes == 1 || (lanes > 0 && lanes % 4 == 0); }

/// Bytes of the words that packed ternary weights are read in (mfc-hls-weight-words):
/// one 512-bit AXI beat, 256 codes.
constexpr int64_t kWeightWordBytes = 64;

/// Whether a weight of `type` (a buffer or an EmitC array) holds packed ternary codes,
/// [rows, bytes] of i8, which the kernel reads in words.
inline bool isPackedWeightType(mlir::ShapedType type) {
  return type.getRank() == 2 && type.getElementType().isInteger(8);
}

/// On an on-chip array (memref.alloca), and on a function argument that receives one:
/// the cyclic partition factor of each dim (1: not partitioned), which
/// mfc-hls-directives chose.
constexpr const char *kPartitionAttrName = "hls.partition";

/// The words that hold `bytes` packed bytes.
inline int64_t weightWordCount(int64_t bytes) {
  return (bytes + kWeightWordBytes - 1) / kWeightWordBytes;
}
} // namespace hls

} // namespace mfc

#endif // MFC_TARGET_HLS_HLSTARGET_H
