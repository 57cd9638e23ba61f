//===- HostToolchain.cpp - LLVM, the assembler and the linker -------------===//
#include "mfc/Target/HostToolchain.h"

#include "mfc/Target/HostABI.h"


#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Transforms/Instrumentation/AddressSanitizer.h"

using namespace mlir;

FailureOr<std::unique_ptr<llvm::TargetMachine>>
mfc::createTargetMachine(StringRef triple, StringRef cpu, unsigned optLevel,
                         std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm::Triple targetTriple(triple.empty() ? llvm::sys::getDefaultTargetTriple() : triple.str());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(targetTriple, error);
  if (!target)
    return failure();
  std::string cpuName = cpu.str(), features;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures subtarget;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      subtarget.AddFeature(feature.first(), feature.second);
    features = subtarget.getString();
  }
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      targetTriple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOpt::getLevel(optLevel).value_or(llvm::CodeGenOptLevel::Default)));
  if (!machine) {
    error = "cannot create a target machine for " + targetTriple.str() + " / " + cpuName;
    return failure();
  }
  return machine;
}

/// LLVM's default -O<optLevel> pipeline for `machine`; with `instrumentAddresses`, every
/// function with a body is marked sanitize_address and AddressSanitizer runs last, as
/// clang's -fsanitize=address places it.
static void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine,
                           unsigned optLevel, bool instrumentAddresses) {
  llvm::LoopAnalysisManager loopAnalyses;
  llvm::FunctionAnalysisManager functionAnalyses;
  llvm::CGSCCAnalysisManager cgsccAnalyses;
  llvm::ModuleAnalysisManager moduleAnalyses;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = tuning.LoopInterleaving = true;
  tuning.LoopVectorization = tuning.SLPVectorization = true;
  llvm::PassBuilder builder(&machine, tuning);
  if (instrumentAddresses) {
    for (llvm::Function &function : module)
      if (!function.isDeclaration())
        function.addFnAttr(llvm::Attribute::SanitizeAddress);
    // ASan gives no redzone to a global aligned past 32 bytes, its largest minimum
    // redzone; 64 is only a preference of the constants (the kernels load unaligned).
    for (llvm::GlobalVariable &global : module.globals())
      if (!global.isDeclaration() && global.getAlign() && *global.getAlign() > 32)
        global.setAlignment(llvm::Align(32));
    builder.registerOptimizerLastEPCallback(
        [](llvm::ModulePassManager &passes, llvm::OptimizationLevel, llvm::ThinOrFullLTOPhase) {
          passes.addPass(llvm::AddressSanitizerPass(llvm::AddressSanitizerOptions()));
        });
  }
  builder.registerModuleAnalyses(moduleAnalyses);
  builder.registerCGSCCAnalyses(cgsccAnalyses);
  builder.registerFunctionAnalyses(functionAnalyses);
  builder.registerLoopAnalyses(loopAnalyses);
  builder.crossRegisterProxies(loopAnalyses, functionAnalyses, cgsccAnalyses, moduleAnalyses);
  static const llvm::OptimizationLevel levels[] = {
      llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1, llvm::OptimizationLevel::O2,
      llvm::OptimizationLevel::O3};
  llvm::ModulePassManager passes =
      optLevel == 0 ? builder.buildO0DefaultPipeline(levels[0])
                    : builder.buildPerModuleDefaultPipeline(levels[std::min(optLevel, 3u)]);
  passes.run(module, moduleAnalyses);
}

std::unique_ptr<llvm::Module> mfc::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &ctx,
                                                     StringRef entry, StringRef signature,
                                                     llvm::TargetMachine &machine,
                                                     unsigned optLevel,
                                                     bool instrumentAddresses) {
  // Functions outlined by mfc-outline-loop-nests stay separate (and module-local) in
  // LLVM: their markers are discardable attributes that func-to-llvm carries over.
  module.walk([](LLVM::LLVMFuncOp func) {
    if (!func->removeAttr("llvm.no_inline"))
      return;
    func.setNoInline(true);
    if (func->removeAttr("sym_visibility"))
      func.setLinkage(LLVM::Linkage::Internal);
  });
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry); // gpu.binary, gpu.launch_func of GPU targets
  registerNVVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, ctx, "mfc_model");
  if (!llvmModule)
    return nullptr;
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());
  std::string error;
  if (failed(addModelABI(*llvmModule, entry, signature, error))) {
    emitError(module.getLoc()) << error;
    return nullptr;
  }
  optimizeModule(*llvmModule, machine, optLevel, instrumentAddresses);
  return llvmModule;
}

LogicalResult mfc::replaceFile(
    StringRef path, function_ref<LogicalResult(StringRef, llvm::raw_pwrite_stream &)> produce,
    std::string &error) {
  auto fail = [&](const Twine &why) {
    error = ("cannot write '" + path + "': " + why).str();
    return failure();
  };
  llvm::Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
  if (!temp)
    return fail(llvm::toString(temp.takeError()));
  LogicalResult produced = failure();
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    produced = produce(temp->TmpName, os);
    os.flush();
    if (os.has_error()) {
      if (succeeded(produced))
        (void)fail(os.error().message());
      produced = failure();
      os.clear_error(); // an uncleared stream error is fatal when the stream is destroyed
    }
  }
  if (failed(produced)) {
    llvm::consumeError(temp->discard());
    return failure();
  }
  if (llvm::Error renameError = temp->keep(path))
    return fail(llvm::toString(std::move(renameError)));
  return success();
}

