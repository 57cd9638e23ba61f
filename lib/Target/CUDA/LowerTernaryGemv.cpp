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

/// Writes output `row` of token row `token` (the exact int32 `sum`).
using StoreFn = function_ref<void(ImplicitLocOpBuilder &, Value token, Value row, Value sum)>;

/// The integer and memory ops both kernel builders emit.
class KernelOps {
protected:
  explicit KernelOps(ImplicitLocOpBuilder &b) : b(b) {}

  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value i32(int64_t value) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), static_cast<int32_t>(value));
  }

  /// `bytes` / 4 i32 words from one aligned load of `bytes` bytes at `indices`.
  SmallVector<Value> loadWords(Value buffer, ValueRange indices, int64_t bytes) {
    auto loaded = vector::LoadOp::create(b, VectorType::get({bytes}, b.getI8Type()), buffer,
                                         indices, /*nontemporal=*/false, llvm::Align(bytes));
    Value words =
        vector::BitCastOp::create(b, VectorType::get({bytes / 4}, b.getI32Type()), loaded);
    SmallVector<Value> result;
    for (int64_t e = 0; e < bytes / 4; ++e)
      result.push_back(vector::ExtractOp::create(b, words, e));
    return result;
  }
  SmallVector<Value> load128(Value buffer, ValueRange indices) {
    return loadWords(buffer, indices, 16);
  }

  Value prmt(Value lo, Value hi, int64_t selector) {
    return prmt(lo, hi, i32(selector));
  }
  Value prmt(Value lo, Value hi, Value selector) {
    return NVVM::PermuteOp::create(b, b.getI32Type(), lo, hi, selector,
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

  Value below(Value value, Value bound) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, value, bound);
  }

  /// Stores `sum` at (token, row) where `condition` holds.
  void storeIf(Value condition, Value token, Value row, Value sum, StoreFn store) {
    auto write = scf::IfOp::create(b, condition);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(write.thenBlock());
    store(b, token, row, sum);
  }

  ImplicitLocOpBuilder &b;
};

/// Builds the kernel `shape` describes.
class GemvKernelBuilder : KernelOps {
public:
  GemvKernelBuilder(ImplicitLocOpBuilder &b, const GemvShape &shape)
      : KernelOps(b), shape(shape) {}

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
      storeIf(arith::AndIOp::create(b, isFirstLane, below(row, index(shape.n))), token, row,
              sum, store);
    }
  }

private:
  Value masked(Value word, uint32_t mask) {
    return asBytes(arith::AndIOp::create(b, word, i32(static_cast<int32_t>(mask))));
  }

  /// acc + sum of the products of signed `activations` and unsigned `codes` bytes.
  Value dot4(Value activations, Value codes, Value acc) {
    return NVVM::DotAccumulate4WayOp::create(b, b.getI32Type(), activations,
                                             NVVM::DotAccumulateType::SIGNED, codes,
                                             NVVM::DotAccumulateType::UNSIGNED, acc);
  }

  const GemvShape &shape;
};

/// Token rows and outputs one warp of the tensor-core kernel computes: 4 tiles of 16
/// tokens by 2 tiles of 8 outputs (one mma.m16n8k32 each per 32 inputs).
constexpr int64_t kMmaTokenTiles = 4, kMmaOutputTiles = 2;
/// Inputs per step of the tensor-core kernel: each lane of a quad reads 32 activations
/// (two 128-bit loads) and their 8 bytes of codes.
constexpr int64_t kMmaInputsPerStep = 128;

/// The tensor-core kernel for products of many token rows (prefill, batched decode):
/// codes decoded to int8 in registers, int8 x int8 -> int32 mma.sync.m16n8k32 (exact).
///
/// A quad of lanes (tig = lane % 4, g = lane / 4) covers 128 inputs per step: lane tig
/// reads inputs [32 tig, 32 tig + 32) of the step. As an mma sums over all 32 inputs of
/// a k-block, which inputs form k-block j only has to agree between A and B: the j-th
/// one takes inputs 32 tig + 8 j + [0, 8) of every lane, i.e. A registers 2j and 2j+1
/// of the lane's 32 activations and B bytes 2j and 2j+1 of its 8 bytes of codes (weight
/// i of a code byte at bits 2i, as the `rows` order packs them). A byte of codes becomes
/// four int8 weights by one prmt: the codes, spread to nibbles, select bytes of the
/// table {0, +1, -2, -1} (code = (+1 bit) - 2 (sign bit)).
class MmaKernelBuilder : KernelOps {
public:
  MmaKernelBuilder(ImplicitLocOpBuilder &b, int64_t n, int64_t k, int64_t warps)
      : KernelOps(b), n(n), k(k), warps(warps) {}

  static int64_t tokensPerBlock() { return 16 * kMmaTokenTiles; }
  static int64_t outputsPerBlock(int64_t warps) { return 8 * kMmaOutputTiles * warps; }

