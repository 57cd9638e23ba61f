//===- HostABI.h - what a host-loaded model library exports -----*- C++ -*-===//
//
// Every target whose output the host runtime loads (CPU, CUDA) gives its shared
// library mfc's model ABI:
//   const char mfc_signature[];      // "mfc-signature 1\ninput\t<name>\t<onnx type>\t<rank>\t<dims>\n..."
//   void mfc_entry(void **args);     // args[0]: output descriptors, args[1+i]: input i
// and writes a C header next to it (see include/mfc/Runtime/mfc_runtime.h for the
// runtime that loads it). mfc-prepare-entry records the signature on the module while
// it is still tensor IR; the serializers read it back from there.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_TARGET_HOSTABI_H
#define MFC_TARGET_HOSTABI_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/IR/Module.h"

#include <string>

namespace mfc {

/// The module attribute that holds the signature text.
constexpr llvm::StringLiteral kSignatureAttrName = "mfc.signature";

/// The model signature of the tensor-level `entry` (onnx.name, onnx.elem_type and
/// onnx.dim_names argument/result attributes where the importer left them).
mlir::FailureOr<std::string> describeSignature(mlir::func::FuncOp entry);

/// The signature that mfc-prepare-entry recorded on `module`.
mlir::FailureOr<llvm::StringRef> recordedSignature(mlir::ModuleOp module);

/// Adds `mfc_entry(void **args)`, calling `_mlir_ciface_<entry>` with args[i] as its
/// i-th (pointer) parameter, and the `mfc_signature` string to `module`.
mlir::LogicalResult addModelABI(llvm::Module &module, llvm::StringRef entry,
                                llvm::StringRef signature, std::string &error);

/// Prints the C header that goes with a compiled library: the signature as comments
/// and the input/output indices as named constants `<prefix>_input_<name>`, ...
void printModelHeader(llvm::raw_ostream &os, llvm::StringRef signature,
                      llvm::StringRef modelName);

} // namespace mfc

#endif // MFC_TARGET_HOSTABI_H
