//===- CPU.cpp - the CPU back end -----------------------------------------===//
#include "mfc/Target/CPU.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

void mfc::buildTernPipeline(OpPassManager &pm, bool remarks) {
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(createCanonicalizerPass());
  func.addPass(createCSEPass());
  func.addPass(tern::createTernNormalizeElementwise());
  func.addPass(tern::createTernNormalizeLayout());
  func.addPass(tern::createTernFuseQuantizeAct({remarks}));
  func.addPass(tern::createTernDetectTernaryMatmul({remarks}));
  // Folds the tensor.dims of the rewritten chains so that their values have no other users.
  func.addPass(createCanonicalizerPass());
  func.addPass(tern::createTernFuseBitLinear({remarks}));
  func.addPass(tern::createTernFuseMLGRU({remarks}));
  func.addPass(tern::createTernFuseGLU({remarks}));
  // Sizes read from the fused-away chains (tensor.dim) come from their inputs instead, so
  // canonicalize can drop those chains.
  func.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  func.addPass(createCanonicalizerPass());
}

void mfc::buildCpuLoweringPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(tern::createTernExpandOps());
  pm.addPass(tern::createTernLowerMatmul({/*ukernels=*/true}));
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.allowReturnAllocsFromLoops = true; // Scan states and outputs
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createStridedCopyToLoops());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createOutlineLoopNests());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToFuncs()); // math.ipowi (integer Pow) as a loop
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mfc::registerPipelines() {
  PassPipelineRegistration<>("mfc-tern-pipeline",
                             "Import-level IR to tern IR (what `mfc --emit=tern` runs)",
                             [](OpPassManager &pm) { buildTernPipeline(pm, false); });
  PassPipelineRegistration<>("mfc-cpu-pipeline",
                             "Import-level IR to the LLVM dialect (what `mfc --emit=lowered` runs)",
                             [](OpPassManager &pm) {
                               buildTernPipeline(pm, false);
                               buildCpuLoweringPipeline(pm);
                             });
}

/// The ONNX element type code for an MLIR element type (signless ints as signed).
static int64_t onnxElemType(Type type) {
  if (type.isF32()) return 1;
  if (type.isF64()) return 11;
  if (type.isF16()) return 10;
  if (type.isBF16()) return 16;
  if (type.isInteger(1)) return 9;
  if (type.isInteger(8)) return 3;
  if (type.isInteger(16)) return 5;
  if (type.isInteger(32)) return 6;
  if (type.isInteger(64)) return 7;
  return 0;
}

FailureOr<std::string> mfc::prepareEntry(ModuleOp module, StringRef entry) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return module.emitError() << "no entry function @" << entry;
  std::string signature = "mfc-signature 1\n";
  llvm::raw_string_ostream os(signature);
  auto describe = [&](StringRef kind, Type type, DictionaryAttr attrs, unsigned index) {
    auto tensor = cast<RankedTensorType>(type);
    auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : nullptr;
    auto elemType = attrs ? attrs.getAs<IntegerAttr>("onnx.elem_type") : nullptr;
    os << kind << "\t" << (name ? name.getValue().str() : kind.str() + std::to_string(index))
       << "\t" << (elemType ? elemType.getInt() : onnxElemType(tensor.getElementType()))
       << "\t" << tensor.getRank() << "\t";
    llvm::interleave(tensor.getShape(), os,
                     [&](int64_t d) { os << (ShapedType::isDynamic(d) ? -1 : d); }, ",");
    // Optional 6th field: the symbolic names of the dims ("" when unnamed).
    auto names = attrs ? attrs.getAs<ArrayAttr>("onnx.dim_names") : nullptr;
    if (names && int64_t(names.size()) == tensor.getRank()) {
      os << "\t";
      llvm::interleave(names, os, [&](Attribute a) { os << cast<StringAttr>(a).getValue(); },
                       ",");
    }
    os << "\n";
  };
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (!isa<RankedTensorType>(func.getArgumentTypes()[i]))
      return func.emitError("entry arguments must be ranked tensors");
    describe("input", func.getArgumentTypes()[i], func.getArgAttrDict(i), i);
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (!isa<RankedTensorType>(func.getResultTypes()[i]))
      return func.emitError("entry results must be ranked tensors");
    describe("output", func.getResultTypes()[i], func.getResultAttrDict(i), i);
  }
  func->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
  return signature;
}

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

/// Adds `mfc_entry(void **args)` calling `_mlir_ciface_<entry>` with args[i] as its
/// i-th (pointer) parameter, and the `mfc_signature` string.
static void addModelABI(llvm::Module &module, StringRef entry, StringRef signature) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Function *ciface = module.getFunction(("_mlir_ciface_" + entry).str());
  assert(ciface && "entry was not marked for the C interface");
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto *wrapper = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, "mfc_entry", module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptr, wrapper->getArg(0), i);
    args.push_back(b.CreateLoad(ptr, slot));
  }
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
  llvm::Constant *text = llvm::ConstantDataArray::getString(ctx, signature);
  new llvm::GlobalVariable(module, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text, "mfc_signature");
}

