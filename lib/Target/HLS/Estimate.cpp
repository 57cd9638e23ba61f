//===- Estimate.cpp - cycles, resources and the memory bound of a design --===//
//
// What `mfc --target=hls --report` prints: an estimate from the tern IR and a part's
// published figures, not a synthesis result. The model of the generated design and its
// assumptions are printed with it.
//
//===----------------------------------------------------------------------===//
#include "Estimate.h"

#include "mfc/Analysis/TernaryReport.h"
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/Support/Format.h"

using namespace mlir;

namespace {
/// Published figures of a part (data sheets): off-chip bandwidth and fabric.
struct Part {
  StringRef name, board;
  double bandwidthGBs; // weights' memory: HBM or DDR
  int64_t luts, dsps, bram36, uram;
};

constexpr Part kParts[] = {
    {"u280", "Alveo U280 (XCU280, 8 GB HBM2)", 460, 1304000, 9024, 2016, 960},
    {"u55c", "Alveo U55C (XCU55C, 16 GB HBM2)", 460, 1304000, 9024, 2016, 960},
    {"kv260", "Kria KV260 (K26, 4 GB DDR4-2400 x64)", 19.2, 117120, 1248, 144, 64},
};

/// The generated design: one code per cycle per product (II=1 innermost loops), the
/// products of a token one after the other.
constexpr double kClockMHz = 300;
/// A ternary lane: the 2-bit decode and an int32 add/subtract (LUT-class, no DSP).
constexpr int64_t kLutsPerLane = 40, kFfsPerLane = 35;
/// Vitis HLS fp32 defaults: DSPs per multiplier / adder; exp, div and sqrt per core.
constexpr int64_t kDspMul = 3, kDspAdd = 2, kDspExp = 7, kDspDivSqrt = 0;

struct Product {
  std::string name;
  int64_t k, n;
};
} // namespace

