//===- Target.h - the interface every back end implements -------*- C++ -*-===//
//
// A target takes tern IR (what `mfc --emit=tern` prints, the same for every back end)
// through its own lowering pipeline to its last MLIR form (the `lowered` stage), then
// serializes that form into artifacts (LLVM IR, an object, a shared library, PTX, HLS
// C++). The driver knows nothing target-specific: it asks the registry for the target
// named by --target, checks --emit against the stages the target offers, runs
// buildLoweringPipeline and calls serialize. mfc-opt registers each target's pipelines.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_TARGET_TARGET_H
#define MFC_TARGET_TARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>

namespace mfc {

/// What the driver passes every target; a target reads the fields that apply to it.
struct TargetOptions {
  /// The model's entry function.
  std::string entry = "main_graph";
  /// Target triple; empty: the target's default (the host for the CPU).
  std::string triple;
  /// Processor: a CPU name ("native": the host's) or a GPU architecture.
  std::string cpu = "native";
  /// Optimization level of the generated code, 0 to 3 (the driver checks the range).
  unsigned optLevel = 2;
  /// The installation prefix (the directory above bin/), where a target finds the
  /// run-time pieces it links in (lib/libmfc_kernels.a for the CPU).
  std::string installPrefix;
  /// Data-dependent indices (Gather, ScatterND) out of range are errors of the run
  /// (false: `--unchecked-indices`, which drops the checks and keeps ONNX's wrap-around).
  bool checkIndices = true;
  /// Instrument the generated code with AddressSanitizer (`--sanitize=address`; CPU only).
  bool sanitizeAddress = false;
  /// Ternary codes each product of an HLS design consumes per cycle (`--hls-lanes`).
  unsigned hlsLanes = 1;
  /// Memory channels each packed weight of an HLS design is spread over
  /// (`--hls-channels`).
  unsigned hlsChannels = 1;
  /// Elements each element-wise loop with independent iterations of an HLS design takes
  /// per cycle (`--hls-element-lanes`).
  unsigned hlsElementLanes = 1;
};

/// A `--emit` stage a target offers after `tern`.
struct TargetStage {
  llvm::StringRef name;
  llvm::StringRef description;
  /// A file that never goes to stdout; its default path is the input's with `extension`.
  bool binary;
  llvm::StringRef extension;
};

class Target {
public:
  virtual ~Target();

  /// The --target value.
  virtual llvm::StringRef getName() const = 0;
  virtual llvm::StringRef getDescription() const = 0;

  /// The stages after `tern`, in pipeline order; the first is the lowered MLIR (printed
  /// by the driver), the others are written by serialize.
  virtual llvm::ArrayRef<TargetStage> getStages() const = 0;
  /// The stage `mfc` stops at when --emit is not given.
  llvm::StringRef getDefaultStage() const;
  /// Why the target cannot compile yet, or empty when it can.
  virtual llvm::StringRef getUnavailableReason() const { return ""; }

  /// Dialects (and their interface models) that the lowering pipeline creates.
  virtual void getDependentDialects(mlir::DialectRegistry &registry) const {}

  /// tern IR (tensors) to the target's lowered MLIR.
  virtual void buildLoweringPipeline(mlir::OpPassManager &pm,
                                     const TargetOptions &options) const = 0;

  /// Writes the artifact of `stage` (one of getStages() after the first) for the lowered
  /// `module` to `outputPath` ("-": stdout, for text stages). Reports failures as
  /// diagnostics on the module.
  virtual mlir::LogicalResult serialize(mlir::ModuleOp module, llvm::StringRef stage,
                                        llvm::StringRef outputPath,
                                        const TargetOptions &options) const = 0;

  /// What `--report` adds for this target after the ternary report, from the tern IR
  /// (`ternModule`): estimates, labelled as such. Nothing by default; errors (an
  /// unknown part, say) are diagnostics on the module.
  virtual mlir::LogicalResult printReport(mlir::ModuleOp ternModule,
                                          const TargetOptions &options,
                                          llvm::raw_ostream &os) const {
    return mlir::success();
  }
  /// Registers the target's passes and named pipelines (for mfc-opt).
  virtual void registerPasses() const {}
};

/// Adds `target` to the registry; its name must be new.
void registerTarget(std::unique_ptr<Target> target);
/// The target named `name`, or null.
const Target *lookupTarget(llvm::StringRef name);
/// Every registered target, in registration order.
llvm::ArrayRef<std::unique_ptr<Target>> getRegisteredTargets();

} // namespace mfc

#endif // MFC_TARGET_TARGET_H
