//===- Repack.cpp - packed ternary weights into a target's layout ---------===//
//
// tern.matmul / tern.bitlinear reading weights in one #tern.packed order
//   => the same op reading the byte matrix transposed, in the other order
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNREPACK
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {
/// The bytes of a constant i8 matrix, row-major, if it has them in memory.
std::optional<ArrayRef<char>> constantBytes(Value weights) {
  Attribute value;
  if (!matchPattern(weights, m_Constant(&value)))
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense || dense.isSplat())
    return std::nullopt;
  return dense.getRawData();
}

/// A resource name for the repacked copy of `weights`.
std::string repackedName(Value weights, PackedOrder order) {
  std::string base = "ternary_weights";
  Attribute value;
  if (matchPattern(weights, m_Constant(&value)))
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
      base = resource.getRawHandle().getKey().str();
  return base + "." + stringifyPackedOrder(order).str();
}

struct Repack : public mfc::tern::impl::TernRepackBase<Repack> {
  using Base::Base;

  void runOnOperation() override {
    // One repacked value per weights value, however many ops read it.
    llvm::DenseMap<Value, Value> repacked;
    getOperation().walk([&](Operation *op) {
      if (auto matmul = dyn_cast<MatmulOp>(op)) {
        if (matmul.hasPureTensorSemantics())
          rewrite(op, matmul.getWeightsMutable(), matmul.getLayout(), repacked);
      } else if (auto bitlinear = dyn_cast<BitLinearOp>(op)) {
        rewrite(op, bitlinear.getWeightsMutable(), bitlinear.getLayout(), repacked);
      }
    });
  }

  void rewrite(Operation *op, OpOperand &weights, PackedAttr layout,
               llvm::DenseMap<Value, Value> &repacked) {
    if (layout.getOrder() == order)
      return;
    Value &result = repacked[weights.get()];
    if (!result)
      result = transposed(weights.get());
    weights.set(result);
    op->setAttr("layout", PackedAttr::get(&getContext(), layout.getBits(), order));
  }

  /// The byte matrix `weights` transposed: a new constant, or a linalg.transpose.
  Value transposed(Value weights) {
    auto type = cast<RankedTensorType>(weights.getType());
    auto newType = RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                         type.getElementType());
    OpBuilder b(&getContext());
    b.setInsertionPointAfterValue(weights);
    Location loc = weights.getLoc();
    std::optional<ArrayRef<char>> bytes = constantBytes(weights);
    if (bytes && type.hasStaticShape()) {
      int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
      auto blob = HeapAsmResourceBlob::allocate(bytes->size(), alignof(int64_t));
      MutableArrayRef<char> out = blob.getMutableData();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          out[c * rows + r] = (*bytes)[r * cols + c];
      auto attr = DenseResourceElementsAttr::get(
          newType, repackedName(weights, order), std::move(blob));
      return arith::ConstantOp::create(b, loc, attr);
    }
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, weights);
    Value init = tensor::EmptyOp::create(b, loc, {sizes[1], sizes[0]}, type.getElementType());
    return linalg::TransposeOp::create(b, loc, weights, init, ArrayRef<int64_t>{1, 0})
        .getResult()
        .front();
  }
};
} // namespace
