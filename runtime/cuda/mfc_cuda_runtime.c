/*===- mfc_cuda_runtime.c - the GPU side of a CUDA model library ----------===*
 *
 * Linked into every library that `mfc --target=cuda` builds. Its generated host code
 * launches kernels and manages buffers through the mgpu* calls that MLIR's gpu-to-llvm
 * lowering and gpu.launch_func translation emit; this file implements them over the
 * CUDA driver API. libcuda.so.1 is opened when the model library loads (never linked),
 * so building and loading on machines without a driver work: mfc_device_init, which
 * the host runtime calls from mfc_model_load, reports "no CUDA driver" or "no CUDA
 * GPU" as a load error instead.
 *
 * Kernels come as PTX, JIT-compiled by the driver once per module, at its first use. The
 * generated code cannot handle errors from these calls: a failure after a successful
 * mfc_device_init (out of device memory, a bad launch) is printed and aborts.
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The driver API's types and constants that this file uses (from cuda.h's ABI). */
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
enum {
  CU_STREAM_CAPTURE_MODE_RELAXED = 2,
  CUDA_SUCCESS = 0,
  CU_MEM_ATTACH_GLOBAL = 1,
  CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
  CU_POINTER_ATTRIBUTE_IS_MANAGED = 8,
  CU_MEMORYTYPE_DEVICE = 2
};

static struct {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, CUstream, void **, void **);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*pointerGetAttribute)(void *, int, CUdeviceptr);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*memAllocHost)(void **, size_t);
  CUresult (*streamBeginCapture)(CUstream, int);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphDestroy)(CUgraph);
} cu;

static CUcontext context;
/* One stream orders every launch, allocation, copy and free, so the host need not wait
 * for the GPU except where it reads what the GPU wrote: results (mgpuMemcpy to host
 * memory waits) and managed memory, which host code may read directly, so once a
 * managed buffer exists the synchronizations the generated code asks for are real. */
static CUstream stream;
static int managed_in_use;
/* MFC_CUDA_GRAPHS=0: every call runs as it comes, never as a graph (to compare, or to
 * debug a kernel). */
static int graphs_enabled = 1;

/* Modules by PTX address: the generated code's PTX globals live as long as the library. */
enum { MAX_MODULES = 4096 };
struct module_entry {
  const void *ptx;
  CUmodule module; /* NULL until the first kernel of it is looked up */
  const char *name; /* the last function looked up (a module holds one kernel) */
  CUfunction function;
};
static struct module_entry modules[MAX_MODULES];
static size_t num_modules;
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what, CUresult status) {
  const char *text = NULL;
  if (cu.getErrorString)
    cu.getErrorString(status, &text);
  fprintf(stderr, "mfc CUDA runtime: %s failed: %s (%d)\n", what, text ? text : "unknown error",
          status);
  abort();
}

static void check(CUresult status, const char *what) {
  if (status != CUDA_SUCCESS)
    die(what, status);
}

#define LOAD(field, name)                                                              \
  do {                                                                                 \
    void *sym = dlsym(driver, name);                                                   \
    if (!sym) {                                                                        \
      snprintf(error, size, "the CUDA driver lacks %s (too old?)", name);              \
      return 1;                                                                        \
    }                                                                                  \
    memcpy(&cu.field, &sym, sizeof(sym));                                              \
  } while (0)

/* Opens the driver and the first GPU's primary context; 0 on success, else the reason
 * in `error`. Called by the host runtime when it loads the model library. */
