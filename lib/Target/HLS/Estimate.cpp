//===- Estimate.cpp - cycles, resources and the memory bound of a design --===//
//
// What `mfc --target=hls --report` prints: an estimate from the tern IR and a part's
// published figures, not a synthesis result. The model of the generated design and its
// assumptions are printed with it.
//
//===----------------------------------------------------------------------===//
#include "Estimate.h"

#include "mfc/Analysis/TernaryReport.h"
#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/TernDialect.h"
#include "mfc/Pipeline/TernPipeline.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using mfc::kReductionPartials;

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
  /// Whether this product's lanes are built: the first product of its shape. Layers of
  /// one shape share one RTL block per loop nest (mfc-hls-share-functions).
  bool built;
};

/// What tells a stage's loop nests apart for mfc-hls-share-functions: its kind, its
/// shapes and, for a generic, its attributes and body (values by position).
llvm::hash_code stageKey(Operation *op) {
  llvm::hash_code key = OperationEquivalence::computeHash(
      op, OperationEquivalence::ignoreHashValue, OperationEquivalence::ignoreHashValue,
      OperationEquivalence::IgnoreLocations);
  for (Type type : op->getOperandTypes())
    key = llvm::hash_combine(key, type.getAsOpaquePointer());
  for (Region &region : op->getRegions())
    key = llvm::hash_combine(key, mfc::structuralHash(region));
  return key;
}

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
                                     unsigned elementLanes, unsigned channels,
                                     raw_ostream &os) {
  const Part *part = nullptr;
  for (const Part &candidate : kParts)
    if (candidate.name == partName)
      part = &candidate;
  if (!part)
    return ternModule.emitError() << "no HLS part '" << partName
                                  << "' to estimate for (-mcpu=u280, u55c or kv260)";
  SmallVector<Product> products;
  llvm::DenseSet<llvm::hash_code> builtProducts;
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
    // Nor faster than the part's memory delivers the weights.
    double bytesPerCycle = part->bandwidthGBs * 1e9 / (kClockMHz * 1e6);
    products.push_back({locationName(op->getLoc()), k, n,
                        std::max(std::ceil(double(k) * n / perCycle),
                                 std::ceil(double(k) * n / 4 / bytesPerCycle)),
                        builtProducts.insert(stageKey(op)).second});
  });
  // The element-wise stages (norms, gates, quantization): float cores, one per op of a
  // loop body (the loops run one after the other), and cycles: a map (independent
  // elements) takes `elementLanes` elements a cycle when its innermost dim divides by
  // them, with as many copies of its cores; a reduction one element a cycle. A generic:
  // its body's ops, its iterations. A bitlinear: its norm (a mul and an add in the sum
  // of squares; sqrt, 2 div and 3 mul in the maps) and quantization, two reductions over
  // its input (sum of squares, absmax), two maps over it (normalize, quantize) and one
  // over its output. An MLGRU step (2 exp, 2 div, 4 mul, 4 add/sub) and a GLU (exp,
  // div, 2 mul, an add): maps over their elements. Cores are built for the first stage of
  // each shape only: the layers share them (mfc-hls-share-functions).
  struct Cores {
    int64_t muls = 0, adds = 0, exps = 0, divs = 0;
  } cores;
  llvm::DenseSet<llvm::hash_code> builtStages;
  bool buildCores = true; // whether the stage being counted is the first of its shape
  double elementCycles = 0;
  auto lanesFor = [&](ArrayRef<int64_t> shape) -> int64_t {
    return !shape.empty() && !ShapedType::isDynamic(shape.back()) &&
                   shape.back() % elementLanes == 0
               ? elementLanes
               : 1;
  };
  auto addCores = [&](int64_t copies, int64_t muls, int64_t adds, int64_t exps, int64_t divs) {
    if (!buildCores)
      return;
    cores.muls += copies * muls, cores.adds += copies * adds, cores.exps += copies * exps,
        cores.divs += copies * divs;
  };
  auto addMap = [&](ArrayRef<int64_t> shape, int64_t muls, int64_t adds, int64_t exps,
                    int64_t divs) {
    int64_t copies = lanesFor(shape);
    addCores(copies, muls, adds, exps, divs);
    elementCycles += elements(shape) / copies;
  };
  // A reduction over the last dim of `shape`: in strided partials (mfc-split-reductions),
  // lanes over the partials, then the partials one by one; otherwise one element a cycle.
  auto addReduction = [&](ArrayRef<int64_t> shape, bool inPartials, int64_t muls,
                          int64_t adds, int64_t exps, int64_t divs) {
    if (!inPartials) {
      addCores(1, muls, adds, exps, divs);
      elementCycles += elements(shape);
      return;
    }
    int64_t copies = lanesFor({int64_t(kReductionPartials)});
    addCores(copies, muls, adds, exps, divs);
    elementCycles += elements(shape) / copies + elements(shape) / shape.back() * kReductionPartials;
  };
  ternModule.walk([&](Operation *op) {
    if (!isa<linalg::GenericOp, tern::BitLinearOp, tern::MLGRUScanOp, tern::GLUOp>(op))
      return;
    buildCores = builtStages.insert(stageKey(op)).second;
    ArrayRef<int64_t> result; // the first result's (an MLGRU's sequence of states)
    if (op->getNumResults() > 0)
      if (auto shaped = dyn_cast<ShapedType>(op->getResult(0).getType()))
        result = shaped.getShape();
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      int64_t muls = 0, adds = 0, exps = 0, divs = 0;
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
      SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
      if (generic.getNumReductionLoops() == 0)
        addMap(ranges, muls, adds, exps, divs);
      else
        addReduction(ranges, mfc::splittableReduction(generic, kReductionPartials), muls, adds,
                     exps, divs);
    } else if (auto product = dyn_cast<tern::BitLinearOp>(op)) {
      ArrayRef<int64_t> input = cast<ShapedType>(product.getInput().getType()).getShape();
      // Its sum of squares (a mul and an add) and absmax over the features.
      bool inPartials = mfc::splitsReducedDim(input.back(), kReductionPartials);
      addReduction(input, inPartials, 1, 1, 0, 0);
      addReduction(input, inPartials, 0, 0, 0, 0);
      addMap(input, 1, 1, 0, 3);
      addMap(input, 1, 0, 0, 0);
      addMap(result, 2, 0, 0, 0);
    } else if (isa<tern::MLGRUScanOp>(op)) {
      addMap(result, 4, 4, 2, 2);
    } else if (isa<tern::GLUOp>(op)) {
      addMap(result, 2, 1, 1, 1);
    }
  });

  double weightBytes = 0, codes = 0, cycles = elementCycles;
  int64_t widest = 0, builtProductCount = 0;
  for (const Product &p : products) {
    builtProductCount += p.built;
    weightBytes += double(p.k) * p.n / 4;
    codes += double(p.k) * p.n;
    cycles += p.cycles;
    widest = std::max({widest, p.k, p.n});
  }
  double bandwidth = part->bandwidthGBs * 1e9;
  double clock = kClockMHz * 1e6;
  double boundTokens = weightBytes > 0 ? bandwidth / weightBytes : 0;
  double generatedSeconds = cycles / clock;
  // Lanes for 0.7 of the bound: codes per token x 0.7 x bound tokens/s per cycle.
  int64_t lanesNeeded = int64_t(std::ceil(codes * 0.7 * boundTokens / clock));
  double onChipBytes = double(part->bram36) * 36 * 1024 / 8 + double(part->uram) * 288 * 1024 / 8;

  os << "\nHLS estimate (a model, not a synthesis result) for " << part->board << ", "
     << llvm::format("%.0f", kClockMHz) << " MHz, " << lanes << " lane" << (lanes > 1 ? "s" : "")
     << " (--hls-lanes) on each of " << channels << " memory channel"
     << (channels > 1 ? "s" : "") << " (--hls-channels), " << elementLanes
     << " element" << (elementLanes > 1 ? "s" : "") << " a cycle in element-wise maps "
     << "(--hls-element-lanes)\n";
  os << "  assumptions: each ternary product consumes min(lanes, 256) 2-bit codes per cycle "
        "from each channel its rows are spread over (PIPELINE II=1 on its byte loop, UNROLL "
        "across lanes, activations partitioned; a weight's port carries one ap_uint<512> "
        "word, 256 codes, a cycle; a product whose rows do not divide by the channels, or "
        "with float activations, reads one port, the latter one code per cycle) and runs "
        "after the previous one, no faster than the part's memory delivers its weights, as do "
        "the element-wise loops (a map with independent elements takes the element lanes a "
        "cycle, with a copy of its float cores per lane; sums and maxima over a last dim run "
        "in 64 strided partials (mfc-split-reductions), the lanes over the partials (their "
        "pipelines hiding the adder's latency), then the 64 partials one per cycle; other "
        "reductions one element per cycle); "
        "the loop nests of stages of one shape (the layers') are one RTL block that each "
        "calls in turn (mfc-hls-share-functions), so cores and lanes count once per distinct "
        "stage; "
        "weights stream from off-chip memory once per token; a ternary lane is a 2-bit "
        "decode plus an int32 add (~"
     << kLutsPerLane << " LUT + " << kFfsPerLane << " FF, no DSP)\n";
  os << llvm::format("  %-40s %7s %7s %10s %12s\n", "product", "K", "N", "weights KiB",
                     "cycles");
  for (const Product &p : products)
    os << llvm::format("  %-40s %7lld %7lld %10.1f %12.0f\n", p.name.c_str(), (long long)p.k,
                       (long long)p.n, double(p.k) * p.n / 4 / 1024, p.cycles);
  os << llvm::format("  per token: %.2f MiB of packed weights, %.3g codes; element-wise loops "
                     "%.3g cycles\n",
                     weightBytes / (1 << 20), codes, elementCycles);
  int64_t laneCount = int64_t(lanes) * channels * builtProductCount;
  os << llvm::format("  generated design (%u lane%s x %u channel%s in each of %lld distinct "
                     "product%s: %lld LUT + %lld FF, %.1f%% of the part's LUTs): %.3g "
                     "cycles = %.3f ms/token = %.2f tokens/s\n",
                     lanes, lanes > 1 ? "s" : "", channels, channels > 1 ? "s" : "",
                     (long long)builtProductCount, builtProductCount == 1 ? "" : "s",
                     (long long)(laneCount * kLutsPerLane),
                     (long long)(laneCount * kFfsPerLane),
                     100.0 * laneCount * kLutsPerLane / part->luts, cycles, generatedSeconds * 1e3,
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
  int64_t dsps = cores.muls * kDspMul + cores.adds * kDspAdd + cores.exps * kDspExp +
                 cores.divs * kDspDivSqrt;
  os << llvm::format("  element-wise float cores: %lld mul, %lld add/sub, %lld exp, %lld "
                     "div/sqrt: ~%lld DSP (%.1f%% of %lld)%s\n",
                     (long long)cores.muls, (long long)cores.adds, (long long)cores.exps,
                     (long long)cores.divs, (long long)dsps, 100.0 * dsps / part->dsps,
                     (long long)part->dsps,
                     dsps > part->dsps ? " -- more than the part has" : "");
  os << llvm::format("  on chip: activations of the widest product %lld x 4 B; weights %.1f MiB "
                     "%s the part's %.1f MiB of BRAM + URAM\n",
                     (long long)widest, weightBytes / (1 << 20),
                     weightBytes <= onChipBytes ? "would fit in" : "exceed (streamed from off-chip)",
                     onChipBytes / (1 << 20));
  return success();
}
