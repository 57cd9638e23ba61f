//===- LowerTernaryGemv.cpp - int8 tern.matmul as a dp4a GEMV kernel ------===//
//
// tern.matmul (int8 activations, packed codes in rows) => gpu.launch_func of a kernel
// built here for its N and K; see the pass description for the arithmetic.
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Target/CUDA/Passes.h"

#include "KernelBuilding.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDALOWERTERNARYGEMV
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
/// Codes one lane reads per step: 16 bytes, one 128-bit load.
constexpr int64_t kCodesPerStep = 64;
/// Blocks a grid should have at least to spread over a large GPU's multiprocessors.
constexpr int64_t kBlocksToFillGPU = 256;
/// Above this K an accumulator could overflow int32 (each packed word adds < 2^16).
constexpr int64_t kMaxK = int64_t(1) << 19;

/// How one GEMV kernel splits its work.
struct GemvShape {
  int64_t n, k;
  int64_t lanes; // lanes that share one output's sum over K
  int64_t rows;  // outputs per lane group
  int64_t warps; // per block

  int64_t steps() const { return k / kCodesPerStep; }
  int64_t threads() const { return 32 * warps; }
  int64_t rowsPerBlock() const { return threads() / lanes * rows; }
  int64_t blocksForOutputs() const { return llvm::divideCeil(n, rowsPerBlock()); }
};

GemvShape chooseShape(int64_t n, int64_t k, int64_t maxRows, int64_t warps) {
  GemvShape shape{n, k, 1, maxRows, warps};
  while (shape.lanes * 2 <= std::min<int64_t>(32, shape.steps()))
    shape.lanes *= 2;
  // Fewer outputs per group while that leaves the GPU idle.
  while (shape.rows > 1 && shape.blocksForOutputs() < kBlocksToFillGPU)
    shape.rows /= 2;
  return shape;
}

/// Builds the kernel `shape` describes.
class GemvKernelBuilder {
public:
  GemvKernelBuilder(ImplicitLocOpBuilder &b, const GemvShape &shape) : b(b), shape(shape) {}

  /// Writes output `row` of token row `token` (the exact int32 `sum`).
  using StoreFn = function_ref<void(ImplicitLocOpBuilder &, Value token, Value row, Value sum)>;

  /// The body of `launch`: token row = block x, output tile = block y.
  void build(gpu::LaunchOp launch, Value x, Value codes, StoreFn store) {
    Value token = launch.getBlockIds().x;
    Value tile = launch.getBlockIds().y;
    Value thread = launch.getThreadIds().x;
    Value group = arith::DivUIOp::create(b, thread, index(shape.lanes));
    Value lane = arith::RemUIOp::create(b, thread, index(shape.lanes));
    Value groupsPerBlock = index(shape.threads() / shape.lanes);
    Value firstRow = arith::MulIOp::create(
        b, arith::AddIOp::create(b, arith::MulIOp::create(b, tile, groupsPerBlock), group),
        index(shape.rows));
    // Rows past N read the last row (valid memory) and are not stored.
    SmallVector<Value> rows;
    for (int64_t r = 0; r < shape.rows; ++r)
      rows.push_back(arith::MinUIOp::create(
          b, arith::AddIOp::create(b, firstRow, index(r)), index(shape.n - 1)));

    // Per row: four accumulators of +1 bits, then four of sign bits (one per j).
    SmallVector<Value> zeros(8 * shape.rows, i32(0));
    auto loop = scf::ForOp::create(b, lane, index(shape.steps()), index(shape.lanes), zeros);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value step = loop.getInductionVar();
      SmallVector<Value> acc(loop.getRegionIterArgs());
      Value xOffset = arith::MulIOp::create(b, step, index(kCodesPerStep));
      Value codeOffset = arith::MulIOp::create(b, step, index(kCodesPerStep / 4));
      SmallVector<Value> xWords;
      for (int64_t i = 0; i < 4; ++i)
        llvm::append_range(
            xWords, load128(x, {token, arith::AddIOp::create(b, xOffset, index(16 * i))}));
      // pairs[q][j]: the activations that codes of word q masked at 2j pair with.
      SmallVector<std::array<Value, 4>> pairs;
      for (int64_t q = 0; q < 4; ++q)
        pairs.push_back(transposeBytes(ArrayRef<Value>(xWords).slice(4 * q, 4)));
      for (int64_t r = 0; r < shape.rows; ++r) {
        SmallVector<Value> words = load128(codes, {rows[r], codeOffset});
        for (int64_t q = 0; q < 4; ++q)
          for (int64_t j = 0; j < 4; ++j) {
            Value &plus = acc[8 * r + j];
            Value &sign = acc[8 * r + 4 + j];
            plus = dot4(pairs[q][j], masked(words[q], 0x01010101u << (2 * j)), plus);
            sign = dot4(pairs[q][j], masked(words[q], 0x02020202u << (2 * j)), sign);
          }
      }
      scf::YieldOp::create(b, acc);
    }

