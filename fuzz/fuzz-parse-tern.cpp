//===- fuzz-parse-tern.cpp - libFuzzer target: MLIR source with tern ------===//
//
// Each input is parsed as MLIR source with every upstream dialect and the tern
// dialect registered (as in mfc-opt), then verified.
//
//===----------------------------------------------------------------------===//

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"

#include <string>

static mlir::DialectRegistry makeRegistry() {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mfc::tern::TernDialect>();
  return registry;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const mlir::DialectRegistry registry = makeRegistry();
  // A context per input: uniqued types and attributes would otherwise accumulate
  // over the whole run.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  // The lexer reads the terminating NUL to find the end; libFuzzer's buffer has none.
  std::string source(reinterpret_cast<const char *>(data), size);
  mlir::ParserConfig config(&context, /*verifyAfterParse=*/false);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, config);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
