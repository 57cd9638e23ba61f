//===- Estimate.h - the HLS target's --report -------------------*- C++ -*-===//
#ifndef MFC_LIB_TARGET_HLS_ESTIMATE_H
#define MFC_LIB_TARGET_HLS_ESTIMATE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mfc::hls {

/// Prints the estimate of the design for `ternModule` on `part` (u280, u55c, kv260);
/// fails, with an error on the module, for another part.
/// `lanes`: ternary codes a product consumes per cycle in the generated design
/// (`--hls-lanes`), from each of `channels` memory channels (`--hls-channels`);
/// `elementLanes`: elements an element-wise map takes per cycle (`--hls-element-lanes`).
mlir::LogicalResult printEstimate(mlir::ModuleOp ternModule, llvm::StringRef part,
                                  unsigned lanes, unsigned elementLanes, unsigned channels,
                                  llvm::raw_ostream &os);

} // namespace mfc::hls

#endif // MFC_LIB_TARGET_HLS_ESTIMATE_H