__attribute__((visibility("default"))) int mfc_device_init(char *error, size_t size) {
  static void *driver;
  int count = 0;
  CUdevice device;
  CUresult status;
  if (context)
    return 0;
  if (getenv("MFC_CUDA_GRAPHS") && strcmp(getenv("MFC_CUDA_GRAPHS"), "0") == 0)
    graphs_enabled = 0;
  driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    snprintf(error, size, "no CUDA driver (libcuda.so.1: %s)", dlerror());
    return 1;
  }
  LOAD(init, "cuInit");
  LOAD(deviceGetCount, "cuDeviceGetCount");
  LOAD(deviceGet, "cuDeviceGet");
  LOAD(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  LOAD(ctxSetCurrent, "cuCtxSetCurrent");
  LOAD(moduleLoadData, "cuModuleLoadData");
  LOAD(moduleGetFunction, "cuModuleGetFunction");
  LOAD(launchKernel, "cuLaunchKernel");
  LOAD(streamCreate, "cuStreamCreate");
  LOAD(streamSynchronize, "cuStreamSynchronize");
  LOAD(memAllocManaged, "cuMemAllocManaged");
  LOAD(memAlloc, "cuMemAlloc_v2");
  LOAD(memFree, "cuMemFree_v2");
  LOAD(memcpyAsync, "cuMemcpyAsync");
  LOAD(memAllocAsync, "cuMemAllocAsync");
  LOAD(memFreeAsync, "cuMemFreeAsync");
  LOAD(pointerGetAttribute, "cuPointerGetAttribute");
  LOAD(getErrorString, "cuGetErrorString");
  LOAD(memAllocHost, "cuMemAllocHost_v2");
  LOAD(streamBeginCapture, "cuStreamBeginCapture_v2");
  LOAD(streamEndCapture, "cuStreamEndCapture");
  LOAD(graphInstantiate, "cuGraphInstantiateWithFlags");
  LOAD(graphLaunch, "cuGraphLaunch");
  LOAD(graphDestroy, "cuGraphDestroy");
  status = cu.init(0);
  if (status == CUDA_SUCCESS)
    status = cu.deviceGetCount(&count);
  if (status != CUDA_SUCCESS || count == 0) {
    const char *text = NULL;
    cu.getErrorString(status, &text);
    snprintf(error, size, "no CUDA GPU (%s)",
             status != CUDA_SUCCESS ? (text ? text : "cuInit failed") : "no device");
    return 1;
  }
  if ((status = cu.deviceGet(&device, 0)) != CUDA_SUCCESS ||
      (status = cu.primaryCtxRetain(&context, device)) != CUDA_SUCCESS ||
      (status = cu.ctxSetCurrent(context)) != CUDA_SUCCESS ||
      (status = cu.streamCreate(&stream, 0)) != CUDA_SUCCESS) {
    const char *text = NULL;
    cu.getErrorString(status, &text);
    snprintf(error, size, "cannot use the CUDA GPU: %s", text ? text : "unknown error");
    context = NULL;
    return 1;
  }
  return 0;
}

/* The context is current per thread; the runtime may call from any thread. */
static void use_context(void) {
  static __thread CUcontext current;
  if (!context) {
    fprintf(stderr, "mfc CUDA runtime: the model ran before mfc_device_init succeeded\n");
    abort();
  }
  if (current != context) {
    check(cu.ctxSetCurrent(context), "cuCtxSetCurrent");
    current = context;
  }
}

/* Calls replayed as CUDA graphs. The host runtime brackets each call of the model with
 * mfc_device_call_begin (the model and its input shapes) and mfc_device_call_end. With
 * the same model and shapes the generated code makes the same runtime calls in the same
 * order (its control flow depends on shapes only; weights are resident after the first
 * call), so:
 *  - the first call runs as usual and is recorded: the kind and size of each call, and
 *    whether a graph can hold it (no managed memory, which host code reads between
 *    kernels; every copy into host memory after the last kernel);
 *  - the second is captured into a graph on the stream: inputs travel through pinned
 *    staging buffers (the host fills them during the call, the graph copies them in),
 *    results through pinned buffers the host copies out after the graph ran;
 *  - later calls hand the generated code the captured allocations, fill the staging
 *    buffers, and launch the graph at the end: one launch instead of one per kernel.
 * A call that departs from its recording (it cannot, with the same shapes) aborts. */
enum { OP_ALLOC, OP_FREE, OP_LAUNCH, OP_TO_DEVICE, OP_TO_HOST, OP_ON_DEVICE };
struct recorded_op {
  int kind;
  size_t size;      /* bytes of an allocation or copy */
  const void *what; /* the kernel, the device pointer freed, copied to or from */
  void *staging;    /* pinned buffer of a copy to or from host memory */
};
enum { GRAPH_SEEN, GRAPH_UNSUPPORTED, GRAPH_READY };
struct call_graph {
  const void *model;
  int64_t *shape; /* the input dims, all inputs in order */
  size_t shape_size;
  int state;
  CUgraphExec exec;
  struct recorded_op *ops;
  size_t num_ops, capacity;
};
enum { MAX_GRAPHS = 64 };
static struct call_graph graphs[MAX_GRAPHS];
static size_t num_graphs;
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;

