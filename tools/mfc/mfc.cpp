//===- mfc.cpp - the mfc compiler driver ----------------------------------===//
//
//   mfc model.onnx -o model.so                 compile for the host CPU (default)
//   mfc model.onnx --emit=import               stop after a stage, print MLIR
//   mfc model.onnx --report                    per-layer ternary conversion report
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Analysis/TernaryReport.h"
#include "mfc/Import/OnnxImporter.h"
#include "mfc/Target/CPU.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
enum class Stage { Import, Tern, Lowered, LLVM, Object, Library };
enum class Target { CPU, CUDA, HLS };

cl::OptionCategory mfcCategory("mfc options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<model.onnx | model.onnxtxt | model.mlir>"),
                                   cl::cat(mfcCategory));
cl::opt<std::string> outputFilename("o", cl::desc("Output file (default: stdout for text "
                                                  "stages, <input>.so / <input>.o for binaries)"),
                                    cl::value_desc("file"), cl::init("-"), cl::cat(mfcCategory));
cl::opt<Stage> emitStage(
    "emit", cl::desc("Stop after a stage and write its output"), cl::init(Stage::Library),
    cl::values(clEnumValN(Stage::Import, "import", "MLIR straight from the ONNX importer"),
               clEnumValN(Stage::Tern, "tern", "MLIR after the ternary passes"),
               clEnumValN(Stage::Lowered, "lowered", "MLIR lowered to the LLVM dialect"),
               clEnumValN(Stage::LLVM, "llvm", "LLVM IR"),
               clEnumValN(Stage::Object, "obj", "an object file"),
               clEnumValN(Stage::Library, "lib", "a shared library (default)")),
    cl::cat(mfcCategory));
cl::opt<Target> target("target", cl::desc("Code generation target"), cl::init(Target::CPU),
                       cl::values(clEnumValN(Target::CPU, "cpu", "host CPU via LLVM (default)"),
                                  clEnumValN(Target::CUDA, "cuda", "NVIDIA GPU via NVVM/PTX (not implemented yet)"),
                                  clEnumValN(Target::HLS, "hls", "HLS C++ for FPGAs (not implemented yet)")),
                       cl::cat(mfcCategory));
cl::opt<bool> report("report",
                     cl::desc("Print per layer the MACs replaced by adds/subtracts, weight "
                              "bytes before and after packing, and what was not converted"),
                     cl::cat(mfcCategory));
cl::opt<bool> remarks("mfc-remarks",
                      cl::desc("Explain at each op why a rewrite did or did not apply"),
                      cl::cat(mfcCategory));
cl::opt<std::string> mcpu("mcpu", cl::desc("Target CPU (default: the host; 'native' allowed)"),
                          cl::init("native"), cl::cat(mfcCategory));
cl::opt<bool> listOps("list-supported-ops",
                      cl::desc("List the ONNX ops the importer converts, with their opsets"),
                      cl::cat(mfcCategory));
cl::opt<std::string> entryName("entry",
                               cl::desc("Entry function of an MLIR input (default main_graph)"),
                               cl::init("main_graph"), cl::cat(mfcCategory));
cl::opt<unsigned> optLevel("O",
                           cl::desc("LLVM optimization level of the generated code (0-3); the "
                                    "ternary kernels are optimized either way"),
                           cl::Prefix, cl::init(2), cl::cat(mfcCategory));
cl::opt<std::string> mtriple("mtriple", cl::desc("Target triple (default: the host)"),
                             cl::cat(mfcCategory));
} // namespace

/// Where a stage's result goes: -o, or for binary stages a file next to the input.
static std::string outputPathFor(Stage stage) {
  if (outputFilename != "-" || stage <= Stage::LLVM)
    return outputFilename;
  llvm::SmallString<256> path(inputFilename);
  llvm::sys::path::replace_extension(path, stage == Stage::Object ? ".o" : ".so");
  return path.str().str();
}

static bool writeText(const std::function<void(llvm::raw_ostream &)> &print) {
  std::string errorMessage;
  auto output = mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << "mfc: " << errorMessage << "\n";
    return false;
  }
  print(output->os());
  output->keep();
  return true;
}

/// libmfc_kernels.a, installed next to mfc's bin/ directory as lib/.
static std::string kernelLibraryPath(const char *argv0) {
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&kernelLibraryPath);
  llvm::SmallString<256> path(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "lib", "libmfc_kernels.a");
  return path.str().str();
}

