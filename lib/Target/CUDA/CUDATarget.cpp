//===- CUDATarget.cpp - the CUDA back end ---------------------------------===//
#include "mfc/Target/CUDA/CUDATarget.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Pipeline/TernPipeline.h"
#include "mfc/Target/CUDA/Passes.h"
#include "mfc/Target/HostABI.h"
#include "mfc/Target/HostToolchain.h"
#include "mfc/Target/Passes.h"
#include "mfc/Target/Target.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

using namespace mlir;

/// The CUDA toolkit whose libdevice (the math functions kernels call) MLIR's NVVM
/// serializer links: $CUDA_HOME, $CUDA_PATH, $CUDA_ROOT or /usr/local/cuda, the first
/// that has it; empty when none does.
static std::string findCUDAToolkit() {
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *dir = std::getenv(var))
      if (llvm::sys::fs::exists(std::string(dir) + "/nvvm/libdevice/libdevice.10.bc"))
        return dir;
  if (llvm::sys::fs::exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"))
    return "/usr/local/cuda";
  return "";
}

void mfc::buildCUDALoweringPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  // The serializer finds the toolkit through CUDA_HOME only; without libdevice the PTX
  // would call math functions nobody defines.
  std::string toolkit = findCUDAToolkit();
  if (!toolkit.empty())
    setenv("CUDA_HOME", toolkit.c_str(), /*overwrite=*/1);
  pm.addPass(createPrepareEntry({options.entry}));
  // Device code cannot call the host's error report: an index out of range reads the
  // dim's first element instead (no access outside the buffer).
  pm.addPass(tern::createTernLowerRunTimeChecks({"clamp"}));
  // Codes in rows: the lanes sharing an output read consecutive 16 bytes of its row.
  pm.addNestedPass<func::FuncOp>(tern::createTernRepack({tern::PackedOrder::rows}));
  // A scan over a sequence: one kernel whose threads loop over time.
  pm.addNestedPass<func::FuncOp>(cuda::createCUDALowerMLGRUScan());
  // tern.bitlinear stays whole for mfc-cuda-lower-bitlinear.
  pm.addNestedPass<func::FuncOp>(tern::createTernExpandOps({/*keepBitLinear=*/true}));
  // One kernel per chain of element-wise ops rather than per op, recomputing shared
  // producers: launches are what a decode step spends its time on.
  pm.addNestedPass<func::FuncOp>(cuda::createCUDAFuseElementwise());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  buildTernBufferizationPipeline(pm);
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  // Before the kernels: deallocation does not know the effects of NVVM ops.
  buildBufferDeallocationPasses(pm);
  pm.addNestedPass<func::FuncOp>(cuda::createCUDALowerBitLinear({options.threads}));
  pm.addPass(cuda::createCUDALowerTernaryGemv());
  // The products the GEMV kernel does not take: partial sums over chunks of K run side by
  // side (a layer's outputs alone are too few threads for the GPU).
  pm.addPass(tern::createTernLowerMatmul({options.kChunk}));
  // Norms, absmax and softmax sums: the threads of a block share each reduction.
  pm.addNestedPass<func::FuncOp>(cuda::createCUDAReductionKernels({options.threads}));
  pm.addPass(cuda::createCUDADeviceMemory({options.entry}));
  // Each linalg op's parallel loops become one kernel launch: blocks of `threads`
  // along the innermost dim.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(cuda::createCUDATileParallelLoops({options.threads}));
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addNestedPass<func::FuncOp>(cuda::createCUDANameKernels());
  pm.addPass(createCanonicalizerPass());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  // PTX ISA 8.1: kernel parameters up to 32 KiB (8.0 stops at 4 KiB, which a fused
  // kernel reading many buffers passes); drivers from CUDA 12.1 on JIT it.
  nvvm.cubinFeatures = "+ptx81";
  nvvm.cubinFormat = "isa"; // PTX, JIT-compiled by the driver for the GPU it runs on
  nvvm.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

namespace {
/// The PTX of every gpu.binary object in `module`.
std::string collectPTX(ModuleOp module) {
  std::string ptx;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects())
      ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().str();
  });
  return ptx;
}