LogicalResult mfc::hls::printEstimate(ModuleOp ternModule, StringRef partName,
                                     raw_ostream &os) {
  const Part *part = nullptr;
  for (const Part &candidate : kParts)
    if (candidate.name == partName)
      part = &candidate;
  if (!part)
    return ternModule.emitError() << "no HLS part '" << partName
                                  << "' to estimate for (-mcpu=u280, u55c or kv260)";
  SmallVector<Product> products;
  ternModule.walk([&](Operation *op) {
    Value input, weights;
    tern::PackedAttr layout;
    if (auto product = dyn_cast<tern::MatmulOp>(op)) {
      input = product.getInput(), weights = product.getWeights(), layout = product.getLayout();
    } else if (auto product = dyn_cast<tern::BitLinearOp>(op)) {
      input = product.getInput(), weights = product.getWeights(), layout = product.getLayout();
    } else {
      return;
    }
    products.push_back({locationName(op->getLoc()),
                        cast<ShapedType>(input.getType()).getShape().back(),
                        layout.getNumOutputs(cast<ShapedType>(weights.getType()))});
  });
  // Float arithmetic of the element-wise stages (norms, gates, quantization), one core
  // per op of each loop body (the loops run one after the other).
  int64_t muls = 0, adds = 0, exps = 0, divs = 0;
  ternModule.walk([&](linalg::GenericOp generic) {
    generic.getBody()->walk([&](Operation *op) {
      if (isa<arith::MulFOp>(op))
        ++muls;
      else if (isa<arith::AddFOp, arith::SubFOp>(op))
        ++adds;
      else if (isa<math::ExpOp>(op))
        ++exps;
      else if (isa<arith::DivFOp, math::SqrtOp, math::RsqrtOp>(op))
        ++divs;
    });
  });
  // The tern ops themselves: a bitlinear's norm (mul, add, sqrt, div) and quantization,
  // an MLGRU step (2 exp, 2 div, 5 mul/add), a GLU (exp, div, 2 mul).
  ternModule.walk([&](Operation *op) {
    if (isa<tern::BitLinearOp>(op))
      muls += 4, adds += 2, divs += 3;
    else if (isa<tern::MLGRUScanOp>(op))
      muls += 4, adds += 4, exps += 2, divs += 2;
    else if (isa<tern::GLUOp>(op))
      muls += 2, adds += 1, exps += 1, divs += 1;
  });

  double weightBytes = 0, codes = 0;
  int64_t widest = 0;
  for (const Product &p : products) {
    weightBytes += double(p.k) * p.n / 4;
    codes += double(p.k) * p.n;
    widest = std::max({widest, p.k, p.n});
  }
  double bandwidth = part->bandwidthGBs * 1e9;
  double clock = kClockMHz * 1e6;
  double boundTokens = weightBytes > 0 ? bandwidth / weightBytes : 0;
  double generatedSeconds = codes / clock;
  // Lanes for 0.7 of the bound: codes per token x 0.7 x bound tokens/s per cycle.
  int64_t lanes = int64_t(std::ceil(codes * 0.7 * boundTokens / clock));
  double onChipBytes = double(part->bram36) * 36 * 1024 / 8 + double(part->uram) * 288 * 1024 / 8;

  os << "\nHLS estimate (a model, not a synthesis result) for " << part->board << ", "
     << llvm::format("%.0f", kClockMHz) << " MHz\n";
  os << "  assumptions: the generated design (EmitC loops, PIPELINE II=1 on innermost loops) "
        "consumes one 2-bit code per cycle per product and runs the products of a token one "
        "after the other; weights stream from off-chip memory once per token; a ternary lane "
        "is a 2-bit decode plus an int32 add/subtract (~"
     << kLutsPerLane << " LUT + " << kFfsPerLane << " FF, no DSP)\n";
  os << llvm::format("  %-40s %7s %7s %10s %12s\n", "product", "K", "N", "weights KiB",
                     "cycles");
  for (const Product &p : products)
    os << llvm::format("  %-40s %7lld %7lld %10.1f %12.0f\n", p.name.c_str(), (long long)p.k,
                       (long long)p.n, double(p.k) * p.n / 4 / 1024, double(p.k) * p.n);
  os << llvm::format("  per token: %.2f MiB of packed weights, %.3g codes\n",
                     weightBytes / (1 << 20), codes);
  os << llvm::format("  generated design (1 lane): %.3g cycles = %.3f ms/token = %.2f tokens/s\n",
                     codes, generatedSeconds * 1e3, generatedSeconds > 0 ? 1 / generatedSeconds : 0);
  os << llvm::format("  memory bound (%.1f GB/s): %.1f tokens/s; the generated design reaches "
                     "%.2g of it\n",
                     part->bandwidthGBs, boundTokens,
                     boundTokens > 0 && generatedSeconds > 0 ? 1 / generatedSeconds / boundTokens
                                                             : 0);
  os << llvm::format("  to reach 0.7 of the bound: %lld lanes at %.0f MHz (%lld LUT + %lld FF: "
                     "%.0f%% of the part's LUTs) -- not generated yet (no UNROLL/ARRAY_PARTITION "
                     "or DATAFLOW pragmas)\n",
                     (long long)lanes, kClockMHz, (long long)(lanes * kLutsPerLane),
                     (long long)(lanes * kFfsPerLane),
                     100.0 * lanes * kLutsPerLane / part->luts);
  os << llvm::format("  element-wise float cores: %lld mul, %lld add/sub, %lld exp, %lld "
                     "div/sqrt: ~%lld DSP (%.1f%% of %lld)\n",
                     (long long)muls, (long long)adds, (long long)exps, (long long)divs,
                     (long long)(muls * kDspMul + adds * kDspAdd + exps * kDspExp +
                                 divs * kDspDivSqrt),
                     100.0 * (muls * kDspMul + adds * kDspAdd + exps * kDspExp) / part->dsps,
                     (long long)part->dsps);
  os << llvm::format("  on chip: activations of the widest product %lld x 4 B; weights %.1f MiB "
                     "%s the part's %.1f MiB of BRAM + URAM\n",
                     (long long)widest, weightBytes / (1 << 20),
                     weightBytes <= onChipBytes ? "would fit in" : "exceed (streamed from off-chip)",
                     onChipBytes / (1 << 20));
  return success();
}
