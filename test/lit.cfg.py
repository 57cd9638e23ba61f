# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "MFC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mfc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%mfc_src_root", config.mfc_src_root))
# The project venv (scripts/setup) has numpy and onnx.
config.substitutions.append(
    ("%python", os.path.join(config.mfc_src_root, ".venv", "bin", "python"))
)

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.mfc_tools_dir, config.llvm_tools_dir]
# --param mfc_flags="...": flags for every mfc command (scripts/sanitize.sh runs the
# runtime tests with --sanitize=address, so that the models' code is checked too).
mfc_flags = lit_config.params.get("mfc_flags", "").split()
tools = ["mfc-opt", ToolSubst("mfc", extra_args=mfc_flags), "mfc-run"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The CUDA toolkit's ptxas checks the PTX that --target=cuda writes (tests: REQUIRES: ptxas).
ptxas = shutil.which("ptxas") or (os.path.exists("/usr/local/cuda/bin/ptxas") and "/usr/local/cuda/bin/ptxas")
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# clang's ASan runtime (libclang-rt-22-dev, which setup installs) hosts libraries built with
# `mfc --sanitize=address` (tests: REQUIRES: asan-runtime).
clang = os.path.join(config.llvm_tools_dir, "clang")
if os.path.exists(clang):
    asan_runtime = subprocess.run([clang, "-print-file-name=libclang_rt.asan-x86_64.so"],
                                  capture_output=True, text=True).stdout.strip()
    if os.path.isabs(asan_runtime) and os.path.exists(asan_runtime):
        config.available_features.add("asan-runtime")
        config.substitutions.append(("%asan_runtime", asan_runtime))
        config.substitutions.append(("%clang", clang))