enum { CALL_PLAIN, CALL_RECORD, CALL_CAPTURE, CALL_REPLAY };
static __thread struct {
  int mode;
  struct call_graph *graph;
  size_t next;       /* index of the next op in the recording */
  int after_to_host; /* a copy into host memory happened */
  int unsupported;
  void **to_host;    /* this call's destinations of copies into host memory */
  size_t num_to_host, to_host_capacity;
} call;

static void *grow(void *array, size_t *capacity, size_t count, size_t item) {
  if (count < *capacity)
    return array;
  *capacity = *capacity ? 2 * *capacity : 64;
  array = realloc(array, *capacity * item);
  if (!array) {
    fprintf(stderr, "mfc CUDA runtime: out of host memory\n");
    abort();
  }
  return array;
}

static void diverged(const char *what) {
  fprintf(stderr, "mfc CUDA runtime: a call departed from its recorded graph at %s\n", what);
  abort();
}

/* The op this call makes next: appended when recording; checked against the recording
 * (kind and size, and what it touches once captured) when capturing or replaying. */
static struct recorded_op *next_op(int kind, size_t size, const void *what) {
  struct call_graph *g = call.graph;
  struct recorded_op *op;
  if (call.mode == CALL_RECORD) {
    g->ops = grow(g->ops, &g->capacity, g->num_ops, sizeof(*g->ops));
    op = &g->ops[g->num_ops++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->size = size;
    op->what = what;
    if (call.after_to_host && kind != OP_TO_HOST && kind != OP_FREE)
      call.unsupported = 1;
    if (kind == OP_TO_HOST)
      call.after_to_host = 1;
    return op;
  }
  if (call.next >= g->num_ops)
    diverged("its end");
  op = &g->ops[call.next++];
  if (op->kind != kind || op->size != size)
    diverged("an operation of another kind or size");
  if (call.mode == CALL_REPLAY && kind != OP_ALLOC && op->what != what)
    diverged("an operation on other memory");
  return op;
}

static int is_device_pointer(const void *p) {
  unsigned type = 0;
  return cu.pointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                (CUdeviceptr)(uintptr_t)p) == CUDA_SUCCESS &&
         type == CU_MEMORYTYPE_DEVICE;
}

static void *pinned(size_t size) {
  void *p = NULL;
  check(cu.memAllocHost(&p, size), "cuMemAllocHost");
  return p;
}

__attribute__((visibility("default"))) void
mfc_device_call_begin(const void *model, const int64_t *shape, size_t shape_size) {
  struct call_graph *g = NULL;
  size_t i;
  pthread_mutex_lock(&call_lock);
  use_context();
  for (i = 0; i < num_graphs && !g; ++i)
    if (graphs[i].model == model && graphs[i].shape_size == shape_size &&
        memcmp(graphs[i].shape, shape, shape_size * sizeof(int64_t)) == 0)
      g = &graphs[i];
  call.next = 0;
  call.after_to_host = call.unsupported = 0;
  call.num_to_host = 0;
  call.mode = CALL_PLAIN;
  call.graph = NULL;
  if (!graphs_enabled)
    return;
  if (!g) {
    if (num_graphs == MAX_GRAPHS || managed_in_use)
      return;
    g = &graphs[num_graphs++];
    memset(g, 0, sizeof(*g));
    g->model = model;
    g->shape = malloc((shape_size ? shape_size : 1) * sizeof(int64_t));
    if (!g->shape) {
      --num_graphs;
      return;
    }
    memcpy(g->shape, shape, shape_size * sizeof(int64_t));
    g->shape_size = shape_size;
    call.mode = CALL_RECORD;
  } else if (g->state == GRAPH_SEEN && !managed_in_use) {
    call.mode = CALL_CAPTURE;
    check(cu.streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_RELAXED),
          "cuStreamBeginCapture");
  } else if (g->state == GRAPH_READY) {
    call.mode = CALL_REPLAY;
  }
  call.graph = g;
}

