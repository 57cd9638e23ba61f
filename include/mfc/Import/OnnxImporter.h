//===- OnnxImporter.h - ONNX to MLIR ----------------------------*- C++ -*-===//
#ifndef MFC_IMPORT_ONNXIMPORTER_H
#define MFC_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mfc {

/// Discardable attribute naming the ONNX op a contraction was imported from (MatMul,
/// Gemm, MatMulInteger), so that the ternary report can list every such node.
inline constexpr llvm::StringLiteral kOnnxOpTypeAttr = "onnx.op_type";

struct ImportOptions {
  /// Name of the entry function.
  std::string entryName = "main_graph";
  /// Initializers with at least this many bytes become `dense_resource` blobs that
  /// reference the (memory-mapped) file data; smaller ones become dense attributes.
  size_t resourceThresholdBytes = 1024;
};

/// One ONNX op type, opset range, as claimed by the importer.
struct SupportedOp {
  std::string opType;
  int sinceOpset;
  int untilOpset; ///< inclusive
};

/// Imports an ONNX model: binary protobuf, or ONNX text (libonnx's syntax) when the
/// file name ends in `.onnxtxt`. Initializers in external data files are memory-mapped.
/// Diagnostics (naming the node, op type and opset) go to the context's handler; on
/// any error the result is null.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &context,
                                                 llvm::StringRef path,
                                                 const ImportOptions &options = {});

/// The ONNX ops (default domain) the importer converts, sorted by name.
std::vector<SupportedOp> supportedOnnxOps();

/// Registers the dialects the importer produces.
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace mfc

#endif // MFC_IMPORT_ONNXIMPORTER_H
