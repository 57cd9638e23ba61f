//===- Target.cpp - the target registry -----------------------------------===//
#include "mfc/Target/Target.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/ManagedStatic.h"

#include <vector>

using namespace mfc;

Target::~Target() = default;

llvm::StringRef Target::getDefaultStage() const {
  llvm::ArrayRef<TargetStage> stages = getStages();
  return stages.empty() ? llvm::StringRef() : stages.back().name;
}

static llvm::ManagedStatic<std::vector<std::unique_ptr<Target>>> registry;

void mfc::registerTarget(std::unique_ptr<Target> target) {
  if (lookupTarget(target->getName()))
    llvm::report_fatal_error("target '" + target->getName() + "' registered twice");
  registry->push_back(std::move(target));
}

const Target *mfc::lookupTarget(llvm::StringRef name) {
  for (const std::unique_ptr<Target> &target : *registry)
    if (target->getName() == name)
      return target.get();
  return nullptr;
}

llvm::ArrayRef<std::unique_ptr<Target>> mfc::getRegisteredTargets() { return *registry; }
