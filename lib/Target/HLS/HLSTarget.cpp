//===- HLSTarget.cpp - the HLS back end: tern IR to an HLS C++ project ----===//
//
// tern IR -> loops on fixed-size buffers -> EmitC -> C++ (mlir's C++ emitter), written
// with its weights, a self-checking testbench, a Makefile (csim with g++ and the
// ap_types headers) and run_hls.tcl for Vitis HLS.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/HLSTarget.h"

#include "Estimate.h"

#include "mfc/Conversion/Passes.h"
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Pipeline/TernPipeline.h"
#include "mfc/Target/HLS/Passes.h"
#include "mfc/Target/HostToolchain.h"
#include "mfc/Target/Target.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace {
/// The pipeline's options, for mfc-opt's named pipeline too.
struct HLSPipelineOptions : public PassPipelineOptions<HLSPipelineOptions> {
  Option<std::string> entry{*this, "entry", llvm::cl::desc("The model's entry function"),
                            llvm::cl::init("main_graph")};
  Option<unsigned> lanes{*this, "lanes",
                         llvm::cl::desc("Ternary codes each product consumes per cycle "
                                        "(1, or a multiple of 4)"),
                         llvm::cl::init(1)};
  Option<unsigned> elementLanes{
      *this, "element-lanes",
      llvm::cl::desc("Elements each independent element-wise loop takes per cycle"),
      llvm::cl::init(1)};
  Option<unsigned> channels{*this, "channels",
                            llvm::cl::desc("Memory channels each packed weight is spread over"),
                            llvm::cl::init(1)};
};

void buildHLSLoweringPipeline(OpPassManager &pm, StringRef entry, unsigned lanes,
                              unsigned elementLanes, unsigned channels) {
  pm.addPass(mfc::hls::createHLSSpecializeShapes({entry.str(), /*dimSize=*/1}));
  // The kernel has no error channel: an index out of range reads the dim's first element.
  pm.addPass(mfc::tern::createTernLowerRunTimeChecks({"clamp"}));
  mfc::buildTernExpansionPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  mfc::buildTernBufferizationPipeline(pm);
  pm.addPass(mfc::tern::createTernLowerMatmul());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // The top function writes its results into buffers the caller passes; every
  // temporary has a fixed size and lives on chip (block RAM or registers).
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  outParams.hoistStaticAllocs = true;
  outParams.addResultAttribute = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(bufferization::createPromoteBuffersToStackPass(
      [](Value) { return true; }));
  // Copies become loops, and views fold into the loads and stores through them.
  pm.addNestedPass<func::FuncOp>(mfc::createStridedCopyToLoops({/*all=*/true}));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(mfc::hls::createHLSExternalizeWeights({entry.str()}));
  pm.addPass(mfc::hls::createHLSSplitChannels({entry.str(), channels}));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(mfc::hls::createHLSDirectives({entry.str(), lanes, elementLanes}));
  // Layers of one shape share one RTL block per loop nest.
  pm.addPass(mfc::createOutlineLoopNests());
  pm.addPass(mfc::hls::createHLSShareFunctions({entry.str()}));
  pm.addPass(mfc::hls::createHLSPrepareEmission());
  // floordivsi and friends as the integer ops C has.
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createConvertToEmitC());
  // The casts that let pragmas name arrays (mfc-hls-directives) fold away.
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(mfc::hls::createHLSWeightWords());
}

/// A port of the top function, as mfc-hls-directives recorded it.
struct Port {
  std::string name, role;
  MemRefType type;
  Attribute data;
  /// The memory channel of a weight spread over channels (mfc-hls-split-channels).
  std::optional<int64_t> channel;
};

FailureOr<SmallVector<Port>> readPorts(ModuleOp module) {
  auto ports = module->getAttrOfType<ArrayAttr>("hls.ports");
  if (!ports)
    return module.emitError("the lowered module records no hls.ports");
  SmallVector<Port> result;
  for (auto port : ports.getAsRange<DictionaryAttr>()) {
    std::optional<int64_t> channel;
    if (auto attr = port.getAs<IntegerAttr>("channel"))
      channel = attr.getInt();
    result.push_back({port.getAs<StringAttr>("name").str(), port.getAs<StringAttr>("role").str(),
                      cast<MemRefType>(port.getAs<TypeAttr>("type").getValue()),
                      port.get("data"), channel});
  }
  return result;
}