__attribute__((visibility("default"))) void mfc_device_call_end(void) {
  struct call_graph *g = call.graph;
  size_t i, to_host = 0;
  if (call.mode == CALL_RECORD)
    g->state = call.unsupported || managed_in_use ? GRAPH_UNSUPPORTED : GRAPH_SEEN;
  if (call.mode == CALL_CAPTURE) {
    CUgraph graph;
    check(cu.streamEndCapture(stream, &graph), "cuStreamEndCapture");
    check(cu.graphInstantiate(&g->exec, graph, 0), "cuGraphInstantiate");
    check(cu.graphDestroy(graph), "cuGraphDestroy");
    g->state = GRAPH_READY;
  }
  if (call.mode == CALL_CAPTURE || call.mode == CALL_REPLAY) {
    if (call.next != g->num_ops)
      diverged("its end");
    check(cu.graphLaunch(g->exec, stream), "cuGraphLaunch");
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
    for (i = 0; i < g->num_ops; ++i)
      if (g->ops[i].kind == OP_TO_HOST)
        memcpy(call.to_host[to_host++], g->ops[i].staging, g->ops[i].size);
  }
  call.mode = CALL_PLAIN;
  call.graph = NULL;
  pthread_mutex_unlock(&call_lock);
}

/* What mgpuMemcpy does in a captured or replayed call. */
static void graph_copy(void *dst, void *src, size_t size) {
  struct recorded_op *op;
  if (call.next >= call.graph->num_ops)
    diverged("its end");
  switch (call.graph->ops[call.next].kind) {
  case OP_TO_DEVICE:
    op = next_op(OP_TO_DEVICE, size, dst);
    if (call.mode == CALL_CAPTURE) {
      op->what = dst;
      op->staging = pinned(size);
    }
    memcpy(op->staging, src, size);
    if (call.mode == CALL_CAPTURE)
      check(cu.memcpyAsync((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)op->staging,
                           size, stream),
            "cuMemcpyAsync");
    break;
  case OP_TO_HOST:
    op = next_op(OP_TO_HOST, size, src);
    if (call.mode == CALL_CAPTURE) {
      op->what = src;
      op->staging = pinned(size);
      check(cu.memcpyAsync((CUdeviceptr)(uintptr_t)op->staging, (CUdeviceptr)(uintptr_t)src,
                           size, stream),
            "cuMemcpyAsync");
    }
    call.to_host = grow(call.to_host, &call.to_host_capacity, call.num_to_host, sizeof(void *));
    call.to_host[call.num_to_host++] = dst;
    break;
  default:
    op = next_op(OP_ON_DEVICE, size, dst);
    if (call.mode == CALL_CAPTURE) {
      op->what = dst;
      check(cu.memcpyAsync((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, size,
                           stream),
            "cuMemcpyAsync");
    }
  }
}

/* Module handles are entries of `modules`: the generated code loads them from global
 * constructors, when the library is opened and before mfc_device_init has run, so the
 * driver compiles the PTX later, at the first mgpuModuleGetFunction. */
void *mgpuModuleLoadJIT(void *ptx, int opt_level) {
  void *handle = NULL;
  size_t i;
  (void)opt_level;
  pthread_mutex_lock(&modules_lock);
  for (i = 0; i < num_modules && !handle; ++i)
    if (modules[i].ptx == ptx)
      handle = &modules[i];
  if (!handle) {
    if (num_modules == MAX_MODULES) {
      fprintf(stderr, "mfc CUDA runtime: more than %d kernel modules\n", MAX_MODULES);
      abort();
    }
    modules[num_modules].ptx = ptx;
    handle = &modules[num_modules++];
  }
  pthread_mutex_unlock(&modules_lock);
  return handle;
}

void *mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  return mgpuModuleLoadJIT(data, 0);
}

void mgpuModuleUnload(void *module) { (void)module; /* cached until the process ends */ }

