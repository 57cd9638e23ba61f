//===- CPU.h - the CPU back end ---------------------------------*- C++ -*-===//
//
// Pipelines from imported tensor IR to the LLVM dialect, and from there to LLVM IR,
// an object file and a shared library with mfc's model ABI:
//   const char mfc_signature[];      // "mfc-signature 1\ninput\t<name>\t<onnx type>\t<rank>\t<dims>\n..."
//   void mfc_entry(void **args);     // args[0]: output descriptors, args[1+i]: input i
// (see include/mfc/Runtime/mfc_runtime.h for the runtime that loads it).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_TARGET_CPU_H
#define MFC_TARGET_CPU_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace mfc {

/// Import-level IR to tern IR: clean up, then rewrite ternary contractions.
void buildTernPipeline(mlir::OpPassManager &pm, bool remarks);
/// tern IR to the LLVM dialect: multiply-free matmul loops, bufferization, loops, LLVM.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm);
/// Registers `mfc-tern-pipeline` and `mfc-cpu-pipeline` (both together) for mfc-opt.
void registerPipelines();

/// The model signature of `entry` (tensor-level, with onnx.name/onnx.elem_type arg
/// attributes), in the `mfc_signature` text format. Also marks `entry` for the C interface.
mlir::FailureOr<std::string> prepareEntry(mlir::ModuleOp module, llvm::StringRef entry);

/// A target machine for `triple` (empty: the host) and `cpu` ("native": the host's,
/// with its features).
mlir::FailureOr<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(llvm::StringRef triple, llvm::StringRef cpu, unsigned optLevel,
                    std::string &error);

/// Moves the data of large constant globals (weights) out of `module` into an object
/// file of their own, written straight from the (memory-mapped or packed) blobs with an
/// `.incbin` assembly file, so they never become LLVM IR constants; the globals become
/// external declarations. `workDir` holds the intermediate files.
mlir::FailureOr<std::string> externalizeWeights(mlir::ModuleOp module, llvm::StringRef workDir,
                                                size_t thresholdBytes, std::string &error);

/// LLVM-dialect module to optimized LLVM IR with the model ABI symbols.
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                                                llvm::StringRef entry,
                                                llvm::StringRef signature,
                                                llvm::TargetMachine &machine,
                                                unsigned optLevel);

/// Writes `module` as an object file.
mlir::LogicalResult emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                                   llvm::StringRef path, std::string &error);

/// Links object files and the micro-kernel library (libmfc_kernels.a) into a shared
/// library with the system C compiler driver.
mlir::LogicalResult linkSharedLibrary(llvm::ArrayRef<std::string> objectPaths,
                                      llvm::StringRef libraryPath, llvm::StringRef kernelLibrary,
                                      std::string &error);

/// Writes the C header that goes with a compiled library: the signature as comments
/// and the input/output indices as named constants `<prefix>_input_<name>`, ...
mlir::LogicalResult writeModelHeader(llvm::StringRef headerPath, llvm::StringRef signature,
                                     llvm::StringRef modelName, std::string &error);

} // namespace mfc

#endif // MFC_TARGET_CPU_H