/// The C type of `type`'s elements, and numpy's name for it.
std::pair<StringRef, StringRef> elementTypes(Type type) {
  if (type.isF32())
    return {"float", "<f4"};
  if (type.isInteger(8))
    return {"int8_t", "|i1"};
  if (type.isInteger(32))
    return {"int32_t", "<i4"};
  if (type.isInteger(64))
    return {"int64_t", "<i8"};
  return {"", ""};
}

/// `name` made a C identifier.
std::string identifier(StringRef name) {
  std::string id;
  for (char c : name)
    id += llvm::isAlnum(c) ? c : '_';
  if (id.empty() || llvm::isDigit(id[0]))
    id = "p_" + id;
  return id;
}

/// Whether `port` holds packed ternary codes, which the kernel reads as 512-bit words
/// (mfc-hls-weight-words).
bool isWordPort(const Port &port) {
  return port.role == "weight" && mfc::hls::isPackedWeightType(port.type);
}

/// The parameter declaration of `port` in the top function's prototype: `float v1[1][8]`,
/// `ap_uint<512> v2[16]`.
std::string parameter(const Port &port, unsigned index) {
  std::string name = "v" + std::to_string(index + 1);
  if (isWordPort(port))
    return "ap_uint<512> " + name + "[" + std::to_string(mfc::hls::weightWordCount(port.type.getNumElements())) + "]";
  std::string decl = (elementTypes(port.type.getElementType()).first + " " + name).str();
  for (int64_t size : port.type.getShape())
    decl += "[" + std::to_string(size) + "]";
  return decl;
}

/// A .npy (format 1.0) of `bytes` with `port`'s dtype and shape.
void writeNpy(raw_ostream &os, const Port &port, ArrayRef<char> bytes) {
  std::string shape = "(";
  for (int64_t size : port.type.getShape())
    shape += std::to_string(size) + ",";
  shape += ")";
  std::string header = ("{'descr': '" + elementTypes(port.type.getElementType()).second +
                        "', 'fortran_order': False, 'shape': " + shape + ", }")
                           .str();
  // Magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
  size_t total = llvm::alignTo(10 + header.size() + 1, 64);
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  os.write(bytes.data(), bytes.size());
}

/// The weight's bytes (a splat expanded).
FailureOr<std::vector<char>> weightBytes(const Port &port) {
  if (auto dense = dyn_cast<DenseElementsAttr>(port.data); dense && dense.isSplat()) {
    ArrayRef<char> one = dense.getRawData();
    std::vector<char> bytes;
    for (int64_t i = 0; i < port.type.getNumElements(); ++i)
      bytes.insert(bytes.end(), one.begin(), one.end());
    return bytes;
  }
  std::optional<ArrayRef<char>> bytes = mfc::constantBytes(port.data);
  if (!bytes)
    return failure();
  return std::vector<char>(bytes->begin(), bytes->end());
}

// The project's fixed files: the math the kernel calls, a .npy reader, the testbench's
// comparison.
constexpr const char *kMathHeader = R"cpp(// mfc_hls_math.h - the functions mfc's HLS kernels call: float functions with the
// semantics of the MLIR ops they stand for (mfc-hls-prepare-emission; Vitis HLS maps the
// C math library to its hls_math cores), and the byte reads of packed weights.
#ifndef MFC_HLS_MATH_H
#define MFC_HLS_MATH_H
#include <ap_int.h>
#include <cmath>
#include <cstdint>

// Byte `byte` of row `row` of packed 2-bit weights whose rows have `rowBytes` bytes,
// stored in row-major order in 512-bit words (mfc-hls-weight-words).
static inline int8_t mfc_weight_byte(const ap_uint<512> *words, int64_t row, int64_t byte,
                                     int64_t rowBytes) {
  int64_t at = row * rowBytes + byte;
  int bit = 8 * (int)(at % 64);
  return (int8_t)(unsigned)words[at / 64].range(bit + 7, bit);
}

static inline float mfc_sqrt(float x) { return std::sqrt(x); }
static inline float mfc_rsqrt(float x) { return 1.0f / std::sqrt(x); }
static inline float mfc_exp(float x) { return std::exp(x); }
static inline float mfc_log(float x) { return std::log(x); }
static inline float mfc_tanh(float x) { return std::tanh(x); }
static inline float mfc_absf(float x) { return std::fabs(x); }
static inline float mfc_floor(float x) { return std::floor(x); }
static inline float mfc_ceil(float x) { return std::ceil(x); }
// Round half to even: nearbyint in the default rounding mode.
static inline float mfc_roundeven(float x) { return std::nearbyint(x); }
// maximumf/minimumf propagate NaN; maxnumf/minnumf prefer the number.
static inline float mfc_maximumf(float a, float b) {
  return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b);
}
static inline float mfc_minimumf(float a, float b) {
  return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b);
}
static inline float mfc_maxnumf(float a, float b) { return std::fmax(a, b); }
static inline float mfc_minnumf(float a, float b) { return std::fmin(a, b); }
#endif
)cpp";