    Value isFirstLane = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
    for (int64_t r = 0; r < shape.rows; ++r) {
      // code = (+1 bit) - 2 (sign bit); masked bytes at 2j carry 4^j: exact shifts.
      Value sum = i32(0);
      for (int64_t j = 0; j < 4; ++j) {
        Value diff = arith::SubIOp::create(b, loop.getResult(8 * r + j),
                                           loop.getResult(8 * r + 4 + j));
        sum = arith::AddIOp::create(b, sum, arith::ShRSIOp::create(b, diff, i32(2 * j)));
      }
      for (int64_t offset = shape.lanes / 2; offset >= 1; offset /= 2)
        sum = arith::AddIOp::create(
            b, sum,
            gpu::ShuffleOp::create(b, sum, i32(offset), i32(32), gpu::ShuffleMode::XOR)
                .getShuffleResult());
      Value row = arith::AddIOp::create(b, firstRow, index(r));
      Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, index(shape.n));
      auto write = scf::IfOp::create(b, arith::AndIOp::create(b, isFirstLane, inRange));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(write.thenBlock());
      store(b, token, row, sum);
    }
  }

private:
  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value i32(int64_t value) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), static_cast<int32_t>(value));
  }

  /// Four i32 words from one aligned 128-bit load of 16 bytes at `indices`.
  SmallVector<Value> load128(Value buffer, ValueRange indices) {
    auto bytes = vector::LoadOp::create(b, VectorType::get({16}, b.getI8Type()), buffer,
                                        indices, /*nontemporal=*/false, llvm::Align(16));
    Value words =
        vector::BitCastOp::create(b, VectorType::get({4}, b.getI32Type()), bytes);
    SmallVector<Value> result;
    for (int64_t e = 0; e < 4; ++e)
      result.push_back(vector::ExtractOp::create(b, words, e));
    return result;
  }

  Value prmt(Value lo, Value hi, int64_t selector) {
    return NVVM::PermuteOp::create(b, b.getI32Type(), lo, hi, i32(selector),
                                   NVVM::PermuteMode::DEFAULT);
  }

  /// Word j of the result holds byte j of words[0..3]: a 4x4 byte transpose.
  std::array<Value, 4> transposeBytes(ArrayRef<Value> words) {
    Value low01 = prmt(words[0], words[1], 0x5140), low23 = prmt(words[2], words[3], 0x5140);
    Value high01 = prmt(words[0], words[1], 0x7362), high23 = prmt(words[2], words[3], 0x7362);
    return {asBytes(prmt(low01, low23, 0x5410)), asBytes(prmt(low01, low23, 0x7632)),
            asBytes(prmt(high01, high23, 0x5410)), asBytes(prmt(high01, high23, 0x7632))};
  }

  Value asBytes(Value word) {
    return LLVM::BitcastOp::create(b, VectorType::get({4}, b.getI8Type()), word);
  }

  Value masked(Value word, uint32_t mask) {
    return asBytes(arith::AndIOp::create(b, word, i32(static_cast<int32_t>(mask))));
  }

  /// acc + sum of the products of signed `activations` and unsigned `codes` bytes.
  Value dot4(Value activations, Value codes, Value acc) {
    return NVVM::DotAccumulate4WayOp::create(b, b.getI32Type(), activations,
                                             NVVM::DotAccumulateType::SIGNED, codes,
                                             NVVM::DotAccumulateType::UNSIGNED, acc);
  }

  ImplicitLocOpBuilder &b;
  const GemvShape &shape;
};