class CUDATarget final : public mfc::Target {
public:
  StringRef getName() const override { return "cuda"; }
  StringRef getDescription() const override {
    return "NVIDIA GPUs via NVVM and PTX (-mcpu: the sm_ architecture, default sm_90)";
  }

  StringRef getUnavailableReason() const override {
    static const std::string reason =
        findCUDAToolkit().empty()
            ? "the CUDA toolkit's libdevice is missing (looked in $CUDA_HOME, $CUDA_PATH, "
              "$CUDA_ROOT and /usr/local/cuda for nvvm/libdevice/libdevice.10.bc)"
            : "";
    return reason;
  }

  ArrayRef<mfc::TargetStage> getStages() const override {
    static const mfc::TargetStage stages[] = {
        {"lowered", "MLIR: host code in the LLVM dialect, kernels as gpu.binary", false, ""},
        {"ptx", "the kernels' PTX", false, ""},
        {"llvm", "the host code's LLVM IR", false, ""},
        {"lib", "a shared library and its C header", true, ".so"},
    };
    return stages;
  }

  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<gpu::GPUDialect>();
    // gpu-module-to-binary translates the kernels to LLVM IR on the way to PTX.
    registerAllToLLVMIRTranslations(registry);
  }

  void buildLoweringPipeline(OpPassManager &pm,
                             const mfc::TargetOptions &options) const override {
    mfc::CUDAPipelineOptions cuda;
    cuda.entry = options.entry;
    if (options.cpu != "native") // --mcpu names the GPU architecture
      cuda.chip = options.cpu;
    cuda.optLevel = options.optLevel;
    mfc::buildCUDALoweringPipeline(pm, cuda);
  }

  LogicalResult serialize(ModuleOp module, StringRef stage, StringRef outputPath,
                          const mfc::TargetOptions &options) const override {
    auto fail = [&](const Twine &message) -> LogicalResult {
      return module.emitError(message);
    };
    std::string error;
    auto write = [&](llvm::function_ref<void(raw_ostream &)> print) {
      return failed(mfc::writeTextFile(outputPath, print, error)) ? fail(error) : success();
    };
    if (stage == "ptx")
      return write([&](raw_ostream &os) { os << collectPTX(module); });
    FailureOr<StringRef> signature = mfc::recordedSignature(module);
    if (failed(signature))
      return failure();
    // The host code only launches kernels and moves buffers: built for the generic CPU
    // of the host triple, so that the library runs on whichever machine holds the GPU.
    auto machine = mfc::createTargetMachine("", "", options.optLevel, error);
    if (failed(machine))
      return fail(error);
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule = mfc::translateToLLVMIR(
        module, llvmContext, options.entry, *signature, **machine, options.optLevel);
    if (!llvmModule)
      return failure();
    if (stage == "llvm")
      return write([&](raw_ostream &os) { llvmModule->print(os, nullptr); });
    SmallString<128> workDir;
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("mfc", workDir))
      return fail("cannot create a temporary directory: " + ec.message());
    llvm::scope_exit removeWorkDir([&] { llvm::sys::fs::remove_directories(workDir); });
    if (failed(mfc::buildModelLibrary(*llvmModule, **machine, workDir, {},
                                      options.installPrefix, "libmfc_cuda_runtime.a",
                                      {"-ldl"}, *signature, outputPath, error)))
      return fail(error);
    return success();
  }

  void registerPasses() const override {
    mfc::cuda::registerMFCCUDAPasses();
    PassPipelineRegistration<mfc::CUDAPipelineOptions>(
        "mfc-cuda-pipeline",
        "Import-level IR to host LLVM dialect and PTX kernels (what `mfc --target=cuda "
        "--emit=lowered` runs)",
        [](OpPassManager &pm, const mfc::CUDAPipelineOptions &options) {
          mfc::buildTernPipeline(pm, mfc::TernPipelineOptions());
          mfc::buildCUDALoweringPipeline(pm, options);
        });
  }
};
} // namespace

void mfc::registerCUDATarget() { registerTarget(std::make_unique<CUDATarget>()); }
