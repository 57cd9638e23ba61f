"""The command line both GPU benchmarks share: `prepare` compiles here (where mfc is),
`run --out DIR` measures on the machine with the GPU (the `device` tool)."""
import argparse
from pathlib import Path
from typing import Callable, List, Tuple


def main(doc: str, prepare: Callable[[], None], run: Callable[[Path, int], None],
         count_flag: str, count_default: int) -> int:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare")
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument(f"--{count_flag}", type=int, default=count_default)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare()
    else:
        run(args.out, getattr(args, count_flag))
    return 0


def gpu_operations(torch, step: Callable[[], object], calls: int) -> List[Tuple[str, float]]:
    """(name, µs) of every GPU operation (kernels, copies) that `calls` calls of step()
    ran, as the CUDA profiler (CUPTI, through torch.profiler) recorded them; one
    unrecorded call first, so that first-use work stays out."""
    from torch.profiler import ProfilerActivity, profile

    step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            step()
        torch.cuda.synchronize()
    return [(e.name, e.time_range.elapsed_us()) for e in prof.events()
            if e.device_type == torch.autograd.DeviceType.CUDA]
