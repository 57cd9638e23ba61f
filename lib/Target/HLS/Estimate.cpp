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
#include "llvm/Support/FormatVariadic.h"

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

/// The generated design: `lanes` codes per cycle per product (one with II=1 innermost
/// loops), the products of a token one after the other.
constexpr double kClockMHz = 300;
/// A weight port is one AXI master of 512 bits: 64 bytes, 256 codes a cycle at most.
constexpr int64_t kCodesPerBeat = 256;
/// A ternary lane: the 2-bit decode and an int32 add/subtract (LUT-class, no DSP).
constexpr int64_t kLutsPerLane = 40, kFfsPerLane = 35;
/// Vitis HLS fp32 defaults: DSPs per multiplier / adder; exp, div and sqrt per core.
constexpr int64_t kDspMul = 3, kDspAdd = 2, kDspExp = 7, kDspDivSqrt = 0;

struct Product {
  std::string name;
  int64_t k, n;
  double cycles;
};

/// Elements of `shape`, a dynamic dim (batch, sequence) counting 1: one token of a
/// decode step.
double elements(ArrayRef<int64_t> shape) {
  double count = 1;
  for (int64_t size : shape)
    count *= ShapedType::isDynamic(size) ? 1 : size;
  return count;
}
} // namespace

LogicalResult mfc::hls::printEstimate(ModuleOp ternModule, StringRef partName, unsigned lanes,
                                     unsigned channels, raw_ostream &os) {
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
    bool int8 = true; // a bitlinear quantizes its input to int8
    if (auto product = dyn_cast<tern::MatmulOp>(op)) {
      input = product.getInput(), weights = product.getWeights(), layout = product.getLayout();
      int8 = getElementTypeOrSelf(input.getType()).isInteger(8);
    } else if (auto product = dyn_cast<tern::BitLinearOp>(op)) {
      input = product.getInput(), weights = product.getWeights(), layout = product.getLayout();
    } else {
      return;
    }
    int64_t k = cast<ShapedType>(input.getType()).getShape().back();
    int64_t n = layout.getNumOutputs(cast<ShapedType>(weights.getType()));
    // Lanes take int8 activations over whole packed bytes, at most a 512-bit beat of
    // codes a cycle from each weight port, the rows spread over the channels when they
    // divide (mfc-hls-split-channels); other products take one code a cycle.
    int64_t perCycle = int8 && k % 4 == 0 ? std::min<int64_t>(lanes, kCodesPerBeat) : 1;
    if (perCycle > 1 && n % channels == 0)
      perCycle *= channels;
    products.push_back({locationName(op->getLoc()), k, n, std::ceil(double(k) * n / perCycle)});
  });
  // The element-wise stages (norms, gates, quantization): float cores, one per op of a
  // loop body (the loops run one after the other), and cycles, one element a cycle (not
  // unrolled). A generic: its body's ops, its iterations. A bitlinear: its norm (mul,
  // add, sqrt, div) and quantization, four passes over its input (sum of squares,
  // normalize, absmax, quantize) and one over its output. An MLGRU step (2 exp, 2 div,
  // 5 mul/add) and a GLU (exp, div, 2 mul): their elements.
  int64_t muls = 0, adds = 0, exps = 0, divs = 0;
  double elementCycles = 0;
  auto resultElements = [](Operation *op) {
    return elements(cast<ShapedType>(op->getResult(0).getType()).getShape());
  };
  ternModule.walk([&](Operation *op) {
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      generic.getBody()->walk([&](Operation *inner) {
        if (isa<arith::MulFOp>(inner))
          ++muls;
        else if (isa<arith::AddFOp, arith::SubFOp>(inner))
          ++adds;
        else if (isa<math::ExpOp>(inner))
          ++exps;
        else if (isa<arith::DivFOp, math::SqrtOp, math::RsqrtOp>(inner))
          ++divs;
      });
      elementCycles += elements(generic.getStaticLoopRanges());
    } else if (auto product = dyn_cast<tern::BitLinearOp>(op)) {
      muls += 4, adds += 2, divs += 3;
      elementCycles += 4 * elements(cast<ShapedType>(product.getInput().getType()).getShape()) +
                       resultElements(op);
    } else if (isa<tern::MLGRUScanOp>(op)) {
      muls += 4, adds += 4, exps += 2, divs += 2;
      elementCycles += resultElements(op);
    } else if (isa<tern::GLUOp>(op)) {
      muls += 2, adds += 1, exps += 1, divs += 1;
      elementCycles += resultElements(op);
    }
  });

  double weightBytes = 0, codes = 0, cycles = elementCycles;
  int64_t widest = 0;
  for (const Product &p : products) {
    weightBytes += double(p.k) * p.n / 4;
    codes += double(p.k) * p.n;
    cycles += p.cycles;
    widest = std::max({widest, p.k, p.n});
  }
  double bandwidth = part->bandwidthGBs * 1e9;
  double clock = kClockMHz * 1e6;
  double boundTokens = weightBytes > 0 ? bandwidth / weightBytes : 0;
  // Weights cannot arrive faster than the memory gives them.
  double generatedSeconds = std::max(cycles / clock, weightBytes / bandwidth);
  // Lanes for 0.7 of the bound: codes per token x 0.7 x bound tokens/s per cycle.
  int64_t lanesNeeded = int64_t(std::ceil(codes * 0.7 * boundTokens / clock));
  double onChipBytes = double(part->bram36) * 36 * 1024 / 8 + double(part->uram) * 288 * 1024 / 8;

  os << "\nHLS estimate (a model, not a synthesis result) for " << part->board << ", "
     << llvm::format("%.0f", kClockMHz) << " MHz, " << lanes << " lane" << (lanes > 1 ? "s" : "")
     << " (--hls-lanes) on each of " << channels << " memory channel"
     << (channels > 1 ? "s" : "") << " (--hls-channels)\n";
  os << "  assumptions: each ternary product consumes min(lanes, 256) 2-bit codes per cycle "
        "from each channel its rows are spread over (PIPELINE II=1 on its byte loop, UNROLL "
        "across lanes, activations partitioned; a weight's port carries one ap_uint<512> "
        "word, 256 codes, a cycle; a product whose rows do not divide by the channels, or "
        "with float activations, reads one port, the latter one code per cycle) and runs "
        "after the previous one, as do the "
        "element-wise loops (one element per cycle); weights "
        "stream from off-chip memory once per token; a ternary lane is a 2-bit decode plus "
        "an int32 add (~"
     << kLutsPerLane << " LUT + " << kFfsPerLane << " FF, no DSP)\n";
  os << llvm::format("  %-40s %7s %7s %10s %12s\n", "product", "K", "N", "weights KiB",
                     "cycles");
  for (const Product &p : products)
    os << llvm::format("  %-40s %7lld %7lld %10.1f %12.0f\n", p.name.c_str(), (long long)p.k,
                       (long long)p.n, double(p.k) * p.n / 4 / 1024, p.cycles);
  os << llvm::format("  per token: %.2f MiB of packed weights, %.3g codes; element-wise loops "
                     "%.3g cycles\n",
                     weightBytes / (1 << 20), codes, elementCycles);
  os << llvm::format("  generated design (%u lane%s x %u channel%s, %lld LUT + %lld FF): %.3g "
                     "cycles = %.3f ms/token = %.2f tokens/s\n",
                     lanes, lanes > 1 ? "s" : "", channels, channels > 1 ? "s" : "",
                     (long long)(lanes * channels * kLutsPerLane),
                     (long long)(lanes * channels * kFfsPerLane),
                     cycles, generatedSeconds * 1e3,
                     generatedSeconds > 0 ? 1 / generatedSeconds : 0);
  os << llvm::format("  memory bound (%.1f GB/s): %.1f tokens/s; the generated design reaches "
                     "%.2g of it\n",
                     part->bandwidthGBs, boundTokens,
                     boundTokens > 0 && generatedSeconds > 0 ? 1 / generatedSeconds / boundTokens
                                                             : 0);
  std::string split;
  if (lanesNeeded > kCodesPerBeat)
    split = llvm::formatv(" -- more than a 512-bit port delivers: 256 lanes on each of {0} "
                          "memory channels (--hls-lanes=256 --hls-channels={0})",
                          (lanesNeeded + kCodesPerBeat - 1) / kCodesPerBeat);
  os << llvm::format("  to reach 0.7 of the bound: %lld lanes at %.0f MHz (%lld LUT + %lld FF: "
                     "%.0f%% of the part's LUTs)%s\n",
                     (long long)lanesNeeded, kClockMHz, (long long)(lanesNeeded * kLutsPerLane),
                     (long long)(lanesNeeded * kFfsPerLane),
                     100.0 * lanesNeeded * kLutsPerLane / part->luts, split.c_str());
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
