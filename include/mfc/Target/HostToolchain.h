//===- HostToolchain.h - LLVM, the assembler and the linker -----*- C++ -*-===//
//
// What turns a target's host code (the LLVM dialect) into a shared library the host
// runtime loads: shared by the CPU target and the CUDA target's host side.
//
#ifndef MFC_TARGET_HOSTTOOLCHAIN_H
#define MFC_TARGET_HOSTTOOLCHAIN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace mfc {

/// The bytes of a constant's value as they lie in memory, if it has a flat layout (not a
/// splat, not i1).
std::optional<llvm::ArrayRef<char>> constantBytes(mlir::Attribute value);

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

/// LLVM-dialect module (with gpu.binary objects and gpu.launch_func, for GPU targets) to
/// optimized LLVM IR with the host model ABI symbols. `instrumentAddresses` adds
/// AddressSanitizer checks to the generated functions (the library then expects the ASan
/// runtime in the process that loads it).
std::unique_ptr<llvm::Module> translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                                                llvm::StringRef entry,
                                                llvm::StringRef signature,
                                                llvm::TargetMachine &machine,
                                                unsigned optLevel,
                                                bool instrumentAddresses = false);

/// Produces `path` through a temporary file next to it: `produce` writes the temporary
/// (named `tempPath`, open as `os`), which replaces `path` (a rename) only when `produce`
/// succeeds and every byte was written. Otherwise the temporary is removed and an older
/// `path` stays as it was: a full disk or a failing tool leaves no partial artifact.
mlir::LogicalResult replaceFile(
    llvm::StringRef path,
    llvm::function_ref<mlir::LogicalResult(llvm::StringRef tempPath, llvm::raw_pwrite_stream &os)>
        produce,
    std::string &error);

/// Writes what `print` prints to `path` ("-": stdout), through replaceFile.
mlir::LogicalResult writeTextFile(llvm::StringRef path,
                                  llvm::function_ref<void(llvm::raw_ostream &)> print,
                                  std::string &error);

/// Writes `module` as an object file, through replaceFile.
mlir::LogicalResult emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                                   llvm::StringRef path, std::string &error);

/// Links object files and `libraries` (static archives the target ships, each of which
/// must exist) into a shared library with the system C compiler driver, passing it
/// `flags` too (-fopenmp, -ldl). Errors name `reportedPath` (default: `libraryPath`),
/// the artifact a temporary `libraryPath` becomes.
mlir::LogicalResult linkSharedLibrary(llvm::ArrayRef<std::string> objectPaths,
                                      llvm::StringRef libraryPath,
                                      llvm::ArrayRef<std::string> libraries,
                                      llvm::ArrayRef<llvm::StringRef> flags, std::string &error,
                                      llvm::StringRef reportedPath = {});

/// The `lib` stage of a host-loaded target: `module`'s object (written in `workDir`)
/// linked with `extraObjects` and the run-time archive `lib/<runtimeArchive>` under
/// `installPrefix` into `libraryPath`, and the model header next to it.
mlir::LogicalResult buildModelLibrary(llvm::Module &module, llvm::TargetMachine &machine,
                                      llvm::StringRef workDir,
                                      llvm::ArrayRef<std::string> extraObjects,
                                      llvm::StringRef installPrefix,
                                      llvm::StringRef runtimeArchive,
                                      llvm::ArrayRef<llvm::StringRef> flags,
                                      llvm::StringRef signature, llvm::StringRef libraryPath,
                                      std::string &error);

} // namespace mfc

#endif // MFC_TARGET_HOSTTOOLCHAIN_H
