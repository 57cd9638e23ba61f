//===- CPUTarget.cpp - the CPU back end -----------------------------------===//
#include "mfc/Target/CPU/CPUTarget.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Pipeline/TernPipeline.h"
#include "mfc/Target/CPU/Passes.h"
#include "mfc/Target/HostABI.h"
#include "mfc/Target/HostToolchain.h"
#include "mfc/Target/Passes.h"
#include "mfc/Target/Target.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

void mfc::buildCPULoweringPipeline(OpPassManager &pm, const CPUPipelineOptions &options) {
  pm.addPass(createPrepareEntry({options.entry}));
  // The micro-kernel streams one output's codes per row.
  pm.addNestedPass<func::FuncOp>(tern::createTernRepack({tern::PackedOrder::rows}));
  buildTernExpansionPipeline(pm);
  buildTernBufferizationPipeline(pm, options.bufferAlignment);
  pm.addPass(tern::createTernLowerRunTimeChecks({options.checkIndices ? "report" : "unchecked"}));
  // Ternary products on buffers: int8 ones to the micro-kernel, the rest to loops.
  if (options.ukernels)
    pm.addPass(cpu::createCPULowerToUkernels());
  pm.addPass(tern::createTernLowerMatmul());
  buildBufferDeallocationPasses(pm);
  pm.addNestedPass<func::FuncOp>(createStridedCopyToLoops());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createOutlineLoopNests());
  pm.addPass(createMergeEquivalentFunctions());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(cpu::createCPUApproximateMath());
  pm.addPass(createConvertMathToFuncs()); // math.ipowi (integer Pow) as a loop
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Buffers through _mlir_memref_to_llvm_alloc/free (runtime/kernels/run_errors.c),
  // which free what a run abandoned by a failed check had allocated.
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

namespace {
class CPUTarget final : public mfc::Target {
public:
  StringRef getName() const override { return "cpu"; }
  StringRef getDescription() const override { return "the host CPU (or -mtriple) via LLVM"; }

  ArrayRef<mfc::TargetStage> getStages() const override {
    static const mfc::TargetStage stages[] = {
        {"lowered", "MLIR lowered to the LLVM dialect", false, ""},
        {"llvm", "optimized LLVM IR", false, ""},
        {"obj", "an object file", true, ".o"},
        {"lib", "a shared library and its C header", true, ".so"},
    };
    return stages;
  }

  void buildLoweringPipeline(OpPassManager &pm,
                             const mfc::TargetOptions &options) const override {
    mfc::CPUPipelineOptions cpu;
    cpu.entry = options.entry;
    cpu.checkIndices = options.checkIndices;
    // An aligned buffer is allocated with slack behind it, where ASan would see nothing.
    if (options.sanitizeAddress)
      cpu.bufferAlignment = 0;
    mfc::buildCPULoweringPipeline(pm, cpu);
  }

  LogicalResult serialize(ModuleOp module, StringRef stage, StringRef outputPath,
                          const mfc::TargetOptions &options) const override {
    FailureOr<StringRef> signature = mfc::recordedSignature(module);
    if (failed(signature))
      return failure();
    auto fail = [&](const Twine &message) { return module.emitError(message); };
    std::string error;
    auto machine = mfc::createTargetMachine(options.triple, options.cpu,
                                                 options.optLevel, error);
    if (failed(machine))
      return fail(error);
    // A shared library gets its weights through an object of their own (see
    // externalizeWeights); the text and object stages keep them inline.
    SmallString<128> workDir;
    llvm::scope_exit removeWorkDir([&] {
      if (!workDir.empty())
        llvm::sys::fs::remove_directories(workDir);
    });
    std::string weightsObject;
    if (stage == "lib") {
      if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("mfc", workDir))
        return fail("cannot create a temporary directory: " + ec.message());
      FailureOr<std::string> object =
          mfc::externalizeWeights(module, workDir, /*thresholdBytes=*/64 * 1024, error);
      if (failed(object))
        return fail(error);
      weightsObject = *object;
    }
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule = mfc::translateToLLVMIR(
        module, llvmContext, options.entry, *signature, **machine, options.optLevel,
        options.sanitizeAddress);
    if (!llvmModule)
      return failure();
    if (stage == "llvm")
      return failed(mfc::writeTextFile(
                 outputPath, [&](raw_ostream &os) { llvmModule->print(os, nullptr); }, error))
                 ? fail(error)
                 : success();
    if (stage == "obj")
      return failed(mfc::emitObjectFile(*llvmModule, **machine, outputPath, error))
                 ? fail(error)
                 : success();
    // -pthread: the kernels split rows across threads of their own (thread_pool.c).
    if (failed(mfc::buildModelLibrary(*llvmModule, **machine, workDir, {weightsObject},
                                      options.installPrefix, "libmfc_kernels.a",
                                      {"-pthread", "-lm"}, *signature, outputPath, error)))
      return fail(error);
    return success();
  }

  void registerPasses() const override {
    mfc::cpu::registerMFCCPUPasses();
    PassPipelineRegistration<mfc::CPUPipelineOptions>(
        "mfc-cpu-pipeline",
        "Import-level IR to the LLVM dialect (what `mfc --emit=lowered` runs)",
        [](OpPassManager &pm, const mfc::CPUPipelineOptions &options) {
          mfc::buildTernPipeline(pm, mfc::TernPipelineOptions());
          mfc::buildCPULoweringPipeline(pm, options);
        });
    PassPipelineRegistration<mfc::CPUPipelineOptions>(
        "mfc-cpu-lowering-pipeline", "tern IR to the LLVM dialect",
        mfc::buildCPULoweringPipeline);
  }
};
} // namespace

void mfc::registerCPUTarget() { registerTarget(std::make_unique<CPUTarget>()); }