void *mgpuModuleGetFunction(void *handle, const char *name) {
  struct module_entry *entry = (struct module_entry *)handle;
  CUfunction function;
  use_context();
  pthread_mutex_lock(&modules_lock);
  if (!entry->module)
    check(cu.moduleLoadData(&entry->module, entry->ptx), "cuModuleLoadData (PTX JIT)");
  /* Every launch asks again, with the same name string. */
  if (entry->name != name) {
    check(cu.moduleGetFunction(&entry->function, entry->module, name), "cuModuleGetFunction");
    entry->name = name;
  }
  function = entry->function;
  pthread_mutex_unlock(&modules_lock);
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t grid_x, intptr_t grid_y, intptr_t grid_z,
                      intptr_t block_x, intptr_t block_y, intptr_t block_z,
                      int32_t shared_bytes, void *launch_stream, void **params, void **extra,
                      size_t num_params) {
  (void)num_params;
  use_context();
  if (call.mode != CALL_PLAIN) {
    struct recorded_op *op = next_op(OP_LAUNCH, 0, function);
    if (call.mode == CALL_REPLAY)
      return;
    op->what = function;
  }
  check(cu.launchKernel((CUfunction)function, (unsigned)grid_x, (unsigned)grid_y,
                        (unsigned)grid_z, (unsigned)block_x, (unsigned)block_y,
                        (unsigned)block_z, (unsigned)shared_bytes, (CUstream)launch_stream,
                        params, extra),
        "cuLaunchKernel");
}

void *mgpuStreamCreate(void) {
  use_context();
  return stream;
}

void mgpuStreamDestroy(void *s) { (void)s; }

void mgpuStreamSynchronize(void *s) {
  if (managed_in_use)
    check(cu.streamSynchronize((CUstream)s), "cuStreamSynchronize");
}

void *mgpuMemAlloc(uint64_t size, void *s, int8_t host_shared) {
  CUdeviceptr ptr = 0;
  (void)s;
  if (size == 0)
    return NULL;
  use_context();
  if (call.mode == CALL_REPLAY)
    return (void *)next_op(OP_ALLOC, size, NULL)->what;
  if (host_shared) {
    /* Host code may read it after kernels wrote it: from now on, wait when asked. */
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
    managed_in_use = 1;
    check(cu.memAllocManaged(&ptr, size, CU_MEM_ATTACH_GLOBAL), "cuMemAllocManaged");
  } else {
    check(cu.memAllocAsync(&ptr, size, stream), "cuMemAllocAsync");
  }
  if (call.mode != CALL_PLAIN)
    next_op(OP_ALLOC, size, NULL)->what = (void *)(uintptr_t)ptr;
  return (void *)(uintptr_t)ptr;
}

void mgpuMemFree(void *p, void *s) {
  CUdeviceptr ptr = (CUdeviceptr)(uintptr_t)p;
  unsigned managed = 0;
  (void)s;
  if (!p)
    return;
  use_context();
  if (call.mode != CALL_PLAIN) {
    struct recorded_op *op = next_op(OP_FREE, 0, p);
    if (call.mode == CALL_REPLAY)
      return;
    op->what = p;
    if (call.mode == CALL_CAPTURE) { /* graph memory: its VA is no allocation to query */
      check(cu.memFreeAsync(ptr, stream), "cuMemFreeAsync");
      return;
    }
  }
  check(cu.pointerGetAttribute(&managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, ptr),
        "cuPointerGetAttribute");
  if (managed) {
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
    check(cu.memFree(ptr), "cuMemFree");
  } else {
    check(cu.memFreeAsync(ptr, stream), "cuMemFreeAsync");
  }
}

/* Any direction (unified addressing tells host from device pointers), in stream order;
 * a copy into host memory is waited for, since the host reads it next. */
void mgpuMemcpy(void *dst, void *src, size_t size, void *s) {
  unsigned type = 0;
  (void)s;
  if (size == 0)
    return;
  use_context();
  if (call.mode == CALL_CAPTURE || call.mode == CALL_REPLAY) {
    graph_copy(dst, src, size);
    return;
  }
  if (call.mode == CALL_RECORD) {
    int from_device = is_device_pointer(src), to_device = is_device_pointer(dst);
    if (!from_device && !to_device)
      call.unsupported = 1;
    next_op(from_device ? (to_device ? OP_ON_DEVICE : OP_TO_HOST) : OP_TO_DEVICE, size, NULL);
  }
  check(cu.memcpyAsync((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, size, stream),
        "cuMemcpyAsync");
  /* Pageable host memory is no CUDA pointer: the query fails for it. */
  if (cu.pointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                             (CUdeviceptr)(uintptr_t)dst) != CUDA_SUCCESS ||
      type != CU_MEMORYTYPE_DEVICE)
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
}