LogicalResult mfc::writeTextFile(StringRef path, function_ref<void(raw_ostream &)> print,
                                 std::string &error) {
  if (path == "-") {
    print(llvm::outs());
    llvm::outs().flush();
    if (!llvm::outs().has_error())
      return success();
    error = "cannot write to stdout: " + llvm::outs().error().message();
    llvm::outs().clear_error();
    return failure();
  }
  return replaceFile(
      path,
      [&](StringRef, llvm::raw_pwrite_stream &os) {
        print(os);
        return success();
      },
      error);
}

LogicalResult mfc::emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                                  StringRef path, std::string &error) {
  return replaceFile(
      path,
      [&](StringRef, llvm::raw_pwrite_stream &os) -> LogicalResult {
        llvm::legacy::PassManager pm;
        if (machine.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
          error = "the target cannot emit object files";
          return failure();
        }
        pm.run(module);
        return success();
      },
      error);
}

/// Runs `cc` with `args` (after the program name); describes a failure in `error`.
static LogicalResult runCC(ArrayRef<StringRef> args, StringRef what, std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no C compiler driver 'cc' on PATH (needed for " + what.str() + ")";
    return failure();
  }
  SmallVector<StringRef> argv{*cc};
  argv.append(args.begin(), args.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*cc, argv, std::nullopt, {}, 0, 0, &message);
  if (status != 0) {
    error = what.str() + " failed (" + *cc + " exited with " + std::to_string(status) + ")" +
            (message.empty() ? "" : ": " + message);
    return failure();
  }
  return success();
}

std::optional<ArrayRef<char>> mfc::constantBytes(Attribute value) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense || dense.isSplat() || dense.getElementType().isInteger(1))
    return std::nullopt;
  return dense.getRawData();
}

FailureOr<std::string> mfc::externalizeWeights(ModuleOp module, StringRef workDir,
                                               size_t thresholdBytes, std::string &error) {
  SmallString<256> asmPath(workDir), objectPath(workDir);
  llvm::sys::path::append(asmPath, "weights.s");
  llvm::sys::path::append(objectPath, "weights.o");
  // No executable stack; weights in a read-only data section.
  std::string assembly = "\t.section .note.GNU-stack,\"\",@progbits\n"
                         "\t.section .rodata.mfc_weights,\"a\"\n";
  llvm::raw_string_ostream asmText(assembly);
  unsigned count = 0;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    std::optional<ArrayRef<char>> bytes;
    if (!global.getConstant() || !global.getValueAttr() ||
        !(bytes = constantBytes(global.getValueAttr())) || bytes->size() < thresholdBytes)
      continue;
    SmallString<256> binPath(workDir);
    llvm::sys::path::append(binPath, "weight" + std::to_string(count++) + ".bin");
    if (failed(writeTextFile(
            binPath, [&](raw_ostream &os) { os.write(bytes->data(), bytes->size()); }, error)))
      return failure();
    StringRef name = global.getSymName();
    asmText << "\t.globl " << name << "\n\t.hidden " << name << "\n\t.p2align 6\n"
            << name << ":\n\t.incbin \"" << binPath << "\"\n\t.size " << name << ", "
            << bytes->size() << "\n";
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
  }
  if (failed(writeTextFile(asmPath, [&](raw_ostream &os) { os << assembly; }, error)))
    return failure();
  if (failed(runCC({"-c", asmPath, "-o", objectPath}, "assembling the weights", error)))
    return failure();
  return objectPath.str().str();
}

LogicalResult mfc::linkSharedLibrary(ArrayRef<std::string> objectPaths, StringRef libraryPath,
                                ArrayRef<std::string> libraries, ArrayRef<StringRef> flags,
                                std::string &error, StringRef reportedPath) {
  for (const std::string &library : libraries)
    if (!llvm::sys::fs::exists(library)) {
      error = "the run-time library '" + library + "' is missing";
      return failure();
    }
  SmallVector<StringRef> args{"-shared", "-o", libraryPath};
  args.append(objectPaths.begin(), objectPaths.end());
  args.append(libraries.begin(), libraries.end());
  args.append(flags.begin(), flags.end());
  return runCC(args, "linking '" + (reportedPath.empty() ? libraryPath : reportedPath).str() + "'",
               error);
}

LogicalResult mfc::buildModelLibrary(llvm::Module &module, llvm::TargetMachine &machine,
                                     StringRef workDir, ArrayRef<std::string> extraObjects,
                                     StringRef installPrefix, StringRef runtimeArchive,
                                     ArrayRef<StringRef> flags, StringRef signature,
                                     StringRef libraryPath, std::string &error) {
  SmallString<128> codeObject(workDir);
  llvm::sys::path::append(codeObject, "model.o");
  SmallString<256> archive(installPrefix);
  llvm::sys::path::append(archive, "lib", runtimeArchive);
  SmallVector<std::string> objects{codeObject.str().str()};
  objects.append(extraObjects.begin(), extraObjects.end());
  if (failed(emitObjectFile(module, machine, codeObject, error)))
    return failure();
  // model.so comes with model.h: its signature and the tensor indices for the C API.
  SmallString<256> headerPath(libraryPath);
  llvm::sys::path::replace_extension(headerPath, ".h");
  return replaceFile(
      libraryPath,
      [&](StringRef tempPath, llvm::raw_pwrite_stream &) {
        if (failed(linkSharedLibrary(objects, tempPath, {archive.str().str()}, flags, error,
                                     libraryPath)))
          return failure();
        return writeTextFile(
            headerPath,
            [&](raw_ostream &os) {
              printModelHeader(os, signature, llvm::sys::path::stem(libraryPath));
            },
            error);
      },
      error);
}
