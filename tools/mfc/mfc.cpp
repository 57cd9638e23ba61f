//===- mfc.cpp - the mfc compiler driver ----------------------------------===//
//
//   mfc model.onnx -o model.so                 compile for the host CPU (default)
//   mfc model.onnx --emit=import               stop after a stage, print MLIR
//   mfc model.onnx --report                    per-layer ternary conversion report
//
// Import and the tern pipeline are the same for every target; --target picks a back end
// from the registry (mfc/Target/Target.h), which lowers and serializes.
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Analysis/TernaryReport.h"
#include "mfc/Import/OnnxImporter.h"
#include "mfc/Pipeline/TernPipeline.h"
#include "mfc/Target/AllTargets.h"
#include "mfc/Target/HLS/HLSTarget.h"
#include "mfc/Target/HostToolchain.h"
#include "mfc/Target/Target.h"

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
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {
cl::OptionCategory mfcCategory("mfc options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<model.onnx | model.onnxtxt | model.mlir>"),
                                   cl::cat(mfcCategory));
cl::opt<std::string> outputFilename("o", cl::desc("Output file (default: stdout for text "
                                                  "stages, <input>.so / <input>.o for binaries)"),
                                    cl::value_desc("file"), cl::init("-"), cl::cat(mfcCategory));
cl::opt<std::string> emitStage(
    "emit",
    cl::desc("Stop after a stage and write its output: import (MLIR from the ONNX "
             "importer), tern (MLIR after the ternary passes) or one of the target's "
             "stages listed below (default: the target's last)"),
    cl::value_desc("stage"), cl::cat(mfcCategory));
cl::opt<std::string> targetName("target",
                                cl::desc("Code generation target, one of those listed below"),
                                cl::value_desc("name"), cl::init("cpu"), cl::cat(mfcCategory));
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
cl::opt<bool> uncheckedIndices(
    "unchecked-indices",
    cl::desc("Do not check data-dependent indices (Gather, ScatterND) at run time: faster, "
             "but an index out of range reads or writes outside a buffer"),
    cl::cat(mfcCategory));
cl::opt<unsigned> hlsLanes(
    "hls-lanes",
    cl::desc("--target=hls: ternary codes each product consumes per cycle (1, or a multiple "
             "of 4: the byte loop pipelined and unrolled, activations partitioned)"),
    cl::init(1), cl::cat(mfcCategory));
cl::opt<unsigned> hlsChannels(
    "hls-channels",
    cl::desc("--target=hls: memory channels (AXI ports) each packed weight is spread over, "
             "its rows computed that many at a time; needs --hls-lanes of 4 or more"),
    cl::init(1), cl::cat(mfcCategory));
cl::opt<unsigned> hlsElementLanes(
    "hls-element-lanes",
    cl::desc("--target=hls: elements each element-wise loop takes per cycle where its "
             "iterations are independent (norms, quantization, gates, and the strided "
             "partials of last-dim sums and maxima; other reductions keep 1)"),
    cl::init(1), cl::cat(mfcCategory));
enum class Sanitizer { none, address };
cl::opt<Sanitizer> sanitize(
    "sanitize", cl::desc("Instrument the generated code (--target=cpu)"),
    cl::values(clEnumValN(Sanitizer::address, "address",
                          "AddressSanitizer checks on its loads and stores; the library needs "
                          "the ASan runtime in the process that loads it (a host built with "
                          "-fsanitize=address, or LD_PRELOAD)")),
    cl::init(Sanitizer::none), cl::cat(mfcCategory));
cl::opt<std::string> mtriple("mtriple", cl::desc("Target triple (default: the host)"),
                             cl::cat(mfcCategory));
} // namespace

/// Where a stage's result goes: -o, or for binary stages a file next to the input.
static std::string outputPathFor(const mfc::TargetStage &stage) {
  if (outputFilename != "-" || !stage.binary)
    return outputFilename;
  llvm::SmallString<256> path(inputFilename);
  llvm::sys::path::replace_extension(path, stage.extension);
  return path.str().str();
}

/// The targets and their stages, for --help.
static std::string describeTargets() {
  std::string text = "\nTargets (--target) and the stages each adds after import and tern "
                     "(--emit):\n";
  llvm::raw_string_ostream os(text);
  for (const std::unique_ptr<mfc::Target> &target : mfc::getRegisteredTargets()) {
    os << "  " << llvm::left_justify(target->getName(), 8) << target->getDescription();
    if (!target->getUnavailableReason().empty())
      os << " (" << target->getUnavailableReason() << ")";
    os << "\n";
    for (const mfc::TargetStage &stage : target->getStages())
      os << "      " << llvm::left_justify(stage.name, 10) << stage.description
         << (stage.name == target->getDefaultStage() ? " (default)" : "") << "\n";
  }
  return text;
}

/// The stage names --emit accepts for `target`, for diagnostics.
static std::string stageNames(const mfc::Target &target) {
  std::string names = "import, tern";
  for (const mfc::TargetStage &stage : target.getStages())
    names += ", " + stage.name.str();
  return names;
}

