"""mfc: model builder, ONNX exporter, numpy reference and compiled-model runtime for
MatMul-free (HGRN-Bit) LMs. `mfc.compile(onnx_path)` and `mfc.load(library)` drive the
compiler and run its libraries (mfc.compiled).

The ONNX-dependent modules (`mfc.export`, `mfc.generate`) are imported on demand so that
`python -m mfc.export` runs the module once, as __main__.
"""

__version__ = "0.1.0"

from .compiled import compile, load
from .config import PRESETS, HGRNBitConfig, preset
from .reference import ReferenceModel
from .weights import ModelWeights, TernaryWeight, ternarize

__all__ = [
    "compile",
    "load",
    "PRESETS",
    "HGRNBitConfig",
    "preset",
    "ReferenceModel",
    "ModelWeights",
    "TernaryWeight",
    "ternarize",
]