constexpr const char *kNpyHeader = R"cpp(// mfc_npy.h - reads and checks .npy files (format 1.x, C order) for the testbench.
#ifndef MFC_NPY_H
#define MFC_NPY_H
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// Reads `path` into `data` (count elements of numpy type `descr`); false and a message
// on stderr when the file is not such an array.
static bool mfc_read_npy(const std::string &path, const char *descr, size_t count,
                         void *data, size_t elementSize) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "error: cannot open %s\n", path.c_str());
    return false;
  }
  unsigned char pre[10];
  bool ok = std::fread(pre, 1, 10, f) == 10 && std::memcmp(pre, "\x93NUMPY", 6) == 0;
  size_t headerLength = ok ? (pre[8] | pre[9] << 8) : 0;
  if (ok && pre[6] != 1) { // version 2/3: a 4-byte length
    unsigned char more[2];
    ok = std::fread(more, 1, 2, f) == 2;
    headerLength = pre[8] | pre[9] << 8 | more[0] << 16 | more[1] << 24;
  }
  std::string header(headerLength, '\0');
  ok = ok && std::fread(&header[0], 1, headerLength, f) == headerLength;
  if (!ok || header.find(std::string("'descr': '") + descr + "'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    std::fprintf(stderr, "error: %s is not a C-order .npy of dtype %s\n", path.c_str(), descr);
    std::fclose(f);
    return false;
  }
  size_t read = std::fread(data, elementSize, count, f);
  unsigned char extra;
  bool exact = read == count && std::fread(&extra, 1, 1, f) == 0;
  std::fclose(f);
  if (!exact)
    std::fprintf(stderr, "error: %s does not hold exactly %zu elements\n", path.c_str(), count);
  return exact;
}

// Compares `count` values; prints the worst and returns whether all are within
// atol + rtol * |expected|.
template <typename T>
static bool mfc_compare(const char *name, const T *got, const T *expected, size_t count,
                        double rtol, double atol) {
  size_t bad = 0, worst = 0;
  double worstExcess = -1;
  for (size_t i = 0; i < count; ++i) {
    double diff = (double)got[i] - (double)expected[i];
    double excess = (diff < 0 ? -diff : diff) - (atol + rtol * ((double)expected[i] < 0 ? -(double)expected[i] : (double)expected[i]));
    if (excess > 0 || got[i] != got[i])
      ++bad;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  std::printf("%s: %zu of %zu values outside rtol %g atol %g (worst at %zu: %g vs %g)\n", name,
              bad, count, rtol, atol, worst, (double)got[worst], (double)expected[worst]);
  return bad == 0;
}
#endif
)cpp";

