//===- ReductionKernels.cpp - linalg reductions as block reductions -------===//
//
// A linalg.generic that reduces one dim => a gpu.launch with a block per output whose
// threads share the reduction (gpu.all_reduce); see the pass description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "KernelBuilding.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDAREDUCTIONKERNELS
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
/// The gpu.all_reduce kind of the arith op `combiner`, if it has one.
std::optional<gpu::AllReduceOperation> allReduceKind(Operation *combiner) {
  using Kind = gpu::AllReduceOperation;
  return llvm::TypeSwitch<Operation *, std::optional<Kind>>(combiner)
      .Case<arith::AddFOp, arith::AddIOp>([](auto) { return Kind::ADD; })
      .Case<arith::MulFOp, arith::MulIOp>([](auto) { return Kind::MUL; })
      .Case<arith::MaximumFOp>([](auto) { return Kind::MAXIMUMF; })
      .Case<arith::MinimumFOp>([](auto) { return Kind::MINIMUMF; })
      .Case<arith::MaxNumFOp>([](auto) { return Kind::MAXNUMF; })
      .Case<arith::MinNumFOp>([](auto) { return Kind::MINNUMF; })
      .Case<arith::MaxSIOp>([](auto) { return Kind::MAXSI; })
      .Case<arith::MinSIOp>([](auto) { return Kind::MINSI; })
      .Case<arith::MaxUIOp>([](auto) { return Kind::MAXUI; })
      .Case<arith::MinUIOp>([](auto) { return Kind::MINUI; })
      .Default([](Operation *) { return std::nullopt; });
}

/// What a reduction generic combines: the op that folds a value into the output, and
/// the reduced loop dim.
struct Reduction {
  Operation *combiner;
  gpu::AllReduceOperation kind;
  unsigned reducedDim;
};

std::optional<Reduction> matchReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 ||
      !llvm::all_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>))
    return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArguments().back();
  Value yielded = body.getTerminator()->getOperand(0);
  Operation *combiner = yielded.getDefiningOp();
  if (!combiner || combiner->getNumOperands() != 2 || !acc.hasOneUse() ||
      *acc.getUsers().begin() != combiner)
    return std::nullopt;
  std::optional<gpu::AllReduceOperation> kind = allReduceKind(combiner);
  if (!kind || !arith::getNeutralElement(combiner))
    return std::nullopt;
  SmallVector<unsigned> reduced;
  op.getReductionDims(reduced);
  return Reduction{combiner, *kind, reduced.front()};
}

/// The linalg.fill that sets the whole `buffer` just before `op` (only ops without
/// memory effects in between), whose value the reduction can start from instead.
linalg::FillOp precedingFill(Operation *op, Value buffer) {
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    auto fill = dyn_cast<linalg::FillOp>(prev);
    if (fill && fill.hasPureBufferSemantics() && fill.getOutputs()[0] == buffer)
      return fill;
    if (!isMemoryEffectFree(prev))
      return nullptr;
  }
  return nullptr;
}

struct CUDAReductionKernels
    : public mfc::cuda::impl::CUDAReductionKernelsBase<CUDAReductionKernels> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(mfc::cuda::checkThreadsPerBlock(getOperation(), "mfc-cuda-reduction-kernels", threads)))
      return signalPassFailure();
    SmallVector<std::pair<linalg::GenericOp, Reduction>> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Reduction> reduction = matchReduction(op))
        reductions.emplace_back(op, *reduction);
    });
    for (auto &[op, reduction] : reductions)
      lower(op, reduction);
  }

private:
  void lower(linalg::GenericOp op, const Reduction &reduction) {
    // A fill of the output right before is folded in: one kernel fewer.
    Value out = op.getDpsInitOperand(0)->get();
    linalg::FillOp fill =
        llvm::is_contained(op.getDpsInputs(), out) ? nullptr : precedingFill(op, out);
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> sizes = llvm::map_to_vector(
        cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc), [&](Range range) {
          return getValueOrCreateConstantIndexOp(b, loc, range.size);
        });
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value blocks = one;
    for (auto [dim, size] : llvm::enumerate(sizes))
      if (dim != reduction.reducedDim)
        blocks = arith::MulIOp::create(b, loc, blocks, size);
    Value blockSize = arith::ConstantIndexOp::create(b, loc, threads);
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, blockSize, one, one);
    mfc::cuda::nameKernel(launch, "block_reduction");
    b.setInsertionPointToStart(&launch.getBody().front());

    // The block's output: its linear id split over the parallel dims, innermost last.
    SmallVector<Value> indices(sizes.size()), parallelSizes(sizes);
    parallelSizes[reduction.reducedDim] = nullptr;
    mfc::cuda::delinearize(b, loc, launch.getBlockIds().x, parallelSizes, indices);
    Block &body = op.getRegion().front();
    BlockArgument acc = body.getArguments().back();
    Value neutral = arith::ConstantOp::create(b, loc, *arith::getNeutralElement(reduction.combiner));
    // Each thread folds a strided share of the reduced dim.
    Value total = mfc::cuda::blockReduce(
        b, loc, launch.getThreadIds().x, sizes[reduction.reducedDim], blockSize, neutral,
        reduction.kind, [&](OpBuilder &lb, Value r, Value partial) {
          indices[reduction.reducedDim] = r;
          IRMapping mapping;
          for (OpOperand *input : op.getDpsInputOperands())
            mapping.map(body.getArgument(input->getOperandNumber()),
                        load(lb, loc, op, input, indices));
          for (Operation &bodyOp : body.without_terminator()) {
            if (&bodyOp == reduction.combiner)
              continue;
            if (auto index = dyn_cast<linalg::IndexOp>(bodyOp)) {
              mapping.map(index.getResult(), indices[index.getDim()]);
              continue;
            }
            lb.clone(bodyOp, mapping);
          }
          mapping.map(acc, partial);
          return lb.clone(*reduction.combiner, mapping)->getResult(0);
        });
    // The output's map does not read the reduced dim; the loop's index is out of scope.
    indices[reduction.reducedDim] = arith::ConstantIndexOp::create(b, loc, 0);
    Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          launch.getThreadIds().x,
                                          arith::ConstantIndexOp::create(b, loc, 0));
    auto store = scf::IfOp::create(b, loc, isFirst);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(store.thenBlock());
      OpOperand *init = op.getDpsInitOperand(0);
      IRMapping mapping;
      // The value combined into the output: the combiner's operand that is not `acc`.
      Value folded = reduction.combiner->getOperand(0) == acc
                         ? reduction.combiner->getOperand(1)
                         : reduction.combiner->getOperand(0);
      mapping.map(folded, total);
      mapping.map(acc, fill ? fill.getInputs()[0] : load(b, loc, op, init, indices));
      Value result = b.clone(*reduction.combiner, mapping)->getResult(0);
      memref::StoreOp::create(b, loc, result, init->get(),
                              indicesOf(b, loc, op, init, indices));
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    if (fill)
      fill.erase();
  }

  /// The operand's indices at loop point `indices`, through its indexing map.
  static SmallVector<Value> indicesOf(OpBuilder &b, Location loc, linalg::GenericOp op,
                                      OpOperand *operand, ArrayRef<Value> indices) {
    return mfc::cuda::applyMap(b, loc, op.getMatchingIndexingMap(operand), indices);
  }

  static Value load(OpBuilder &b, Location loc, linalg::GenericOp op, OpOperand *operand,
                    ArrayRef<Value> indices) {
    return memref::LoadOp::create(b, loc, operand->get(),
                                  indicesOf(b, loc, op, operand, indices));
  }
};
} // namespace
