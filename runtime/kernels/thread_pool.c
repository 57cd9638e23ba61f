/*===- thread_pool.c - the kernels' persistent worker threads -------------===*
 *
 * See thread_pool.h. A job is published by bumping `generation` (release) after its
 * fields are written; workers that see the new generation (acquire) take chunks of the
 * range from `next` until none is left and count themselves out of `pending`; the
 * caller takes chunks too, then spins until `pending` is 0. Chunks rather than one
 * slice per thread: a worker starts a job later than the caller (it has to see the new
 * generation), and with equal slices the caller waited for it. A worker that has seen
 * no job for MFC_SPIN_US sleeps on a condition variable; the caller broadcasts under
 * the same lock after bumping the generation, so that no wake-up is lost. The
 * library's destructor stops and joins the workers before dlclose() unmaps their code;
 * a forked child runs on its one thread.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

enum { kMaxThreads = 256 };

static struct {
  pthread_once_t once;
  int threads; /* the caller and the workers */
  int workers;
  int requested; /* threads to start, from mfc_kernel_set_threads before the first use */
  int limit;     /* threads products may use (0: all) */
  pthread_t worker[kMaxThreads];
  long spin_ns;
  pthread_mutex_t busy; /* held by the caller whose job the pool runs */
  /* The job: written before `generation` is bumped. */
  mfc_slice_fn slice;
  void *context;
  int64_t n;
  int64_t chunk;
  int64_t next; /* the first index no thread has taken */
  int active; /* threads taking chunks: the caller and workers 1 .. active - 1 */
  uint64_t generation;
  int pending;
  int stop;
  pthread_mutex_t sleep_lock;
  pthread_cond_t wake;
} pool = {.once = PTHREAD_ONCE_INIT,
          .busy = PTHREAD_MUTEX_INITIALIZER,
          .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER};

static long env_long(const char *name, long fallback) {
  const char *text = getenv(name);
  char *end;
  long value;
  if (!text || !*text)
    return fallback;
  value = strtol(text, &end, 10);
  return *end == '\0' && value >= 0 ? value : fallback;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Chunks per thread of a job: enough that a late start evens out, few enough that
   taking one (an atomic add on a shared line) costs little beside it. */
enum { kChunksPerThread = 4 };

static void run_chunks(void) {
  int64_t n = pool.n, chunk = pool.chunk, begin;
  while ((begin = __atomic_fetch_add(&pool.next, chunk, __ATOMIC_RELAXED)) < n)
    pool.slice(pool.context, begin, begin + chunk < n ? begin + chunk : n);
}

/* The generation after `seen`, or `seen` itself once the pool stops. */
static uint64_t wait_for_job(uint64_t seen) {
  int64_t deadline = now_ns() + pool.spin_ns;
  uint64_t generation;
  unsigned spins;
  for (spins = 1;; ++spins) {
    generation = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE);
    if (generation != seen || __atomic_load_n(&pool.stop, __ATOMIC_ACQUIRE))
      return generation;
    cpu_relax();
    if (spins % 1024 == 0 && now_ns() > deadline)
      break;
  }
  pthread_mutex_lock(&pool.sleep_lock);
  while ((generation = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE)) == seen &&
         !__atomic_load_n(&pool.stop, __ATOMIC_ACQUIRE))
    pthread_cond_wait(&pool.wake, &pool.sleep_lock);
  pthread_mutex_unlock(&pool.sleep_lock);
  return generation;
}

static void *worker_main(void *arg) {
  int index = (int)(intptr_t)arg;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_job(seen);
    if (__atomic_load_n(&pool.stop, __ATOMIC_ACQUIRE))
      return NULL;
    if (index >= pool.active)
      continue;
    run_chunks();
    __atomic_sub_fetch(&pool.pending, 1, __ATOMIC_ACQ_REL);
  }
}

/* A child of fork() has none of the workers: it runs everything on its one thread. */
static void forget_workers(void) {
  pool.workers = 0;
  pool.threads = 1;
  pool.limit = 0;
}

/* Worker i on the (i+1)-th CPU of `allowed`, modulo their number (the caller's thread
   keeps its affinity: it belongs to the application; most often it runs on the first). */
static void pin_workers(const cpu_set_t *allowed) {
  int cpus[CPU_SETSIZE], count = 0, cpu, i;
  for (cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, allowed))
      cpus[count++] = cpu;
  for (i = 0; i < pool.workers && count > 0; ++i) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[(i + 1) % count], &one);
    pthread_setaffinity_np(pool.worker[i], sizeof one, &one);
  }
}

static void start_pool(void) {
  cpu_set_t allowed;
  int known = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  long threads = known ? CPU_COUNT(&allowed) : 1;
  threads = env_long("OMP_NUM_THREADS", threads);
  threads = env_long("MFC_NUM_THREADS", threads);
  if (pool.requested > 0)
    threads = pool.requested;
  if (threads < 1)
    threads = 1;
  if (threads > kMaxThreads)
    threads = kMaxThreads;
  pool.spin_ns = env_long("MFC_SPIN_US", 2000) * 1000;
  while (pool.workers + 1 < threads &&
         pthread_create(&pool.worker[pool.workers], NULL, worker_main,
                        (void *)(intptr_t)(pool.workers + 1)) == 0)
    ++pool.workers;
  if (known && env_long("MFC_PIN_THREADS", 0))
    pin_workers(&allowed);
  pool.threads = pool.workers + 1;
  pthread_atfork(NULL, NULL, forget_workers);
}

int mfc_kernel_set_threads(int threads) {
  pool.requested = threads < 1 ? 1 : threads;
  pthread_once(&pool.once, start_pool);
  pool.limit = pool.requested < pool.threads ? pool.requested : pool.threads;
  return pool.limit;
}

void mfc_parallel_for(int64_t n, mfc_slice_fn slice, void *context) {
  pthread_once(&pool.once, start_pool);
  int active = pool.limit ? pool.limit : pool.threads;
  if (active == 1 || n < active || pthread_mutex_trylock(&pool.busy) != 0) {
    slice(context, 0, n);
    return;
  }
  pool.slice = slice;
  pool.context = context;
  pool.n = n;
  pool.chunk = (n + active * kChunksPerThread - 1) / (active * kChunksPerThread);
  pool.next = 0;
  pool.active = active;
  __atomic_store_n(&pool.pending, active - 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&pool.generation, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&pool.sleep_lock);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.sleep_lock);
  run_chunks();
  while (__atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE) != 0)
    cpu_relax();
  pthread_mutex_unlock(&pool.busy);
}

/* Before the library is unmapped (dlclose, exit): no worker may still run its code. */
__attribute__((destructor)) static void stop_pool(void) {
  int i;
  if (pool.workers == 0)
    return;
  __atomic_store_n(&pool.stop, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&pool.sleep_lock);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.sleep_lock);
  for (i = 0; i < pool.workers; ++i)
    pthread_join(pool.worker[i], NULL);
  pool.workers = 0;
}