/// The testbench: weights from weights/, inputs and expected outputs from the command
/// line (`--input NAME=FILE.npy`, `--expect NAME=FILE.npy`, `--rtol`, `--atol`).
std::string testbench(ArrayRef<Port> ports) {
  std::string tb;
  llvm::raw_string_ostream os(tb);
  os << "// tb.cpp - runs the kernel on .npy inputs and checks its outputs (written by mfc).\n"
        "#include \"kernel.h\"\n#include \"mfc_npy.h\"\n#include <cstdlib>\n#include <map>\n\n";
  for (auto [index, port] : llvm::enumerate(ports))
    os << "static " << parameter(port, index) << ";\n";
  os << R"cpp(
int main(int argc, char **argv) {
  std::map<std::string, std::string> inputs, expected;
  double rtol = 1e-5, atol = 1e-6;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string next = i + 1 < argc ? argv[i + 1] : "";
    size_t eq = next.find('=');
    if ((arg == "--input" || arg == "--expect") && eq != std::string::npos) {
      (arg == "--input" ? inputs : expected)[next.substr(0, eq)] = next.substr(eq + 1);
      ++i;
    } else if (arg == "--rtol" && !next.empty()) {
      rtol = std::atof(next.c_str());
      ++i;
    } else if (arg == "--atol" && !next.empty()) {
      atol = std::atof(next.c_str());
      ++i;
    } else {
      std::fprintf(stderr, "usage: %s --input NAME=FILE.npy ... [--expect NAME=FILE.npy ...] "
                   "[--rtol R] [--atol A]\n", argv[0]);
      return 2;
    }
  }
  bool ok = true;
)cpp";
  for (auto [index, port] : llvm::enumerate(ports)) {
    auto [ctype, descr] = elementTypes(port.type.getElementType());
    std::string var = "v" + std::to_string(index + 1);
    std::string count = std::to_string(port.type.getNumElements());
    if (isWordPort(port))
      // The .npy holds the bytes; the kernel takes them as 512-bit words.
      os << "  {\n    static int8_t bytes[" << count << "];\n"
         << "    ok = mfc_read_npy(\"weights/" << identifier(port.name) << ".npy\", \"" << descr
         << "\", " << count << ", bytes, 1) && ok;\n"
         << "    for (size_t i = 0; i < " << count << "; ++i)\n"
         << "      " << var << "[i / 64].range(8 * (i % 64) + 7, 8 * (i % 64)) = (uint8_t)bytes[i];\n"
         << "  }\n";
    else if (port.role == "weight")
      os << "  ok = mfc_read_npy(\"weights/" << identifier(port.name) << ".npy\", \"" << descr
         << "\", " << count << ", " << var << ", sizeof(" << ctype << ")) && ok;\n";
    else if (port.role == "input")
      os << "  if (!inputs.count(\"" << port.name << "\")) {\n    std::fprintf(stderr, "
         << "\"error: no --input " << port.name << "=FILE.npy\\n\");\n    return 2;\n  }\n"
         << "  ok = mfc_read_npy(inputs[\"" << port.name << "\"], \"" << descr << "\", " << count
         << ", " << var << ", sizeof(" << ctype << ")) && ok;\n";
  }
  os << "  if (!ok)\n    return 2;\n  " << "mfc_kernel(";
  for (size_t index = 0; index < ports.size(); ++index)
    os << (index ? ", " : "") << "v" << index + 1;
  os << ");\n  bool match = true;\n";
  for (auto [index, port] : llvm::enumerate(ports)) {
    if (port.role != "output")
      continue;
    auto [ctype, descr] = elementTypes(port.type.getElementType());
    std::string var = "v" + std::to_string(index + 1);
    std::string count = std::to_string(port.type.getNumElements());
    os << "  if (expected.count(\"" << port.name << "\")) {\n"
       << "    static " << ctype << " want[" << count << "];\n"
       << "    if (!mfc_read_npy(expected[\"" << port.name << "\"], \"" << descr << "\", " << count
       << ", want, sizeof(" << ctype << ")))\n      return 2;\n"
       << "    match = mfc_compare(\"" << port.name << "\", (const " << ctype << " *)" << var
       << ", want, " << count << ", rtol, atol) && match;\n  }\n";
  }
  os << "  std::printf(match ? \"PASS\\n\" : \"FAIL\\n\");\n  return match ? 0 : 1;\n}\n";
  return tb;
}

std::string kernelHeader(ArrayRef<Port> ports) {
  std::string header = "// kernel.h - the top function (written by mfc).\n#ifndef MFC_KERNEL_H\n"
                       "#define MFC_KERNEL_H\n#include <ap_int.h>\n#include <cstddef>\n"
                       "#include <cstdint>\n\n// Ports:";
  for (auto [index, port] : llvm::enumerate(ports))
    header += "\n//   v" + std::to_string(index + 1) + ": " + port.role + " " + port.name +
              (isWordPort(port) ? " (packed 2-bit codes, 64 bytes a word)" : "");
  header += "\nvoid mfc_kernel(";
  for (auto [index, port] : llvm::enumerate(ports))
    header += (index ? ", " : "") + parameter(port, index);
  return header + ");\n#endif\n";
}

constexpr const char *kMakefile = R"mk(# Makefile - C simulation of the kernel with g++ and the ap_types headers (written by mfc).
# AP_TYPES: a directory holding ap_int.h: Vitis HLS's include/, or the copy that the
# hls4ml PyPI package ships (pip install --no-deps hls4ml), found through $(PYTHON).
CXX ?= g++
PYTHON ?= python3
AP_TYPES ?= $(shell $(PYTHON) -c "import importlib.util as u, os; s = u.find_spec('hls4ml'); print(os.path.join(os.path.dirname(s.origin), 'templates', 'vivado', 'ap_types') if s else '')" 2>/dev/null)
CXXFLAGS ?= -O2 -std=c++14
ARGS ?=

