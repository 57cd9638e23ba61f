//===- mfc.cpp - the mfc compiler driver ----------------------------------===//
//
//   mfc model.onnx -o model.so                 compile for the host CPU (default)
//   mfc model.onnx --emit=import               stop after a stage, print MLIR
//   mfc model.onnx --report                    per-layer ternary conversion report
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Import/OnnxImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
enum class Stage { Import, Tern, Lowered, LLVM, Object, Library };
enum class Target { CPU, CUDA, HLS };

cl::OptionCategory mfcCategory("mfc options");

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.onnx | model.onnxtxt>"),
                                   cl::cat(mfcCategory));
cl::opt<std::string> outputFilename("o", cl::desc("Output file (default: stdout for text stages)"),
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
                                  clEnumValN(Target::CUDA, "cuda", "NVIDIA GPU via NVVM/PTX"),
                                  clEnumValN(Target::HLS, "hls", "HLS C++ for FPGAs")),
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
cl::opt<std::string> mtriple("mtriple", cl::desc("Target triple (default: the host)"),
                             cl::cat(mfcCategory));
} // namespace

static llvm::StringRef stageName(Stage stage) {
  for (const auto &value : {std::pair{Stage::Import, "import"}, {Stage::Tern, "tern"},
                            {Stage::Lowered, "lowered"}, {Stage::LLVM, "llvm"},
                            {Stage::Object, "obj"}, {Stage::Library, "lib"}})
    if (value.first == stage)
      return value.second;
  return "?";
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

  mlir::DialectRegistry registry;
  mfc::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module = mfc::importOnnxFile(context, inputFilename);
  if (!module)
    return 1;
  if (emitStage != Stage::Import) {
    llvm::errs() << "mfc: error: --emit=" << stageName(emitStage)
                 << " is not implemented yet; only --emit=import works today\n";
    return 1;
  }
  std::string errorMessage;
  auto output = mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << "mfc: " << errorMessage << "\n";
    return 1;
  }
  module->print(output->os());
  output->keep();
  return 0;
}
