//===- fuzz-import-onnx.cpp - libFuzzer target: the ONNX importer ---------===//
//
// Each input is an ONNX model imported with importOnnxFile: binary protobuf, or
// ONNX text when MFC_FUZZ_MODEL_NAME ends in .onnxtxt (fuzz-import-onnx-text).
//
//===----------------------------------------------------------------------===//

#include "InputFile.h"

#include "mfc/Import/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = mfc::fuzz::writeInputFile(data, size, MFC_FUZZ_MODEL_NAME);
  mlir::DialectRegistry registry;
  mfc::registerImportDialects(registry);
  // A context per input: uniqued types and attributes would otherwise accumulate
  // over the whole run.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  // Rejecting a malformed model is the expected outcome, not a finding.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  (void)mfc::importOnnxFile(context, path);
  return 0;
}
