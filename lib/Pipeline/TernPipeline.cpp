//===- TernPipeline.cpp - the target-independent tern pipelines -----------===//
#include "mfc/Pipeline/TernPipeline.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mfc::buildTernPipeline(OpPassManager &pm, const TernPipelineOptions &options) {
  bool remarks = options.remarks;
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(createCanonicalizerPass());
  func.addPass(createCSEPass());
  func.addPass(tern::createTernNormalizeElementwise());
  func.addPass(tern::createTernNormalizeLayout());
  func.addPass(tern::createTernFuseQuantizeAct({remarks}));
  func.addPass(tern::createTernDetectTernaryMatmul({remarks}));
  // Sizes read from the rewritten chains (tensor.dim, the tern.matmul destinations') come
  // from their inputs instead, so that those values have no other users.
  func.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  func.addPass(createCanonicalizerPass());
  func.addPass(tern::createTernFuseBitLinear({remarks}));
  func.addPass(tern::createTernFuseMLGRU({remarks}));
  func.addPass(tern::createTernFuseGLU({remarks}));
  // Sizes read from the fused-away chains (tensor.dim) come from their inputs instead, so
  // canonicalize can drop those chains.
  func.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  func.addPass(createCanonicalizerPass());
  if (options.expand)
    buildTernExpansionPipeline(pm);
}

void mfc::buildTernExpansionPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(tern::createTernExpandOps());
  pm.addNestedPass<func::FuncOp>(mfc::createSplitReductions({kReductionPartials}));
}

void mfc::buildTernBufferizationPipeline(OpPassManager &pm, unsigned bufferAlignment) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferAlignment = bufferAlignment;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
}

void mfc::buildBufferDeallocationPasses(OpPassManager &pm) {
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

void mfc::registerTernPipelines() {
  PassPipelineRegistration<TernPipelineOptions>(
      "mfc-tern-pipeline", "Import-level IR to tern IR (what `mfc --emit=tern` runs)",
      buildTernPipeline);
}
