"""Prints a function whose one element-wise op reads `count` buffers: its kernel takes
count memref descriptors of 40 bytes (more than PTX ISA 8.0's 4 KiB of parameters)."""
import sys

count = int(sys.argv[1])
args = ", ".join(f"%a{i}: tensor<4xf32>" for i in range(count))
ins = ", ".join(f"%a{i}" for i in range(count))
types = ", ".join("tensor<4xf32>" for _ in range(count))
maps = ", ".join(["affine_map<(d0) -> (d0)>"] * (count + 1))
block = ", ".join(f"%v{i}: f32" for i in range(count))
adds = "\n".join(f"    %s{i} = arith.addf %s{i - 1}, %v{i} : f32" for i in range(1, count))
print(f"""func.func @main_graph({args}) -> tensor<4xf32> {{
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {{indexing_maps = [{maps}], iterator_types = ["parallel"]}}
      ins({ins} : {types}) outs(%e : tensor<4xf32>) {{
  ^bb0({block}, %o: f32):
    %s0 = arith.addf %v0, %v0 : f32
{adds}
    linalg.yield %s{count - 1} : f32
  }} -> tensor<4xf32>
  return %r : tensor<4xf32>
}}""")