csim: kernel.cpp kernel.h tb.cpp mfc_npy.h mfc_hls_math.h
	@test -f "$(AP_TYPES)/ap_int.h" || { echo "error: no ap_int.h in AP_TYPES='$(AP_TYPES)': pip install --no-deps hls4ml, or make AP_TYPES=<Vitis HLS include dir>" >&2; exit 2; }
	$(CXX) $(CXXFLAGS) -I$(AP_TYPES) -o csim tb.cpp kernel.cpp -lm
	./csim $(ARGS)

clean:
	rm -f csim

.PHONY: csim clean
)mk";

std::string tclScript(ArrayRef<Port> ports) {
  std::string args;
  for (const Port &port : ports)
    if (port.role == "input")
      args += " --input " + port.name + "=../../../data/" + identifier(port.name) + ".npy";
  return R"tcl(# run_hls.tcl - Vitis HLS: C simulation, synthesis, co-simulation, export (written by mfc).
# vitis_hls -f run_hls.tcl   (PART and CLOCK_NS below; data/ holds the inputs csim reads)
set PART xcu280-fsvh2892-2L-e
set CLOCK_NS 3.33
open_project -reset mfc_hls
set_top mfc_kernel
add_files kernel.cpp
add_files -tb tb.cpp
add_files -tb mfc_npy.h
add_files -tb weights
add_files -tb data
open_solution -reset solution1 -flow_target vitis
set_part $PART
create_clock -period $CLOCK_NS
csim_design -argv ")tcl" + args.substr(args.empty() ? 0 : 1) + R"tcl("
csynth_design
cosim_design -argv ")tcl" + args.substr(args.empty() ? 0 : 1) + R"tcl("
export_design -format xo
exit
)tcl";
}

/// The v++ link connectivity of the kernel's AXI masters (the bundles of
/// mfc-hls-directives) on an HBM card's 32 pseudo-channels: each weight channel on one of
/// its own, then the unsplit weights and the inputs and outputs.
std::string linkConfig(ArrayRef<Port> ports) {
  constexpr int64_t kPseudoChannels = 32;
  int64_t channels = 0;
  bool unsplit = false;
  for (const Port &port : ports) {
    if (port.channel)
      channels = std::max(channels, *port.channel + 1);
    unsplit |= port.role == "weight" && !port.channel;
  }
  std::string config;
  llvm::raw_string_ostream os(config);
  os << "# link.cfg - v++ --link --config link.cfg: the kernel's AXI masters on an Alveo HBM\n"
        "# card's pseudo-channels (U280/U55C: HBM[0..31]), one per weight channel (written by "
        "mfc).\n[connectivity]\nnk=mfc_kernel:1:mfc_kernel_1\n";
  int64_t next = 0;
  for (int64_t channel = 0; channel < channels; ++channel)
    os << "sp=mfc_kernel_1.m_axi_weights" << channel << ":HBM[" << next++ % kPseudoChannels
       << "]\n";
  if (unsplit)
    os << "sp=mfc_kernel_1.m_axi_weights:HBM[" << next++ % kPseudoChannels << "]\n";
  os << "sp=mfc_kernel_1.m_axi_io:HBM[" << next % kPseudoChannels << "]\n";
  return config;
}

class HLSTarget final : public mfc::Target {
public:
  StringRef getName() const override { return "hls"; }
  StringRef getDescription() const override {
    return "FPGAs via HLS C++ (EmitC; -mcpu: the part of --report's estimate, u280, u55c or "
           "kv260)";
  }