/* Device copies of the model's constant buffers (weights), made at first use and kept
 * for the life of the process: the generated code asks for each weight on every call
 * (`mfcCudaResident_<element type>_<rank>`, through MLIR's C interface for memrefs,
 * whose descriptor is {allocated, aligned, offset, sizes[rank], strides[rank]}). */
enum { MAX_RESIDENT = 16384 };
static struct {
  const void *host;
  CUdeviceptr device;
} resident[MAX_RESIDENT];
static size_t num_resident;
static pthread_mutex_t resident_lock = PTHREAD_MUTEX_INITIALIZER;

static void *resident_copy(const void *host, int64_t bytes) {
  CUdeviceptr device = 0;
  size_t i;
  use_context();
  pthread_mutex_lock(&resident_lock);
  for (i = 0; i < num_resident && !device; ++i)
    if (resident[i].host == host)
      device = resident[i].device;
  if (!device && bytes > 0) {
    if (call.mode == CALL_CAPTURE)
      diverged("a weight the recorded call did not use");
    if (num_resident == MAX_RESIDENT) {
      fprintf(stderr, "mfc CUDA runtime: more than %d weights\n", MAX_RESIDENT);
      abort();
    }
    check(cu.memAlloc(&device, (size_t)bytes), "cuMemAlloc");
    check(cu.memcpyAsync(device, (CUdeviceptr)(uintptr_t)host, (size_t)bytes, stream),
          "cuMemcpyAsync");
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
    resident[num_resident].host = host;
    resident[num_resident++].device = device;
  }
  pthread_mutex_unlock(&resident_lock);
  return (void *)(uintptr_t)device;
}

/* A rank-0 descriptor has no sizes or strides (C has no empty arrays). */
struct descriptor0 {
  char *allocated, *aligned;
  int64_t offset;
};
#define MFC_DESCRIPTOR(rank)                                                           \
  struct descriptor##rank {                                                            \
    char *allocated, *aligned;                                                         \
    int64_t offset, sizes_and_strides[2 * (rank)];                                     \
  };
MFC_DESCRIPTOR(1)
MFC_DESCRIPTOR(2)
MFC_DESCRIPTOR(3)
MFC_DESCRIPTOR(4)

#define MFC_RESIDENT(rank)                                                             \
  static void resident##rank(struct descriptor##rank *out,                             \
                             const struct descriptor##rank *in, int64_t bytes) {       \
    *out = *in;                                                                        \
    out->allocated = out->aligned = (char *)resident_copy(in->aligned, bytes);         \
  }
MFC_RESIDENT(0)
MFC_RESIDENT(1)
MFC_RESIDENT(2)
MFC_RESIDENT(3)
MFC_RESIDENT(4)

#define MFC_RESIDENT_ENTRY(type, rank)                                                 \
  void _mlir_ciface_mfcCudaResident_##type##_##rank(struct descriptor##rank *out,      \
                                                    struct descriptor##rank *in,        \
                                                    int64_t bytes) {                   \
    resident##rank(out, in, bytes);                                                    \
  }
#define MFC_RESIDENT_RANKS(type)                                                       \
  MFC_RESIDENT_ENTRY(type, 0)                                                          \
  MFC_RESIDENT_ENTRY(type, 1)                                                          \
  MFC_RESIDENT_ENTRY(type, 2)                                                          \
  MFC_RESIDENT_ENTRY(type, 3)                                                          \
  MFC_RESIDENT_ENTRY(type, 4)
MFC_RESIDENT_RANKS(i8)
MFC_RESIDENT_RANKS(i16)
MFC_RESIDENT_RANKS(i32)
MFC_RESIDENT_RANKS(i64)
MFC_RESIDENT_RANKS(f16)
MFC_RESIDENT_RANKS(bf16)
MFC_RESIDENT_RANKS(f32)
MFC_RESIDENT_RANKS(f64)