  /// The body of `launch`: output tile = block x, token tile = block y.
  void build(gpu::LaunchOp launch, Value x, Value codes, Value tokens, StoreFn store) {
    Value thread = launch.getThreadIds().x;
    Value warp = arith::DivUIOp::create(b, thread, index(32));
    Value lane = arith::RemUIOp::create(b, thread, index(32));
    Value g = arith::DivUIOp::create(b, lane, index(4));
    Value tig = arith::RemUIOp::create(b, lane, index(4));
    Value firstOutput = arith::AddIOp::create(
        b, arith::MulIOp::create(b, launch.getBlockIds().x, index(outputsPerBlock(warps))),
        arith::MulIOp::create(b, warp, index(8 * kMmaOutputTiles)));
    Value firstToken = arith::MulIOp::create(b, launch.getBlockIds().y, index(tokensPerBlock()));
    Value lastToken = arith::SubIOp::create(b, tokens, index(1));
    // Rows past the ends read the last one (valid memory) and are not stored.
    SmallVector<Value> codeRows, tokenRows;
    for (int64_t nt = 0; nt < kMmaOutputTiles; ++nt)
      codeRows.push_back(arith::MinUIOp::create(
          b, arith::AddIOp::create(b, firstOutput, arith::AddIOp::create(b, g, index(8 * nt))),
          index(n - 1)));
    for (int64_t r = 0; r < 2 * kMmaTokenTiles; ++r)
      tokenRows.push_back(arith::MinUIOp::create(
          b, arith::AddIOp::create(b, firstToken, arith::AddIOp::create(b, g, index(8 * r))),
          lastToken));

    SmallVector<Value> zeros(4 * kMmaTokenTiles * kMmaOutputTiles, i32(0));
    auto loop = scf::ForOp::create(b, index(0), index(k / kMmaInputsPerStep), index(1), zeros);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value step = loop.getInductionVar();
      SmallVector<Value> acc(loop.getRegionIterArgs());
      Value xOffset = arith::AddIOp::create(
          b, arith::MulIOp::create(b, step, index(kMmaInputsPerStep)),
          arith::MulIOp::create(b, tig, index(32)));
      Value codeOffset = arith::AddIOp::create(
          b, arith::MulIOp::create(b, step, index(kMmaInputsPerStep / 4)),
          arith::MulIOp::create(b, tig, index(8)));
      // weights[nt][2j + h]: the B register of k-block j, half h, of output tile nt.
      SmallVector<SmallVector<Value>> weights;
      for (int64_t nt = 0; nt < kMmaOutputTiles; ++nt) {
        SmallVector<Value> words = loadWords(codes, {codeRows[nt], codeOffset}, 8);
        SmallVector<Value> decoded;
        for (int64_t j = 0; j < 4; ++j)
          llvm::append_range(decoded, decodePair(words[j / 2], j % 2));
        weights.push_back(decoded);
      }
      for (int64_t mt = 0; mt < kMmaTokenTiles; ++mt) {
        SmallVector<Value> upper = activations(x, tokenRows[2 * mt], xOffset);
        SmallVector<Value> lower = activations(x, tokenRows[2 * mt + 1], xOffset);
        for (int64_t j = 0; j < 4; ++j)
          for (int64_t nt = 0; nt < kMmaOutputTiles; ++nt) {
            MutableArrayRef<Value> c =
                MutableArrayRef<Value>(acc).slice(4 * (mt * kMmaOutputTiles + nt), 4);
            mma({upper[2 * j], lower[2 * j], upper[2 * j + 1], lower[2 * j + 1]},
                {weights[nt][2 * j], weights[nt][2 * j + 1]}, c);
          }
      }
      scf::YieldOp::create(b, acc);
    }

    // Accumulator i of a tile: token g (+8 for i >= 2), output 2 tig + i % 2.
    Value firstColumn = arith::AddIOp::create(b, firstOutput, arith::MulIOp::create(b, tig, index(2)));
    for (int64_t mt = 0; mt < kMmaTokenTiles; ++mt)
      for (int64_t nt = 0; nt < kMmaOutputTiles; ++nt)
        for (int64_t i = 0; i < 4; ++i) {
          Value token = arith::AddIOp::create(
              b, firstToken, arith::AddIOp::create(b, g, index(16 * mt + 8 * (i / 2))));
          Value row = arith::AddIOp::create(b, firstColumn, index(8 * nt + i % 2));
          storeIf(arith::AndIOp::create(b, below(token, tokens), below(row, index(n))), token,
                  row, loop.getResult(4 * (mt * kMmaOutputTiles + nt) + i), store);
        }
  }