bool isContiguous(Value value) {
  auto type = cast<MemRefType>(value.getType());
  return type.getLayout().isIdentity();
}

/// `buffer` as a 2-D memref<?x{last}>: leading dims merged (or a unit one added).
Value asMatrix(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t rank = type.getRank();
  Value matrix = buffer;
  if (rank == 1) {
    matrix = memref::ExpandShapeOp::create(
        b, loc, ArrayRef<int64_t>{1, type.getDimSize(0)}, buffer,
        ArrayRef<ReassociationIndices>{{0, 1}});
  } else if (rank > 2) {
    ReassociationIndices leading = llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
    matrix = memref::CollapseShapeOp::create(
        b, loc, buffer, ArrayRef<ReassociationIndices>{leading, {rank - 1}});
  }
  auto dynamicRows = MemRefType::get({ShapedType::kDynamic, type.getShape().back()},
                                     type.getElementType());
  return memref::CastOp::create(b, loc, dynamicRows, matrix);
}

/// The element-wise linalg.generic right after `op` (only ops without memory effects in
/// between) that reads the product's buffer, at the indices it writes its own output, as
/// the buffer's only use besides deallocation: its body can run on each sum in the kernel
/// instead of the sums going through memory.
linalg::GenericOp fusableEpilogue(mfc::tern::MatmulOp op) {
  Value acc = op.getInit();
  Operation *next = op->getNextNode();
  while (next && isMemoryEffectFree(next))
    next = next->getNextNode();
  auto epilogue = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!epilogue || !epilogue.hasPureBufferSemantics() || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumLoops() != epilogue.getNumParallelLoops())
    return nullptr;
  OpOperand *out = epilogue.getDpsInitOperand(0);
  if (cast<MemRefType>(out->get().getType()).getShape() !=
          cast<MemRefType>(acc.getType()).getShape() ||
      !epilogue.getMatchingIndexingMap(out).isIdentity() ||
      !epilogue.getMatchingBlockArgument(out).use_empty() || out->get() == acc ||
      out->get() == op.getInput())
    return nullptr;
  int accReads = 0;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    if (!isa<MemRefType>(input->get().getType()))
      return nullptr;
    if (input->get() != acc)
      continue;
    if (!epilogue.getMatchingIndexingMap(input).isIdentity())
      return nullptr;
    ++accReads;
  }
  if (accReads != 1 || llvm::any_of(acc.getUsers(), [&](Operation *user) {
        return user != op && user != epilogue && !isa<memref::DeallocOp>(user);
      }))
    return nullptr;
  return epilogue;
}

/// Stores `epilogue`'s value at output (token, row) of the product, the token's leading
/// indices taken from the output's shape, the product's value being `sum`.
void storeThroughEpilogue(ImplicitLocOpBuilder &b, linalg::GenericOp epilogue, Value acc,
                          Value token, Value row, Value sum) {
  Value out = epilogue.getDpsInitOperand(0)->get();
  int64_t rank = cast<MemRefType>(out.getType()).getRank();
  SmallVector<Value> indices(rank), leadSizes;
  indices.back() = row;
  for (int64_t d = 0; d + 1 < rank; ++d)
    leadSizes.push_back(memref::DimOp::create(b, out, d));
  mfc::cuda::delinearize(b, b.getLoc(), token, leadSizes, indices);
  Block &body = epilogue.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    Value value = input->get() == acc
                      ? sum
                      : memref::LoadOp::create(
                            b, input->get(),
                            mfc::cuda::applyMap(b, b.getLoc(),
                                                epilogue.getMatchingIndexingMap(input), indices))
                            .getResult();
    mapping.map(body.getArgument(input->getOperandNumber()), value);
  }
  for (Operation &op : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op))
      mapping.map(index.getResult(), indices[index.getDim()]);
    else
      b.clone(op, mapping);
  }
  memref::StoreOp::create(b, mapping.lookupOrDefault(body.getTerminator()->getOperand(0)), out,
                          indices);
}

