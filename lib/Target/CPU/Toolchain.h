//===- Toolchain.h - LLVM, the assembler and the linker for the CPU -*- C++ -*-===//
#ifndef MFC_LIB_TARGET_CPU_TOOLCHAIN_H
#define MFC_LIB_TARGET_CPU_TOOLCHAIN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace mfc::cpu {

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

/// LLVM-dialect module to optimized LLVM IR with the host model ABI symbols.
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

} // namespace mfc::cpu

#endif // MFC_LIB_TARGET_CPU_TOOLCHAIN_H