private:
  /// The 32 activations of token row `row` this lane reads at `offset`, as 8 words.
  SmallVector<Value> activations(Value x, Value row, Value offset) {
    SmallVector<Value> words = load128(x, {row, offset});
    llvm::append_range(words, load128(x, {row, arith::AddIOp::create(b, offset, index(16))}));
    return words;
  }

  /// Bytes 2 half and 2 half + 1 of `word` (8 codes) as two words of 4 int8 weights.
  std::array<Value, 2> decodePair(Value word, int64_t half) {
    Value codes = arith::AndIOp::create(
        b, arith::ShRUIOp::create(b, word, i32(16 * half)), i32(0xFFFF));
    // Code i (bits 2i) to nibble i: the prmt selector of byte i.
    for (auto [shift, mask] : {std::pair<int64_t, uint32_t>{8, 0x00FF00FF},
                               {4, 0x0F0F0F0F}, {2, 0x33333333}})
      codes = arith::AndIOp::create(
          b, arith::OrIOp::create(b, codes, arith::ShLIOp::create(b, codes, i32(shift))),
          i32(static_cast<int32_t>(mask)));
    Value table = i32(static_cast<int32_t>(0xFFFE0100u));
    return {prmt(table, i32(0), codes),
            prmt(table, i32(0), arith::ShRUIOp::create(b, codes, i32(16)))};
  }

  /// c += A x B for one m16n8k32 tile (int8 operands, exact int32 sums).
  void mma(ArrayRef<Value> a, ArrayRef<Value> bWeights, MutableArrayRef<Value> c) {
    Type i32Type = b.getI32Type();
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(4, i32Type));
    auto op = NVVM::MmaOp::create(
        b, resultType, a, bWeights, c, ArrayRef<int64_t>{16, 8, 32}, std::nullopt,
        NVVM::MMAIntOverflow::wrapped,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8, NVVM::MMATypes::s8},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
    for (int64_t i = 0; i < 4; ++i)
      c[i] = LLVM::ExtractValueOp::create(b, op.getResult(), i);
  }

  int64_t n, k, warps;
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
    if (rows < 1 || warps < 1 || warps > 32 || mmaMinTokens < 0) {
      getOperation().emitError(
          "mfc-cuda-lower-ternary-gemv: rows must be >= 1, warps 1..32, mma-min-tokens >= 0");
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
    auto inputType = cast<MemRefType>(op.getInput().getType());
    int64_t n = cast<MemRefType>(op.getWeights().getType()).getDimSize(0);
    int64_t k = inputType.getShape().back();
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value x = asMatrix(b, loc, op.getInput());
    linalg::GenericOp epilogue = fusableEpilogue(op);
    Value y = epilogue ? Value() : asMatrix(b, loc, op.getInit());
    Value tokens = memref::DimOp::create(b, loc, x, 0);
    auto store = [&](ImplicitLocOpBuilder &nb, Value token, Value row, Value sum) {
      if (epilogue)
        storeThroughEpilogue(nb, epilogue, op.getInit(), token, row, sum);
      else
        memref::StoreOp::create(nb, sum, y, ValueRange{token, row});
    };
    auto constant = [&](OpBuilder &ob, int64_t value) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, value);
    };
    auto buildGemv = [&](OpBuilder &ob) {
      GemvShape shape = chooseShape(n, k, rows, warps);
      Value one = constant(ob, 1);
      auto launch = gpu::LaunchOp::create(ob, loc, tokens, constant(ob, shape.blocksForOutputs()),
                                          one, constant(ob, shape.threads()), one, one);
      mfc::cuda::nameKernel(launch, "ternary_gemv");
      ImplicitLocOpBuilder body =
          ImplicitLocOpBuilder::atBlockBegin(loc, &launch.getBody().front());
      GemvKernelBuilder(body, shape).build(launch, x, op.getWeights(), store);
      gpu::TerminatorOp::create(body);
    };
    auto buildMma = [&](OpBuilder &ob) {
      Value one = constant(ob, 1);
      Value tokenTiles = arith::CeilDivUIOp::create(
          ob, loc, tokens, constant(ob, MmaKernelBuilder::tokensPerBlock()));
      auto launch = gpu::LaunchOp::create(
          ob, loc, constant(ob, llvm::divideCeil(n, MmaKernelBuilder::outputsPerBlock(warps))), tokenTiles, one,
          constant(ob, 32 * warps), one, one);
      mfc::cuda::nameKernel(launch, "ternary_mma");
      ImplicitLocOpBuilder body =
          ImplicitLocOpBuilder::atBlockBegin(loc, &launch.getBody().front());
      MmaKernelBuilder(body, n, k, warps).build(launch, x, op.getWeights(), tokens, store);
      gpu::TerminatorOp::create(body);
    };
    std::optional<int64_t> staticTokens = 1;
    for (int64_t size : inputType.getShape().drop_back())
      staticTokens = ShapedType::isDynamic(size) || !staticTokens
                         ? std::nullopt
                         : std::optional<int64_t>(*staticTokens * size);
    if (mmaMinTokens == 0 || k % kMmaInputsPerStep != 0 ||
        (staticTokens && *staticTokens < mmaMinTokens)) {
      buildGemv(b);
    } else if (staticTokens) {
      buildMma(b);
    } else {
      // Decided per call: the token count is known at run time only.
      Value many = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, tokens,
                                         constant(b, mmaMinTokens));
      auto choice = scf::IfOp::create(b, loc, many, /*withElseRegion=*/true);
      OpBuilder thenBuilder = choice.getThenBodyBuilder();
      buildMma(thenBuilder);
      OpBuilder elseBuilder = choice.getElseBodyBuilder();
      buildGemv(elseBuilder);
    }
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
