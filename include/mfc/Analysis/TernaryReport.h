//===- TernaryReport.h - what the ternary rewrite did, per layer -*- C++ -*-===//
#ifndef MFC_ANALYSIS_TERNARYREPORT_H
#define MFC_ANALYSIS_TERNARYREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mfc {

/// A matrix product of the imported model (a two-input, one-reduction linalg.generic).
struct Contraction {
  std::string name;       ///< the ONNX node name (from the op's location)
  int64_t weightBytes = 0; ///< bytes of the constant data the weight is computed from
  int64_t macsPerToken = 0;
};

/// The contractions of an imported module, before the tern pipeline.
std::vector<Contraction> collectContractions(mlir::ModuleOp module);

/// Prints, per contraction: MACs per token, the adds/subtracts that replaced them,
/// weight bytes before and after packing, or why it was not converted (`reasons`,
/// keyed by node name, from the detection pass's remarks).
void printTernaryReport(mlir::ModuleOp ternModule, const std::vector<Contraction> &before,
                        const llvm::StringMap<std::string> &reasons, llvm::raw_ostream &os);

/// The node name a location carries, or its printed form.
std::string locationName(mlir::Location loc);

} // namespace mfc

#endif // MFC_ANALYSIS_TERNARYREPORT_H
