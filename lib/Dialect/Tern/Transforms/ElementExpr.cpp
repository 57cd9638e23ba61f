//===- ElementExpr.cpp - element-wise chains seen as scalar trees ---------===//
#include "ElementExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mfc::tern;

namespace {
/// Trees of op chains stay small; a bigger one means the walk escaped into the model.
constexpr size_t kMaxNodes = 512;

/// A generic computing each output element from input elements alone.
bool isElementwise(linalg::GenericOp g) {
  return g && g.getNumDpsInits() == 1 && g->getNumResults() == 1 &&
         g.getNumParallelLoops() == g.getNumLoops() &&
         g.getIndexingMapsArray().back().isIdentity() &&
         g.getMatchingBlockArgument(g.getDpsInitOperand(0)).use_empty() &&
         g.getRegion().front().getOps<linalg::IndexOp>().empty();
}

/// The value of every element of a constant splat tensor.
std::optional<double> splatValue(Value tensor) {
  DenseElementsAttr attr;
  if (!matchPattern(tensor, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (isa<FloatType>(attr.getElementType()))
    return attr.getSplatValue<APFloat>().convertToDouble();
  if (attr.getElementType().isInteger())
    return double(attr.getSplatValue<APInt>().getSExtValue());
  return std::nullopt;
}
} // namespace

std::optional<double> mfc::tern::scalarConstant(Value v) {
  FloatAttr::ValueType f(0.0);
  if (matchPattern(v, m_ConstantFloat(&f)))
    return f.convertToDouble();
  APInt i;
  if (matchPattern(v, m_ConstantInt(&i)))
    return double(i.getSExtValue());
  return std::nullopt;
}

bool ElementExpr::isElementOf(Value value) const {
  return tensor == value && map && map.isIdentity();
}

/// The values of a constant tensor as doubles, row-major.
std::optional<std::vector<double>> mfc::tern::constantValues(Value value) {
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  Type elem = attr.getElementType();
  std::vector<double> values;
  values.reserve(attr.getNumElements());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    auto read = [&](auto typed) -> bool {
      auto data = typed.tryGetAsArrayRef();
      if (!data)
        return false;
      values.assign(data->begin(), data->end());
      return true;
    };
    bool ok = elem.isF32()        ? read(cast<DenseF32ResourceElementsAttr>(resource))
              : elem.isF64()      ? read(cast<DenseF64ResourceElementsAttr>(resource))
              : elem.isInteger(8) ? read(cast<DenseI8ResourceElementsAttr>(resource))
              : elem.isInteger(32) ? read(cast<DenseI32ResourceElementsAttr>(resource))
              : elem.isInteger(64) ? read(cast<DenseI64ResourceElementsAttr>(resource))
                                   : false;
    if (!ok)
      return std::nullopt;
    return values;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  if (isa<FloatType>(elem)) {
    for (const APFloat &v : dense.getValues<APFloat>())
      values.push_back(v.convertToDouble());
  } else {
    for (const APInt &v : dense.getValues<APInt>())
      values.push_back(double(v.getSExtValue()));
  }
  return values;
}

ElementExpr *ElementExprBuilder::make(ElementExpr::Kind kind) {
  nodes.emplace_back();
  nodes.back().kind = kind;
  return &nodes.back();
}

const ElementExpr *ElementExprBuilder::build(Value tensor) {
  auto type = dyn_cast<RankedTensorType>(tensor.getType());
  if (!type)
    return nullptr;
  return tensorElement(tensor, AffineMap::getMultiDimIdentityMap(type.getRank(),
                                                                 tensor.getContext()));
}

const ElementExpr *ElementExprBuilder::buildReduction(Value tensor) {
  auto g = tensor.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 || g.getNumLoops() == 0 ||
      g.getNumReductionLoops() != 1 ||
      g.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return nullptr;
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  unsigned rank = g.getNumLoops();
  MLIRContext *ctx = g.getContext();
  SmallVector<AffineExpr> kept;
  for (unsigned d = 0; d + 1 < rank; ++d)
    kept.push_back(getAffineDimExpr(d, ctx));
  SmallVector<AffineExpr> keptDims(kept);
  kept.push_back(getAffineConstantExpr(0, ctx));
  AffineMap out = maps[1];
  if (!maps[0].isIdentity() || (out != AffineMap::get(rank, 0, kept, ctx) &&
                                out != AffineMap::get(rank, 0, keptDims, ctx)))
    return nullptr;
  reduction = g;
  accumulator = make(ElementExpr::Kind::Accumulator);
  Value yielded = g.getRegion().front().getTerminator()->getOperand(0);
  const ElementExpr *body = scalar(yielded, g, AffineMap::getMultiDimIdentityMap(rank, ctx));
  reduction = nullptr;
  return body;
}

ElementExpr *ElementExprBuilder::tensorElement(Value tensor, AffineMap map) {
  if (nodes.size() > kMaxNodes)
    return nullptr;
  auto key = std::make_pair(tensor, map);
  if (ElementExpr *known = memo.lookup(key))
    return known;
  ElementExpr *result;
  if (std::optional<double> splat = splatValue(tensor)) {
    ElementExpr *c = make(ElementExpr::Kind::Constant);
    c->constant = *splat;
    c->tensor = tensor;
    c->map = map;
    result = c;
  } else if (auto g = tensor.getDefiningOp<linalg::GenericOp>(); isElementwise(g)) {
    Value yielded = g.getRegion().front().getTerminator()->getOperand(0);
    // The generic's loops are its output's indices, so the root reaches them through `map`.
    ElementExpr *element = scalar(yielded, g, map);
    if (!element)
      return nullptr;
    if (element->kind == ElementExpr::Kind::Op && !element->tensor) {
      element->tensor = tensor;
      element->map = map;
    }
    result = element;
  } else {
    ElementExpr *leaf = make(ElementExpr::Kind::Leaf);
    leaf->tensor = tensor;
    leaf->map = map;
    result = leaf;
  }
  memo[key] = result;
  return result;
}

ElementExpr *ElementExprBuilder::scalar(Value v, linalg::GenericOp generic,
                                        AffineMap loops) {
  if (nodes.size() > kMaxNodes)
    return nullptr;
  Block &body = generic.getRegion().front();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != &body)
      return nullptr;
    if (arg.getArgNumber() >= generic.getNumDpsInputs())
      return generic == reduction ? accumulator : nullptr;
    OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
    return tensorElement(input->get(), generic.getMatchingIndexingMap(input).compose(loops));
  }
  Operation *op = v.getDefiningOp();
  if (op->getBlock() != &body) {
    std::optional<double> c = scalarConstant(v);
    if (!c)
      return nullptr;
    ElementExpr *node = make(ElementExpr::Kind::Constant);
    node->constant = *c;
    return node;
  }
  auto key = std::make_pair(v, loops);
  if (ElementExpr *known = memo.lookup(key))
    return known;
  if (op->getNumResults() != 1 || op->getNumRegions() != 0)
    return nullptr;
  if (std::optional<double> c = scalarConstant(v)) {
    ElementExpr *node = make(ElementExpr::Kind::Constant);
    node->constant = *c;
    return memo[key] = node;
  }
  ElementExpr *node = make(ElementExpr::Kind::Op);
  node->op = op;
  for (Value operand : op->getOperands()) {
    ElementExpr *e = scalar(operand, generic, loops);
    if (!e)
      return nullptr;
    node->operands.push_back(e);
  }
  return memo[key] = node;
}