static bool writeText(const std::function<void(llvm::raw_ostream &)> &print) {
  std::string errorMessage;
  if (succeeded(mfc::writeTextFile(outputFilename, print, errorMessage)))
    return true;
  llvm::errs() << "mfc: " << errorMessage << "\n";
  return false;
}

/// The directory above the one that holds the mfc executable (bin/).
static std::string installPrefix(const char *argv0) {
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&installPrefix);
  return llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)).str();
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
  mfc::registerAllTargets();
  // cl::extrahelp keeps a pointer to the text, which must outlive parsing.
  static const std::string targetHelpText = describeTargets();
  cl::extrahelp targetHelp(targetHelpText);
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
  const mfc::Target *target = mfc::lookupTarget(targetName);
  if (!target) {
    std::string names;
    for (const std::unique_ptr<mfc::Target> &t : mfc::getRegisteredTargets())
      names += (names.empty() ? "" : ", ") + t->getName().str();
    return fail("unknown --target=" + targetName + " (targets: " + names + ")");
  }
  // The stage to stop after: import and tern for any target, or one of the target's.
  std::string stageName = emitStage.empty() ? target->getDefaultStage().str() : emitStage;
  bool targetIndependent = stageName == "import" || stageName == "tern";
  if (!targetIndependent && !target->getUnavailableReason().empty())
    return fail("--target=" + targetName + ": " + target->getUnavailableReason() +
                " (--emit=import and --emit=tern work for every target)");
  const mfc::TargetStage *stage = nullptr;
  for (const mfc::TargetStage &candidate : target->getStages())
    if (candidate.name == stageName)
      stage = &candidate;
  if (!targetIndependent && !stage)
    return fail("--emit=" + stageName + " is not a stage of --target=" + targetName +
                " (stages: " + stageNames(*target) + ")");
  for (const cl::opt<unsigned> *design : {&hlsLanes, &hlsChannels, &hlsElementLanes})
    if (*design != 1 && target->getName() != "hls")
      return fail("--" + design->ArgStr + " shapes an HLS design: it needs --target=hls, not "
                  "--target=" + targetName);
  if (hlsChannels == 0 || (hlsChannels > 1 && hlsLanes < 4))
    return fail("--hls-channels=" + llvm::Twine(hlsChannels) +
                " needs 1, or --hls-lanes of 4 or more (the channels' rows share the "
                "pipelined byte loop)");
  if (hlsElementLanes == 0)
    return fail("--hls-element-lanes=0: an element-wise loop takes at least 1 element a "
                "cycle");
  if (!mfc::hls::isValidLaneCount(hlsLanes))
    return fail("--hls-lanes=" + llvm::Twine(hlsLanes) +
                " is neither 1 nor a multiple of 4 (the codes of a packed byte)");
  if (sanitize != Sanitizer::none && target->getName() != "cpu")
    return fail("--sanitize=address instruments host code: it needs --target=cpu, not --target=" +
                targetName);

  // All dialects and their external models (bufferization, LLVM conversion and
  // translation interfaces) that the pipelines need.
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mfc::registerImportDialects(registry);
  target->getDependentDialects(registry);
  mlir::MLIRContext context(registry);
  // ONNX models are imported; MLIR files (at the import or tern level) are parsed.
  bool isMLIR = llvm::StringRef(inputFilename).ends_with(".mlir");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      isMLIR ? mlir::parseSourceFile<mlir::ModuleOp>(inputFilename, &context)
             : mfc::importOnnxFile(context, inputFilename);
  if (!module)
    return 1;
  if (stageName == "import" && !report)
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
    mfc::TernPipelineOptions ternOptions;
    ternOptions.remarks = true;
    mfc::buildTernPipeline(pm, ternOptions);
    if (failed(pm.run(*module)))
      return 1;
  }
  mfc::TargetOptions options;
  options.entry = entryName;
  options.triple = mtriple;
  options.cpu = mcpu;
  options.optLevel = optLevel;
  options.installPrefix = installPrefix(argv[0]);
  options.checkIndices = !uncheckedIndices;
  options.sanitizeAddress = sanitize == Sanitizer::address;
  options.hlsLanes = hlsLanes;
  options.hlsChannels = hlsChannels;
  options.hlsElementLanes = hlsElementLanes;
  if (report) {
    mfc::printTernaryReport(*module, contractions, notConverted, llvm::outs());
    return failed(target->printReport(*module, options, llvm::outs())) ? 1 : 0;
  }
  if (stageName == "tern")
    return writeText([&](llvm::raw_ostream &os) { module->print(os); }) ? 0 : 1;

  if (optLevel > 3)
    return fail("-O" + llvm::Twine(optLevel) + " is not an optimization level (0 to 3)");
  {
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    target->buildLoweringPipeline(pm, options);
    if (failed(pm.run(*module)))
      return 1;
  }
  if (stage == &target->getStages().front())
    return writeText([&](llvm::raw_ostream &os) { module->print(os); }) ? 0 : 1;
  return failed(target->serialize(*module, stage->name, outputPathFor(*stage), options)) ? 1 : 0;
}
