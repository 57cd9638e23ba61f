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

/// The strided partial reductions that last-dim sums and maxima run in
/// (mfc-split-reductions): a CPU's vector lanes, an FPGA's unrolled adders. The CPU and
/// HLS targets share it, so that C simulation equals the CPU library.
constexpr unsigned kReductionPartials = 64;

/// tern.bitlinear, tern.quantize_act, tern.mlgru_scan and tern.glu to linalg/scf (and
/// tern.matmul), for targets that lower only tern.matmul themselves; last-dim reductions
/// in kReductionPartials partials.
void buildTernExpansionPipeline(mlir::OpPassManager &pm);

/// One-shot bufferization of tern IR as the targets run it: function boundaries with
/// identity layouts (the host ABI's dense buffers), allocations returned from loops
/// (scan states and outputs) allowed. New buffers are aligned to `bufferAlignment` bytes
/// (0: the allocator's own alignment, with no slack for an alignment to skip).
void buildTernBufferizationPipeline(mlir::OpPassManager &pm, unsigned bufferAlignment = 64);

/// Buffer deallocation, then the bufferization ops it leaves lowered to memref.
void buildBufferDeallocationPasses(mlir::OpPassManager &pm);

/// Registers `mfc-tern-pipeline` (with TernPipelineOptions).
void registerTernPipelines();

} // namespace mfc

#endif // MFC_PIPELINE_TERNPIPELINE_H
