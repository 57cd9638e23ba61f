//===- mfc-opt.cpp - mfc's mlir-opt ---------------------------------------===//
//
// All upstream dialects, passes and extensions plus the tern dialect and mfc's
// passes and pipelines (the target-independent ones and each registered target's),
// for lit tests and bug reports.
//
//===----------------------------------------------------------------------===//
#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Pipeline/TernPipeline.h"
#include "mfc/Target/AllTargets.h"
#include "mfc/Target/Passes.h"
#include "mfc/Target/Target.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

namespace mfc::test {
void registerTestPasses(); // test/lib
} // namespace mfc::test

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mfc::test::registerTestPasses();
  mfc::tern::registerTernPasses();
  mfc::registerMFCConversionPasses();
  mfc::registerMFCTargetPasses();
  mfc::registerTernPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates device modules to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mfc::tern::TernDialect>();
  mfc::registerAllTargets();
  for (const std::unique_ptr<mfc::Target> &target : mfc::getRegisteredTargets()) {
    target->registerPasses();
    target->getDependentDialects(registry);
  }
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "mfc optimizer driver\n", registry));
}
