#include "../Importer.h"
using namespace mfc::onnx_import;
void mfc::onnx_import::registerControlFlowOps(ConverterTable &) {}