struct CUDALowerTernaryGemv
    : public mfc::cuda::impl::CUDALowerTernaryGemvBase<CUDALowerTernaryGemv> {
  using Base::Base;

  void runOnOperation() override {
    if (rows < 1 || warps < 1 || warps > 32) {
      getOperation().emitError("mfc-cuda-lower-ternary-gemv: rows must be >= 1 and warps 1..32");
      return signalPassFailure();
    }
    SmallVector<mfc::tern::MatmulOp> products;
    getOperation().walk([&](mfc::tern::MatmulOp op) {
      if (isSupported(op))
        products.push_back(op);
    });
    for (mfc::tern::MatmulOp op : products)
      lower(op);
  }

private:
  static bool isSupported(mfc::tern::MatmulOp op) {
    auto input = dyn_cast<MemRefType>(op.getInput().getType());
    auto codes = dyn_cast<MemRefType>(op.getWeights().getType());
    auto init = dyn_cast<MemRefType>(op.getInit().getType());
    if (!input || !codes || !init || !input.getElementType().isInteger(8) ||
        !init.getElementType().isInteger(32) ||
        op.getLayout().getOrder() != mfc::tern::PackedOrder::rows)
      return false;
    int64_t k = input.getShape().back();
    return !ShapedType::isDynamic(k) && k % kCodesPerStep == 0 && k <= kMaxK &&
           codes.hasStaticShape() && isContiguous(op.getInput()) &&
           isContiguous(op.getWeights()) && isContiguous(op.getInit());
  }

  void lower(mfc::tern::MatmulOp op) {
    auto codesType = cast<MemRefType>(op.getWeights().getType());
    GemvShape shape = chooseShape(codesType.getDimSize(0),
                                  cast<MemRefType>(op.getInput().getType()).getShape().back(),
                                  rows, warps);
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value x = asMatrix(b, loc, op.getInput());
    linalg::GenericOp epilogue = fusableEpilogue(op);
    Value y = epilogue ? Value() : asMatrix(b, loc, op.getInit());
    Value tokens = memref::DimOp::create(b, loc, x, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto launch = gpu::LaunchOp::create(
        b, loc, tokens, arith::ConstantIndexOp::create(b, loc, shape.blocksForOutputs()), one,
        arith::ConstantIndexOp::create(b, loc, shape.threads()), one, one);
    ImplicitLocOpBuilder body = ImplicitLocOpBuilder::atBlockBegin(loc, &launch.getBody().front());
    GemvKernelBuilder(body, shape)
        .build(launch, x, op.getWeights(),
               [&](ImplicitLocOpBuilder &nb, Value token, Value row, Value sum) {
                 if (epilogue)
                   storeThroughEpilogue(nb, epilogue, op.getInit(), token, row, sum);
                 else
                   memref::StoreOp::create(nb, sum, y, ValueRange{token, row});
               });
    gpu::TerminatorOp::create(body);
    Value acc = op.getInit();
    op.erase();
    if (!epilogue)
      return;
    epilogue.erase();
    // The product's buffer is now only allocated and freed.
    if (auto alloc = acc.getDefiningOp<memref::AllocOp>();
        alloc && llvm::all_of(acc.getUsers(), llvm::IsaPred<memref::DeallocOp>)) {
      for (Operation *user : llvm::make_early_inc_range(acc.getUsers()))
        user->erase();
      alloc.erase();
    }
  }
};
} // namespace
