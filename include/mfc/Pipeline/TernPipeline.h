//===- TernPipeline.h - the target-independent tern pipelines ---*- C++ -*-===//
//
// Import-level IR (linalg/tensor/scf, as the ONNX importer writes it) to tern IR, the
// same for every target: clean-up, normalization, ternary detection and the fusions.
// Targets start from its output; those without their own lowering of the fused ops add
// the expansion pipeline first.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_PIPELINE_TERNPIPELINE_H
#define MFC_PIPELINE_TERNPIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mfc {

struct TernPipelineOptions : public mlir::PassPipelineOptions<TernPipelineOptions> {
  Option<bool> remarks{*this, "remarks",
                       llvm::cl::desc("Explain at each op why a rewrite did or did not apply"),
                       llvm::cl::init(false)};
  Option<bool> expand{*this, "expand",
                      llvm::cl::desc("Expand the fused ops other than tern.matmul into "
                                     "linalg/scf at the end (buildTernExpansionPipeline)"),
                      llvm::cl::init(false)};
};

/// Import-level IR to tern IR.
void buildTernPipeline(mlir::OpPassManager &pm, const TernPipelineOptions &options);

/// tern.bitlinear, tern.quantize_act, tern.mlgru_scan and tern.glu to linalg/scf (and
/// tern.matmul), for targets that lower only tern.matmul themselves.
void buildTernExpansionPipeline(mlir::OpPassManager &pm);

/// Registers `mfc-tern-pipeline` (with TernPipelineOptions).
void registerTernPipelines();

} // namespace mfc

#endif // MFC_PIPELINE_TERNPIPELINE_H
