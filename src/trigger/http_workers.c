/*
 * The executor worker pool: a bounded FIFO of exchanges and the threads
 * that run them. Guest code runs here and never on an I/O loop, so a slow
 * or looping guest holds one worker, not a loop. When every worker is busy
 * requests wait in the queue (at most queue_max; the loop answers 503
 * beyond that); their deadline keeps running while they wait.
 *
 * Idle workers sleep on a semaphore counting the queued exchanges, not on a
 * condition variable: glibc re-takes a condition variable's mutex in its
 * "contended" state after a wait, so every request cost the worker a futex
 * wake on unlocking it, and the loop's signal another when it raced the
 * worker for the lock. With the semaphore the mutex guards the list only,
 * and a request costs one futex wake (the loop's post, only when a worker
 * sleeps) and one wait (the worker going back to sleep).
 *
 * Speculative runs (executors with `speculate`): a loop first runs
 * handle() itself (workers_run_inline), which saves both hand-offs, the
 * worker's wake-up and the loop's, when the handler answers quickly. A
 * watchdog thread expires a run that has used more than SPEC_BUDGET_NS of
 * the loop's CPU: the executor is interrupted and defers, and the request
 * goes to the queue like any other. So a slow or looping handler holds the
 * loop's other requests up for at most about budget + tick (2 ms of CPU). The watchdog
 * ticks only while speculation happened in the last IDLE_TICKS ticks and
 * otherwise sleeps until a loop starts one.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"

#include <errno.h>
#include <semaphore.h>
#include <time.h>

enum {
    SPEC_TICK_NS = 1000 * 1000,   /* the watchdog's period */
    SPEC_BUDGET_NS = 1000 * 1000, /* CPU time after which a speculative run is expired */
    IDLE_TICKS = 100,             /* ticks without speculation before it sleeps */
};

/* One per loop: the speculative run in progress, if any. */
struct spec_slot {
    pthread_mutex_t mu;
    struct http_exchange *ex; /* NULL: none */
    uint64_t run;             /* which run: counts up */
    clockid_t cpu;            /* the loop thread's CPU-time clock */
    /* the watchdog's own: the run it saw last, and the loop's CPU time then */
    uint64_t seen_run;
    int64_t seen_cpu_ns;
};

struct http_workers {
    pthread_mutex_t mu;
    sem_t ready; /* one count per queued exchange, and one per thread when closing */
    struct http_exchange *head, *tail; /* FIFO through ->next */
    uint32_t count, max;
    bool closing;
    pthread_t *threads;
    uint32_t nthreads;
    /* speculation */
    struct spec_slot *slots;
    uint32_t nslots;
    pthread_t watchdog;
    bool watchdog_started;
    sem_t watchdog_wake;       /* posted when it sleeps and a run starts, or on close */
    atomic_bool watchdog_idle; /* it sleeps (or is about to) on watchdog_wake */
    atomic_bool watchdog_stop;
    atomic_uint_fast64_t spec_runs; /* speculative runs started, ever */
};

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Expires the slot's run once the loop spent SPEC_BUDGET_NS of CPU on it
 * since the watchdog first saw it: CPU time, not wall time, so a loop that
 * the machine's other work preempts is not taken for a slow guest. The
 * loop pays nothing per run for this; the watchdog reads the clock only
 * when a run is in progress at its tick. */
static void watch_slot(struct spec_slot *sl)
{
    pthread_mutex_lock(&sl->mu);
    if (sl->ex != NULL) {
        int64_t cpu = clock_ns(sl->cpu);
        if (sl->run != sl->seen_run) {
            sl->seen_run = sl->run;
            sl->seen_cpu_ns = cpu;
        } else if (cpu - sl->seen_cpu_ns >= SPEC_BUDGET_NS) {
            exchange_expire_inline(sl->ex);
        }
    }
    pthread_mutex_unlock(&sl->mu);
}

static void *watchdog_main(void *arg)
{
    struct http_workers *w = arg;
    uint64_t seen = atomic_load(&w->spec_runs);
    uint32_t quiet = 0;
    while (!atomic_load(&w->watchdog_stop)) {
        struct timespec tick = {0, SPEC_TICK_NS};
        nanosleep(&tick, NULL);
        for (uint32_t i = 0; i < w->nslots; i++)
            watch_slot(&w->slots[i]);
        uint64_t runs = atomic_load(&w->spec_runs);
        quiet = runs == seen ? quiet + 1 : 0;
        seen = runs;
        if (quiet < IDLE_TICKS)
            continue;
        /* Sleep until a loop starts a run. A run that started after the
         * count was read either sees idle set (and posts) or is seen here. */
        atomic_store(&w->watchdog_idle, true);
        if (atomic_load(&w->spec_runs) != seen && atomic_exchange(&w->watchdog_idle, false)) {
            quiet = 0;
            continue;
        }
        while (sem_wait(&w->watchdog_wake) != 0 && errno == EINTR)
            ;
        quiet = 0;
    }
    return NULL;
}