  ArrayRef<mfc::TargetStage> getStages() const override {
    static const mfc::TargetStage stages[] = {
        {"lowered", "MLIR in the EmitC dialect, pragmas as emitc.verbatim", false, ""},
        {"cpp", "the kernel's C++", false, ""},
        {"project", "a directory: kernel, weights, testbench, Makefile, run_hls.tcl, link.cfg",
         true,
         ".hls"},
    };
    return stages;
  }

  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<emitc::EmitCDialect>();
  }

  void buildLoweringPipeline(OpPassManager &pm,
                             const mfc::TargetOptions &options) const override {
    buildHLSLoweringPipeline(pm, options.entry, options.hlsLanes, options.hlsElementLanes,
                             options.hlsChannels);
  }

  LogicalResult serialize(ModuleOp module, StringRef stage, StringRef outputPath,
                          const mfc::TargetOptions &options) const override {
    std::string error;
    auto fail = [&](const Twine &message) -> LogicalResult { return module.emitError(message); };
    // The top function's name is the HLS top's, whatever the ONNX graph called it.
    module.walk([&](emitc::FuncOp func) {
      if (func.getSymName() == options.entry)
        func.setSymName("mfc_kernel");
    });
    std::string cpp;
    {
      llvm::raw_string_ostream os(cpp);
      os << "// kernel.cpp - written by mfc from tern IR (EmitC).\n#include \"kernel.h\"\n"
            "#include \"mfc_hls_math.h\"\n";
      if (failed(emitc::translateToCpp(module, os)))
        return failure();
    }
    if (stage == "cpp") {
      return failed(mfc::writeTextFile(outputPath, [&](raw_ostream &os) { os << cpp; }, error))
                 ? fail(error)
                 : success();
    }
    FailureOr<SmallVector<Port>> ports = readPorts(module);
    if (failed(ports))
      return failure();
    for (const Port &port : *ports)
      if (elementTypes(port.type.getElementType()).first.empty())
        return fail("HLS port '" + port.name + "' has an element type the testbench cannot "
                    "read or write");
    SmallString<256> weightsDir(outputPath);
    llvm::sys::path::append(weightsDir, "weights");
    SmallString<256> dataDir(outputPath);
    llvm::sys::path::append(dataDir, "data");
    for (StringRef dir : {StringRef(weightsDir), StringRef(dataDir)})
      if (std::error_code ec = llvm::sys::fs::create_directories(dir))
        return fail("cannot create " + dir + ": " + ec.message());
    auto writeFile = [&](StringRef name, llvm::function_ref<void(raw_ostream &)> print) {
      SmallString<256> path(outputPath);
      llvm::sys::path::append(path, name);
      return mfc::writeTextFile(path, print, error);
    };
    for (const Port &port : *ports) {
      if (port.role != "weight")
        continue;
      FailureOr<std::vector<char>> bytes = weightBytes(port);
      if (failed(bytes))
        return fail("the data of weight '" + port.name + "' has no flat layout");
      if (failed(writeFile("weights/" + identifier(port.name) + ".npy",
                           [&](raw_ostream &os) { writeNpy(os, port, *bytes); })))
        return fail(error);
    }
    if (failed(writeFile("kernel.cpp", [&](raw_ostream &os) { os << cpp; })) ||
        failed(writeFile("kernel.h", [&](raw_ostream &os) { os << kernelHeader(*ports); })) ||
        failed(writeFile("tb.cpp", [&](raw_ostream &os) { os << testbench(*ports); })) ||
        failed(writeFile("mfc_npy.h", [&](raw_ostream &os) { os << kNpyHeader; })) ||
        failed(writeFile("mfc_hls_math.h", [&](raw_ostream &os) { os << kMathHeader; })) ||
        failed(writeFile("Makefile", [&](raw_ostream &os) { os << kMakefile; })) ||
        failed(writeFile("link.cfg", [&](raw_ostream &os) { os << linkConfig(*ports); })) ||
        failed(writeFile("run_hls.tcl", [&](raw_ostream &os) { os << tclScript(*ports); })))
      return fail(error);
    return success();
  }

  LogicalResult printReport(ModuleOp ternModule, const mfc::TargetOptions &options,
                            raw_ostream &os) const override {
    return mfc::hls::printEstimate(ternModule, options.cpu == "native" ? "u280" : options.cpu,
                                   options.hlsLanes, options.hlsElementLanes,
                                   options.hlsChannels, os);
  }

  void registerPasses() const override {
    mfc::hls::registerMFCHLSPasses();
    PassPipelineRegistration<HLSPipelineOptions>(
        "mfc-hls-pipeline",
        "Import-level IR to EmitC with HLS pragmas (what `mfc --target=hls --emit=lowered` runs)",
        [](OpPassManager &pm, const HLSPipelineOptions &options) {
          mfc::buildTernPipeline(pm, mfc::TernPipelineOptions());
          buildHLSLoweringPipeline(pm, options.entry, options.lanes, options.elementLanes,
                                   options.channels);
        });
  }
};
} // namespace

void mfc::registerHLSTarget() { registerTarget(std::make_unique<HLSTarget>()); }
