//===- Transforms.h - tern fusions as functions on the rewriter -*- C++ -*-===//
//
// Each fusion is a function `FailureOr<Op> fuseX(RewriterBase &, root)` that either
// rewrites the chain rooted at `root` into the tern op and returns it, or returns failure
// (after `notifyMatchFailure` with the reason where the chain looked like a candidate).
// All IR edits go through the rewriter. The passes (Passes.td) drive them in program
// order; the populate functions wrap them as patterns for other drivers.
//
//===----------------------------------------------------------------------===//
#ifndef MFC_DIALECT_TERN_TRANSFORMS_H
#define MFC_DIALECT_TERN_TRANSFORMS_H

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mfc::tern {

/// clamp(round(x * 127 / max(absmax(x), eps)), -128, 127) at `root`
///   => sitofp(tern.quantize_act(x)); the scale's users read the op's scale.
mlir::FailureOr<QuantizeActOp> fuseQuantizeAct(mlir::RewriterBase &rewriter,
                                               mlir::linalg::GenericOp root);

/// sitofp(tern.matmul(q, W)) * a / s at `root`, (q, s) = `quant` of an RMSNorm
///   => tern.bitlinear.
mlir::FailureOr<BitLinearOp> fuseBitLinear(mlir::RewriterBase &rewriter, QuantizeActOp quant,
                                           mlir::linalg::GenericOp root);

/// silu(a) * b at `root`, a and b ternary projections => tern.glu(a, b).
mlir::FailureOr<GLUOp> fuseGLU(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp root);

/// The MLGRU recurrence (or the bare h = f * h + c) as an imported Scan loop, an
/// imported Loop, one step at `root` (decode or unrolled), or two consecutive scans
/// => tern.mlgru_scan.
mlir::FailureOr<MLGRUScanOp> fuseMLGRUScanLoop(mlir::RewriterBase &rewriter, mlir::scf::ForOp loop);
mlir::FailureOr<MLGRUScanOp> fuseMLGRUWhileLoop(mlir::RewriterBase &rewriter,
                                                mlir::scf::WhileOp loop);
mlir::FailureOr<MLGRUScanOp> fuseMLGRUStep(mlir::RewriterBase &rewriter,
                                           mlir::linalg::GenericOp root);
mlir::FailureOr<MLGRUScanOp> mergeMLGRUScans(mlir::RewriterBase &rewriter, MLGRUScanOp next);

/// The gates of one step of tern.mlgru_scan on scalars (or element values): (f, c) with
/// h_t = f * h_{t-1} + c, from candidate_t, forget_t and, where not null, the lower bound.
std::pair<mlir::Value, mlir::Value> buildMLGRUGates(mlir::OpBuilder &b, mlir::Location loc,
                                                    mlir::Value candidate, mlir::Value forget,
                                                    mlir::Value lowerBound, bool ungated);

/// One step of tern.mlgru_scan on scalars (or element values in a linalg body):
/// h_t from candidate_t, forget_t, h_{t-1} and, where not null, the lower bound.
mlir::Value buildMLGRUStep(mlir::OpBuilder &b, mlir::Location loc, mlir::Value candidate,
                           mlir::Value forget, mlir::Value state, mlir::Value lowerBound,
                           bool ungated);

/// The fusions above as patterns, one set per pass, for other drivers.
void populateFuseQuantizeActPatterns(mlir::RewritePatternSet &patterns);
void populateFuseBitLinearPatterns(mlir::RewritePatternSet &patterns);
void populateFuseGLUPatterns(mlir::RewritePatternSet &patterns);
void populateFuseMLGRUPatterns(mlir::RewritePatternSet &patterns);

} // namespace mfc::tern

#endif // MFC_DIALECT_TERN_TRANSFORMS_H