bool workers_run_inline(struct http_workers *w, uint32_t loop_index, struct http_exchange *ex)
{
    if (!w->watchdog_started || loop_index >= w->nslots)
        return false;
    struct spec_slot *sl = &w->slots[loop_index];
    pthread_mutex_lock(&sl->mu);
    sl->ex = ex;
    sl->run++;
    if (pthread_getcpuclockid(pthread_self(), &sl->cpu) != 0)
        sl->cpu = CLOCK_MONOTONIC;
    pthread_mutex_unlock(&sl->mu);
    atomic_fetch_add(&w->spec_runs, 1);
    if (atomic_load(&w->watchdog_idle) && atomic_exchange(&w->watchdog_idle, false))
        sem_post(&w->watchdog_wake);
    bool done = exchange_run_inline(ex);
    pthread_mutex_lock(&sl->mu);
    sl->ex = NULL;
    pthread_mutex_unlock(&sl->mu);
    return done;
}

/* The queue's oldest exchange, unlinked, or NULL (mu held). */
static struct http_exchange *dequeue_locked(struct http_workers *w)
{
    struct http_exchange *ex = w->head;
    if (ex == NULL)
        return NULL;
    w->head = ex->next;
    if (w->head == NULL)
        w->tail = NULL;
    w->count--;
    return ex;
}

static void *worker_main(void *arg)
{
    struct http_workers *w = arg;
    for (;;) {
        while (sem_wait(&w->ready) != 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&w->mu);
        struct http_exchange *ex = dequeue_locked(w);
        pthread_mutex_unlock(&w->mu);
        if (ex == NULL) /* closing and drained */
            return NULL;
        if (http_exchange_cancelled(ex))
            exchange_skip(ex);
        else
            exchange_run(ex);
    }
}

struct http_exchange *workers_take(struct http_workers *w)
{
    pthread_mutex_lock(&w->mu);
    struct http_exchange *ex = dequeue_locked(w);
    pthread_mutex_unlock(&w->mu);
    if (ex != NULL)
        while (sem_trywait(&w->ready) != 0 && errno == EINTR)
            ; /* its count (no thread waits on it) */
    return ex;
}

int workers_push(struct http_workers *w, struct http_exchange *ex)
{
    pthread_mutex_lock(&w->mu);
    if (w->count >= w->max || w->closing) {
        pthread_mutex_unlock(&w->mu);
        return SPRY_EBUSY;
    }
    ex->next = NULL;
    if (w->tail != NULL)
        w->tail->next = ex;
    else
        w->head = ex;
    w->tail = ex;
    w->count++;
    pthread_mutex_unlock(&w->mu);
    sem_post(&w->ready);
    return 0;
}

void workers_destroy(struct http_workers *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_mutex_unlock(&w->mu);
    /* Each thread ends on the first count that finds the queue empty, so
     * what was queued before still runs. */
    for (uint32_t i = 0; i < w->nthreads; i++)
        sem_post(&w->ready);
    for (uint32_t i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    if (w->watchdog_started) {
        atomic_store(&w->watchdog_stop, true);
        sem_post(&w->watchdog_wake);
        pthread_join(w->watchdog, NULL);
    }
    for (uint32_t i = 0; i < w->nslots; i++)
        pthread_mutex_destroy(&w->slots[i].mu);
    pthread_mutex_destroy(&w->mu);
    sem_destroy(&w->ready);
    sem_destroy(&w->watchdog_wake);
    spry_free(w->slots);
    spry_free(w->threads);
    spry_free(w);
}

int workers_create(uint32_t nthreads, uint32_t queue_max, uint32_t nloops,
                   struct http_workers **out)
{
    struct http_workers *w = spry_calloc(1, sizeof(*w));
    if (w == NULL)
        return SPRY_ENOMEM;
    w->threads = spry_calloc(nthreads, sizeof(*w->threads));
    w->slots = spry_calloc(nloops, sizeof(*w->slots));
    if (w->threads == NULL || w->slots == NULL) {
        spry_free(w->slots);
        spry_free(w->threads);
        spry_free(w);
        return SPRY_ENOMEM;
    }
    if (sem_init(&w->ready, 0, 0) != 0) {
        spry_free(w->slots);
        spry_free(w->threads);
        spry_free(w);
        return SPRY_EIO;
    }
    sem_init(&w->watchdog_wake, 0, 0); /* cannot fail: pshared 0, value 0 */
    pthread_mutex_init(&w->mu, NULL);
    for (uint32_t i = 0; i < nloops; i++)
        pthread_mutex_init(&w->slots[i].mu, NULL);
    w->nslots = nloops;
    w->max = queue_max;
    /* Without a watchdog nothing could stop a slow speculative run, so
     * none is started (workers_run_inline declines). */
    w->watchdog_started = nloops > 0 && pthread_create(&w->watchdog, NULL, watchdog_main, w) == 0;
    for (uint32_t i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            workers_destroy(w);
            return SPRY_EIO;
        }
        w->nthreads = i + 1;
    }
    *out = w;
    return 0;
}
