//===- TernaryReport.cpp - what the ternary rewrite did, per layer --------===//
#include "mfc/Analysis/TernaryReport.h"

#include "mfc/Dialect/Tern/Packing.h"
#include "mfc/Import/OnnxImporter.h"
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"

using namespace mlir;

std::string mfc::locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

static int64_t constantBytes(Value value) {
  auto type = cast<ShapedType>(value.getType());
  return type.getNumElements() * std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
}

/// Bytes of the constants `weight` is computed from: itself, or the constant leaves of the
/// linalg ops computing it (a dequantization, an absmean quantization chain).
static int64_t weightSourceBytes(Value weight) {
  int64_t bytes = 0;
  llvm::DenseSet<Value> seen;
  SmallVector<Value> worklist{weight};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    if (!seen.insert(value).second)
      continue;
    if (matchPattern(value, m_Constant())) {
      if (isa<ShapedType>(value.getType()))
        bytes += constantBytes(value);
      continue;
    }
    Operation *producer = value.getDefiningOp();
    if (auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(producer))
      llvm::append_range(worklist, linalgOp.getDpsInputs()); // inits are fills or empties
    else if (isa_and_nonnull<tensor::CastOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                             tensor::ReshapeOp>(producer))
      worklist.push_back(producer->getOperand(0));
    else
      return 0; // computed from something that is not a constant
  }
  return bytes;
}

/// A contraction as the importer emits MatMul, Gemm and MatMulInteger: one reduction over
/// two factors (MatMulInteger adds its zero points as further inputs).
static bool isContraction(linalg::GenericOp op) {
  if (op.getNumReductionLoops() != 1 || op.getNumDpsInputs() < 2 || op.getNumDpsInputs() > 4)
    return false;
  if (linalg::isaContractionOpInterface(op))
    return true;
  return op.getNumDpsInputs() > 2 &&
         !op.getRegion().front().getOps<arith::MulIOp>().empty();
}

std::vector<mfc::Contraction> mfc::collectContractions(ModuleOp module) {
  std::vector<Contraction> contractions;
  module.walk([&](linalg::GenericOp op) {
    if (!op->hasAttr(mfc::kOnnxOpTypeAttr) && !isContraction(op))
      return;
    // The weight is the factor computed from constants; a token (a row of the other
    // factor) takes one multiply-accumulate per weight element.
    Value weight = op.getDpsInputs()[1];
    if (weightSourceBytes(weight) == 0)
      weight = op.getDpsInputs()[0];
    auto weightType = cast<ShapedType>(weight.getType());
    int64_t macs = weightType.hasStaticShape() ? weightType.getNumElements() : 0;
    int64_t bytes = weightSourceBytes(weight);
    contractions.push_back({locationName(op.getLoc()), bytes, macs});
  });
  return contractions;
}

void mfc::printTernaryReport(ModuleOp ternModule, const std::vector<Contraction> &before,
                             const llvm::StringMap<std::string> &reasons, llvm::raw_ostream &os) {
  struct Converted {
    int64_t addsSubs = 0, packedBytes = 0;
  };
  llvm::StringMap<Converted> converted;
  // Additions per token: the nonzero codes of the packed weights.
  auto record = [&](Operation *op, Value weightsValue, int64_t scaleBytes) {
    Converted c;
    auto weights = cast<RankedTensorType>(weightsValue.getType());
    c.packedBytes = weights.getNumElements() + scaleBytes;
    ElementsAttr attr;
    auto resource = matchPattern(weightsValue, m_Constant(&attr))
                        ? dyn_cast<DenseI8ResourceElementsAttr>(attr)
                        : DenseI8ResourceElementsAttr();
    if (resource)
      if (std::optional<ArrayRef<int8_t>> codes = resource.tryGetAsArrayRef())
        c.addsSubs = tern::countNonzeroCodes(
            ArrayRef(reinterpret_cast<const uint8_t *>(codes->data()), codes->size()));
    converted[locationName(op->getLoc())] = c;
  };
  llvm::StringMap<int64_t> fusedOps;
  ternModule.walk([&](Operation *op) {
    if (auto matmul = dyn_cast<tern::MatmulOp>(op)) {
      // The per-tensor or per-column scale the rewrite multiplies by afterwards.
      int64_t scaleBytes = 0;
      for (Operation *user : op->getUsers())
        if (auto generic = dyn_cast<linalg::GenericOp>(user))
          for (Value input : generic.getDpsInputs())
            if (!llvm::is_contained(matmul->getResults(), input) &&
                matchPattern(input, m_Constant()))
              scaleBytes += constantBytes(input);
      record(op, matmul.getWeights(), scaleBytes);
    } else if (auto bitlinear = dyn_cast<tern::BitLinearOp>(op)) {
      record(op, bitlinear.getWeights(), constantBytes(bitlinear.getWeightScale()));
    }
    if (isa<tern::BitLinearOp, tern::QuantizeActOp, tern::MLGRUScanOp, tern::GLUOp>(op))
      ++fusedOps[op->getName().getStringRef()];
  });

  os << llvm::format("%-40s %14s %14s %12s %12s %8s\n", "layer", "MACs/token", "adds+subs",
                     "bytes", "packed", "ratio");
  int64_t totalMacs = 0, totalAdds = 0, totalBefore = 0, totalAfter = 0, count = 0;
  std::vector<std::pair<std::string, std::string>> notConverted;
  for (const Contraction &c : before) {
    auto it = converted.find(c.name);
    if (it == converted.end()) {
      auto reason = reasons.find(c.name);
      notConverted.push_back({c.name, reason == reasons.end() ? "no reason recorded" : reason->second});
      continue;
    }
    const Converted &t = it->second;
    os << llvm::format("%-40s %14lld %14lld %12lld %12lld %7.1fx\n", c.name.c_str(),
                       (long long)c.macsPerToken, (long long)t.addsSubs,
                       (long long)c.weightBytes, (long long)t.packedBytes,
                       t.packedBytes ? double(c.weightBytes) / t.packedBytes : 0.0);
    totalMacs += c.macsPerToken;
    totalAdds += t.addsSubs;
    totalBefore += c.weightBytes;
    totalAfter += t.packedBytes;
    ++count;
  }
  os << llvm::format("%-40s %14lld %14lld %12lld %12lld %7.1fx\n",
                     ("total (" + std::to_string(count) + " converted)").c_str(),
                     (long long)totalMacs, (long long)totalAdds, (long long)totalBefore,
                     (long long)totalAfter, totalAfter ? double(totalBefore) / totalAfter : 0.0);
  os << "multiplies per token in the converted accumulations: 0 (was " << totalMacs
     << "); each output is rescaled once\n";
  os << "fused ops:";
  if (fusedOps.empty())
    os << " none";
  for (StringRef name : {"tern.bitlinear", "tern.quantize_act", "tern.mlgru_scan", "tern.glu"})
    if (int64_t n = fusedOps.lookup(name))
      os << " " << n << " " << name;
  os << "\n";
  if (notConverted.empty()) {
    os << "not converted: none\n";
    return;
  }
  os << "not converted (" << notConverted.size() << "):\n";
  for (auto &[name, reason] : notConverted)
    os << "  " << name << ": " << reason << "\n";
}
