//===- MergeEquivalentFunctions.cpp - one function per distinct body ------===//
#include "mfc/Conversion/Passes.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

namespace mfc {
#define GEN_PASS_DEF_MERGEEQUIVALENTFUNCTIONS
#include "Conversion/Passes.h.inc"
} // namespace mfc

using namespace mlir;

namespace {
constexpr auto kIgnoreLocations = OperationEquivalence::IgnoreLocations;

/// A hash of what equivalence compares: the type, the attributes but the name, and each
/// nested op's name, attributes and types in walk order (values by position only).
llvm::hash_code functionHash(func::FuncOp func) {
  llvm::hash_code hash = llvm::hash_value(func.getFunctionType().getAsOpaquePointer());
  for (NamedAttribute attr : func->getAttrs())
    if (attr.getName() != SymbolTable::getSymbolAttrName())
      hash = llvm::hash_combine(hash, attr.getName(), attr.getValue());
  return llvm::hash_combine(hash, mfc::structuralHash(func.getBody()));
}

bool sameAttributesButName(func::FuncOp lhs, func::FuncOp rhs) {
  auto withoutName = [](func::FuncOp func) {
    NamedAttrList attrs(func->getAttrDictionary());
    attrs.erase(SymbolTable::getSymbolAttrName());
    return attrs.getDictionary(func.getContext());
  };
  return withoutName(lhs) == withoutName(rhs);
}

bool equivalent(func::FuncOp lhs, func::FuncOp rhs) {
  return lhs.getFunctionType() == rhs.getFunctionType() && sameAttributesButName(lhs, rhs) &&
         OperationEquivalence::isRegionEquivalentTo(&lhs.getBody(), &rhs.getBody(),
                                                    kIgnoreLocations);
}

struct MergeEquivalentFunctions
    : public mfc::impl::MergeEquivalentFunctionsBase<MergeEquivalentFunctions> {
  void runOnOperation() override {
    unsigned merged = mfc::mergeEquivalentFunctions(getOperation());
    if (merged == 0)
      markAllAnalysesPreserved();
    numMerged += merged;
  }
};
} // namespace

llvm::hash_code mfc::structuralHash(Region &region) {
  llvm::hash_code hash = llvm::hash_value(region.getBlocks().size());
  region.walk([&](Operation *op) {
    hash = llvm::hash_combine(
        hash, OperationEquivalence::computeHash(op, OperationEquivalence::ignoreHashValue,
                                                OperationEquivalence::ignoreHashValue,
                                                kIgnoreLocations));
  });
  return hash;
}

unsigned mfc::mergeEquivalentFunctions(ModuleOp module) {
  // Candidates with the same hash, in module order: the first of each equivalence class
  // is kept, so the result does not depend on hash order.
  llvm::DenseMap<llvm::hash_code, SmallVector<func::FuncOp>> kept;
  llvm::DenseMap<StringAttr, FlatSymbolRefAttr> replacement;
  SmallVector<func::FuncOp> merged;
  for (func::FuncOp func : module.getOps<func::FuncOp>()) {
    if (!func.isPrivate() || func.isDeclaration())
      continue;
    SmallVector<func::FuncOp> &bucket = kept[functionHash(func)];
    auto it = llvm::find_if(bucket, [&](func::FuncOp other) { return equivalent(other, func); });
    if (it == bucket.end()) {
      bucket.push_back(func);
      continue;
    }
    replacement[func.getSymNameAttr()] = FlatSymbolRefAttr::get(it->getSymNameAttr());
    merged.push_back(func);
  }
  if (merged.empty())
    return 0;
  // One walk renames every use (SymbolTable::replaceAllSymbolUses per function would walk
  // the module once per merged function).
  AttrTypeReplacer renamer;
  renamer.addReplacement([&](FlatSymbolRefAttr ref) -> std::optional<Attribute> {
    auto it = replacement.find(ref.getAttr());
    if (it == replacement.end())
      return std::nullopt;
    return it->second;
  });
  renamer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true, /*replaceLocs=*/false,
                                       /*replaceTypes=*/false);
  for (func::FuncOp func : merged)
    func.erase();
  return merged.size();
}
