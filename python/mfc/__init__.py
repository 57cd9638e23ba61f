"""mfc: model builder, ONNX exporter and numpy reference for MatMul-free (HGRN-Bit) LMs.

The ONNX-dependent modules (`mfc.export`, `mfc.generate`) are imported on demand so that
`python -m mfc.export` runs the module once, as __main__.
"""

__version__ = "0.1.0"

from .config import PRESETS, HGRNBitConfig, preset
from .reference import ReferenceModel
from .weights import ModelWeights, TernaryWeight, ternarize

__all__ = [
    "PRESETS",
    "HGRNBitConfig",
    "preset",
    "ReferenceModel",
    "ModelWeights",
    "TernaryWeight",
    "ternarize",
]