const ElementExpr *mfc::tern::matchSigmoid(const ElementExpr *e) {
  // 1 / (1 + exp(-x))
  if (!e || !e->is<arith::DivFOp>() || !e->operand(0)->isConstant(1.0))
    return nullptr;
  const ElementExpr *x = nullptr;
  bool matched = matchCommutative<arith::AddFOp>(
      e->operand(1), [](const ElementExpr *one) { return one->isConstant(1.0); },
      [&](const ElementExpr *exp) {
        if (!exp->is<math::ExpOp>() || !exp->operand(0)->is<arith::NegFOp>())
          return false;
        x = exp->operand(0)->operand(0);
        return true;
      });
  return matched ? x : nullptr;
}

llvm::DenseSet<Operation *> mfc::tern::chainOf(Value root, ArrayRef<Value> boundaries) {
  llvm::DenseSet<Value> stop(boundaries.begin(), boundaries.end());
  llvm::DenseSet<Operation *> chain;
  SmallVector<Operation *> worklist;
  if (Operation *op = root.getDefiningOp<linalg::GenericOp>())
    worklist.push_back(op);
  while (!worklist.empty()) {
    auto g = cast<linalg::GenericOp>(worklist.pop_back_val());
    if (!chain.insert(g).second)
      continue;
    for (Value input : g.getDpsInputs())
      if (!stop.contains(input))
        if (auto producer = input.getDefiningOp<linalg::GenericOp>())
          worklist.push_back(producer);
  }
  return chain;
}

std::optional<Value> mfc::tern::escapingValue(const llvm::DenseSet<Operation *> &chain,
                                              Value root, ArrayRef<Value> replaced) {
  for (Operation *op : chain)
    for (Value result : op->getResults()) {
      if (result == root || llvm::is_contained(replaced, result))
        continue;
      for (Operation *user : result.getUsers())
        if (!chain.contains(user))
          return result;
    }
  return std::nullopt;
}

bool mfc::tern::isPerTokenMap(AffineMap map, unsigned rank) {
  if (map.getNumDims() != rank || map.getNumResults() != rank)
    return false;
  for (unsigned d = 0; d + 1 < rank; ++d)
    if (map.getResult(d) != getAffineDimExpr(d, map.getContext()))
      return false;
  return map.getResult(rank - 1) == getAffineConstantExpr(0, map.getContext());
}

bool mfc::tern::isPerFeatureMap(AffineMap map, unsigned rank) {
  return map.getNumDims() == rank && map.getNumResults() == 1 &&
         map.getResult(0) == getAffineDimExpr(rank - 1, map.getContext());
}

std::optional<double> mfc::tern::reductionInit(Value tensor) {
  auto g = tensor.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInits() != 1)
    return std::nullopt;
  auto fill = g.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  if (!fill)
    return std::nullopt;
  return scalarConstant(fill.getInputs()[0]);
}

void mfc::tern::eraseDeadProducers(RewriterBase &rewriter, ArrayRef<Value> values) {
  SmallVector<Operation *> worklist;
  for (Value v : values)
    if (Operation *op = v.getDefiningOp())
      worklist.push_back(op);
  // An op goes back on the list each time one of its users is erased.
  llvm::DenseSet<Operation *> erased;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (erased.contains(op) || !isOpTriviallyDead(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.push_back(producer);
    erased.insert(op);
    rewriter.eraseOp(op);
  }
}