std::unique_ptr<llvm::Module> mfc::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &ctx,
                                                     StringRef entry, StringRef signature,
                                                     llvm::TargetMachine &machine,
                                                     unsigned optLevel) {
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
  module.getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, ctx, "mfc_model");
  if (!llvmModule)
    return nullptr;
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());
  addModelABI(*llvmModule, entry, signature);
  if (llvm::Error err = makeOptimizingTransformer(optLevel, 0, &machine)(llvmModule.get())) {
    emitError(module.getLoc()) << "LLVM optimization failed: " << llvm::toString(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

LogicalResult mfc::emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                                  StringRef path, std::string &error) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, out.os(), nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(module);
  out.keep();
  return success();
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

/// The bytes of a constant's value as they lie in memory, if it has a flat layout.
static std::optional<ArrayRef<char>> rawBytes(Attribute value) {
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
  std::error_code ec;
  llvm::raw_fd_ostream asmFile(asmPath, ec);
  if (ec) {
    error = "cannot write '" + asmPath.str().str() + "': " + ec.message();
    return failure();
  }
  // No executable stack; weights in a read-only data section.
  asmFile << "\t.section .note.GNU-stack,\"\",@progbits\n"
          << "\t.section .rodata.mfc_weights,\"a\"\n";
  unsigned count = 0;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    std::optional<ArrayRef<char>> bytes;
    if (!global.getConstant() || !global.getValueAttr() ||
        !(bytes = rawBytes(global.getValueAttr())) || bytes->size() < thresholdBytes)
      continue;
    SmallString<256> binPath(workDir);
    llvm::sys::path::append(binPath, "weight" + std::to_string(count++) + ".bin");
    llvm::raw_fd_ostream bin(binPath, ec);
    if (ec) {
      error = "cannot write '" + binPath.str().str() + "': " + ec.message();
      return failure();
    }
    bin.write(bytes->data(), bytes->size());
    StringRef name = global.getSymName();
    asmFile << "\t.globl " << name << "\n\t.hidden " << name << "\n\t.p2align 6\n"
            << name << ":\n\t.incbin \"" << binPath << "\"\n\t.size " << name << ", "
            << bytes->size() << "\n";
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
  }
  asmFile.close();
  if (failed(runCC({"-c", asmPath, "-o", objectPath}, "assembling the weights", error)))
    return failure();
  return objectPath.str().str();
}

LogicalResult mfc::linkSharedLibrary(ArrayRef<std::string> objectPaths, StringRef libraryPath,
                                     StringRef kernelLibrary, std::string &error) {
  if (!llvm::sys::fs::exists(kernelLibrary)) {
    error = "the micro-kernel library '" + kernelLibrary.str() + "' is missing";
    return failure();
  }
  // -fopenmp: the kernels split rows across threads with libgomp, which comes with cc.
  SmallVector<StringRef> args{"-shared", "-fopenmp", "-o", libraryPath};
  args.append(objectPaths.begin(), objectPaths.end());
  args.append({kernelLibrary, "-lm"});
  return runCC(args, "linking '" + libraryPath.str() + "'", error);
}

/// `name` as a C identifier: other characters become '_', a leading digit gets one.
static std::string cIdentifier(StringRef name) {
  std::string id;
  for (char c : name)
    id += llvm::isAlnum(c) ? c : '_';
  if (id.empty() || llvm::isDigit(id[0]))
    id.insert(id.begin(), '_');
  return id;
}

LogicalResult mfc::writeModelHeader(StringRef headerPath, StringRef signature,
                                    StringRef modelName, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(headerPath, ec);
  if (ec) {
    error = "cannot write '" + headerPath.str() + "': " + ec.message();
    return failure();
  }
  std::string prefix = cIdentifier(modelName), guard = "MFC_MODEL_" + llvm::StringRef(prefix).upper() + "_H";
  os << "/* Generated by mfc: the signature of the model library " << modelName << ".so.\n"
     << " * Load it with mfc_model_load() and run it with mfc_session_run()\n"
     << " * (mfc/Runtime/mfc_runtime.h); tensors are passed in the index order below.\n *\n";
  SmallVector<StringRef> lines;
  signature.split(lines, '\n', -1, /*KeepEmpty=*/false);
  std::string enums;
  unsigned inputs = 0, outputs = 0;
  for (StringRef line : llvm::drop_begin(lines)) {
    SmallVector<StringRef> fields;
    line.split(fields, '\t');
    if (fields.size() < 5) // kind, name, type, rank, dims[, dim names]
      continue;
    bool isInput = fields[0] == "input";
    unsigned &index = isInput ? inputs : outputs;
    os << " * " << (isInput ? "input " : "output") << " " << index << ": " << fields[1]
       << ", ONNX element type " << fields[2] << ", dims [" << fields[4]
       << "] (-1: dynamic)" << (fields.size() > 5 ? ", dim names [" + fields[5].str() + "]" : "")
       << "\n";
    enums += "  " + prefix + "_" + fields[0].str() + "_" + cIdentifier(fields[1]) + " = " +
             std::to_string(index++) + ",\n";
  }
  os << " */\n#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include \"mfc/Runtime/mfc_runtime.h\"\n\nenum {\n" << enums << "  " << prefix
     << "_num_inputs = " << inputs << ",\n  " << prefix << "_num_outputs = " << outputs
     << "\n};\n\n#endif /* " << guard << " */\n";
  return success();
}
