//===- HostABI.cpp - what a host-loaded model library exports -------------===//
#include "mfc/Target/HostABI.h"
#include "mfc/Target/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Support/raw_ostream.h"

namespace mfc {
#define GEN_PASS_DEF_PREPAREENTRY
#include "Target/Passes.h.inc"
} // namespace mfc

using namespace mlir;

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

FailureOr<std::string> mfc::describeSignature(func::FuncOp func) {
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
  return signature;
}

FailureOr<StringRef> mfc::recordedSignature(ModuleOp module) {
  auto signature = module->getAttrOfType<StringAttr>(kSignatureAttrName);
  if (!signature)
    return module.emitError() << "no model signature (`" << kSignatureAttrName
                              << "`): run mfc-prepare-entry on the tensor-level module";
  return signature.getValue();
}

namespace {
struct PrepareEntry : public mfc::impl::PrepareEntryBase<PrepareEntry> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func) {
      module.emitError() << "no entry function @" << entry;
      return signalPassFailure();
    }
    FailureOr<std::string> signature = mfc::describeSignature(func);
    if (failed(signature))
      return signalPassFailure();
    module->setAttr(mfc::kSignatureAttrName, StringAttr::get(&getContext(), *signature));
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
  }
};
} // namespace

LogicalResult mfc::addModelABI(llvm::Module &module, StringRef entry, StringRef signature,
                               std::string &error) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Function *ciface = module.getFunction(("_mlir_ciface_" + entry).str());
  if (!ciface) {
    error = "no C interface of the entry function @" + entry.str() +
            " (mfc-prepare-entry marks it)";
    return failure();
  }
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
  return success();
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

void mfc::printModelHeader(raw_ostream &os, StringRef signature, StringRef modelName) {
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
}