static int fail(const llvm::Twine &message) {
  llvm::errs() << "mfc: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "mfc " << MFC_VERSION << " (MatMul-free LM compiler, LLVM/MLIR "
       << LLVM_VERSION_STRING << ")\n";
  });
  // --help lists mfc's options and the MLIR debugging flags, not LLVM's hundreds.
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (!llvm::is_contained(option->Categories, &mfcCategory) &&
        !name.starts_with("mlir-") && name != "help" && name != "version")
      option->setHiddenFlag(cl::Hidden);
  cl::ParseCommandLineOptions(argc, argv, "mfc: compile MatMul-free language models\n");

  if (listOps) {
    for (const mfc::SupportedOp &op : mfc::supportedOnnxOps())
      llvm::outs() << op.opType << " " << op.sinceOpset << "-" << op.untilOpset << "\n";
    return 0;
  }
  if (inputFilename.empty()) {
    llvm::errs() << "mfc: no input model; see `mfc --help`\n";
    return 1;
  }
  if (target != Target::CPU)
    return fail("--target=cuda and --target=hls are not implemented yet; only the CPU "
                "back end exists");

  // All dialects and their external models (bufferization, LLVM conversion and
  // translation interfaces) that the pipelines need.
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mfc::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  // ONNX models are imported; MLIR files (at the import or tern level) are parsed.
  bool isMLIR = llvm::StringRef(inputFilename).ends_with(".mlir");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      isMLIR ? mlir::parseSourceFile<mlir::ModuleOp>(inputFilename, &context)
             : mfc::importOnnxFile(context, inputFilename);
  if (!module)
    return 1;
  if (emitStage == Stage::Import && !report)
    return writeText([&](llvm::raw_ostream &os) { module->print(os); }) ? 0 : 1;

  // Ternary rewrites. Remarks name the layers the report lists as not converted.
  std::vector<mfc::Contraction> contractions;
  if (report)
    contractions = mfc::collectContractions(*module);
  llvm::StringMap<std::string> notConverted;
  {
    mlir::ScopedDiagnosticHandler remarkHandler(&context, [&](mlir::Diagnostic &diag) {
      if (diag.getSeverity() != mlir::DiagnosticSeverity::Remark)
        return mlir::failure(); // errors go to the default handler
      std::string message = diag.str();
      llvm::StringRef reason(message);
      if (reason.consume_front("not rewritten to tern.matmul: "))
        notConverted[mfc::locationName(diag.getLocation())] = reason.str();
      if (remarks)
        llvm::errs() << mfc::locationName(diag.getLocation()) << ": remark: " << message << "\n";
      return mlir::success();
    });
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    mfc::buildTernPipeline(pm, /*remarks=*/true);
    if (failed(pm.run(*module)))
      return 1;
  }
  if (report) {
    mfc::printTernaryReport(*module, contractions, notConverted, llvm::outs());
    return 0;
  }
  if (emitStage == Stage::Tern)
    return writeText([&](llvm::raw_ostream &os) { module->print(os); }) ? 0 : 1;

  // CPU: lower to the LLVM dialect, then LLVM IR, object code, shared library.
  const std::string entry = entryName;
  mlir::FailureOr<std::string> signature = mfc::prepareEntry(*module, entry);
  if (failed(signature))
    return 1;
  {
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    mfc::buildCpuLoweringPipeline(pm);
    if (failed(pm.run(*module)))
      return 1;
  }
  if (emitStage == Stage::Lowered)
    return writeText([&](llvm::raw_ostream &os) { module->print(os); }) ? 0 : 1;

  std::string error;
  if (optLevel > 3)
    return fail("-O" + llvm::Twine(optLevel) + " is not an optimization level (0 to 3)");
  auto machine = mfc::createTargetMachine(mtriple, mcpu, optLevel, error);
  if (failed(machine))
    return fail(error);
  // A shared library gets its weights through an object of their own (see
  // externalizeWeights); the text and object stages keep them inline.
  llvm::SmallString<128> workDir;
  std::string weightsObject;
  if (emitStage == Stage::Library) {
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("mfc", workDir))
      return fail("cannot create a temporary directory: " + ec.message());
    mlir::FailureOr<std::string> object =
        mfc::externalizeWeights(*module, workDir, /*thresholdBytes=*/64 * 1024, error);
    if (failed(object)) {
      llvm::sys::fs::remove_directories(workDir);
      return fail(error);
    }
    weightsObject = *object;
  }
  llvm::scope_exit removeWorkDir([&] {
    if (!workDir.empty())
      llvm::sys::fs::remove_directories(workDir);
  });
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mfc::translateToLLVMIR(*module, llvmContext, entry, *signature, **machine, optLevel);
  if (!llvmModule)
    return 1;
  if (emitStage == Stage::LLVM)
    return writeText([&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); }) ? 0 : 1;

  std::string outputPath = outputPathFor(emitStage);
  if (emitStage == Stage::Object)
    return failed(mfc::emitObjectFile(*llvmModule, **machine, outputPath, error)) ? fail(error) : 0;
  llvm::SmallString<128> codeObject(workDir);
  llvm::sys::path::append(codeObject, "model.o");
  std::string codePath = codeObject.str().str();
  if (failed(mfc::emitObjectFile(*llvmModule, **machine, codePath, error)) ||
      failed(mfc::linkSharedLibrary({codePath, weightsObject}, outputPath,
                                    kernelLibraryPath(argv[0]), error)))
    return fail(error);
  // model.so comes with model.h: its signature and the tensor indices for the C API.
  llvm::SmallString<256> headerPath(outputPath);
  llvm::sys::path::replace_extension(headerPath, ".h");
  if (failed(mfc::writeModelHeader(headerPath, *signature,
                                   llvm::sys::path::stem(outputPath), error)))
    return fail(error);
  return 0;
}
