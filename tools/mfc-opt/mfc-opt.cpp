//===- mfc-opt.cpp - mfc's mlir-opt ---------------------------------------===//
//
// All upstream dialects, passes and extensions plus the tern dialect and mfc's
// passes and pipelines, for lit tests and bug reports.
//
//===----------------------------------------------------------------------===//
#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Target/CPU.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mfc::tern::registerTernPasses();
  mfc::registerMFCConversionPasses();
  mfc::registerPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mfc::tern::TernDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "mfc optimizer driver\n", registry));
}
