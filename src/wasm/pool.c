/*
 * The instance pool: slots, their free lists, and the queue of callers
 * waiting for one (see spry/pool.h for the contract, pool.h for locking).
 *
 * Choosing a slot for prepared module P: a free slot that already holds
 * P's instance (most recently used first: its pages are warmest), else the
 * least recently used free slot, whatever it holds. Releasing hands the
 * slot straight to the first queued caller, if any, so waiting is first
 * come, first served.
 */
#include "wasm/pool.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "wasm/runtime.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum {
    DEFAULT_SLOTS = 64,
    DEFAULT_WAITERS = 1024,
    DEFAULT_WAIT_MS = 10000,
    MAX_SLOTS = 1 << 16,
};

/* Written pages kept resident per slot (image.h; docs/benchmarks.md,
 * "Instance pool"): rewriting 1 MiB in place costs ~12 us, faulting it back
 * in ~2.3 ms on the measured machines. */
#define DEFAULT_KEEP_RESIDENT ((uint64_t)1 << 20)

void spry_pool_config_init(struct spry_pool_config *config)
{
    memset(config, 0, sizeof *config);
    config->slots = DEFAULT_SLOTS;
    config->max_memory_bytes = (uint64_t)WASM_MAX_PAGES * WASM_PAGE_SIZE;
    config->keep_resident_bytes = DEFAULT_KEEP_RESIDENT;
    config->max_waiters = DEFAULT_WAITERS;
    config->wait_timeout_ms = DEFAULT_WAIT_MS;
}

/* ---- free lists (pool->lock held) ---------------------------------------- */

static void lru_remove(struct spry_pool *pool, struct pool_slot *s)
{
    if (s->lru_prev != NULL)
        s->lru_prev->lru_next = s->lru_next;
    else
        pool->lru_head = s->lru_next;
    if (s->lru_next != NULL)
        s->lru_next->lru_prev = s->lru_prev;
    else
        pool->lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
}

static void lru_push_tail(struct spry_pool *pool, struct pool_slot *s)
{
    s->lru_next = NULL;
    s->lru_prev = pool->lru_tail;
    if (pool->lru_tail != NULL)
        pool->lru_tail->lru_next = s;
    else
        pool->lru_head = s;
    pool->lru_tail = s;
}

static void lru_push_head(struct spry_pool *pool, struct pool_slot *s)
{
    s->lru_prev = NULL;
    s->lru_next = pool->lru_head;
    if (pool->lru_head != NULL)
        pool->lru_head->lru_prev = s;
    else
        pool->lru_tail = s;
    pool->lru_head = s;
}

static void own_remove(struct pool_slot *s)
{
    if (s->owner == NULL)
        return;
    if (s->own_prev != NULL)
        s->own_prev->own_next = s->own_next;
    else if (s->owner->free_head == s)
        s->owner->free_head = s->own_next;
    if (s->own_next != NULL)
        s->own_next->own_prev = s->own_prev;
    s->own_prev = s->own_next = NULL;
}

static void own_push(struct pool_slot *s)
{
    if (s->owner == NULL)
        return;
    s->own_prev = NULL;
    s->own_next = s->owner->free_head;
    if (s->own_next != NULL)
        s->own_next->own_prev = s;
    s->owner->free_head = s;
}

/* Takes a free slot for `prepared`, or NULL when every slot is in use. */
static struct pool_slot *take_free(struct spry_pool *pool, struct spry_prepared *prepared)
{
    struct pool_slot *s = prepared->free_head != NULL ? prepared->free_head : pool->lru_head;
    if (s == NULL)
        return NULL;
    lru_remove(pool, s);
    own_remove(s);
    s->in_use = true;
    pool->in_use++;
    return s;
}

/* A slot becomes free: to the first waiter, or onto the free lists. */
static void put_free(struct spry_pool *pool, struct pool_slot *s)
{
    struct pool_waiter *w = pool->wait_head;
    if (w != NULL) {
        pool->wait_head = w->next;
        if (pool->wait_head == NULL)
            pool->wait_tail = NULL;
        pool->waiting--;
        w->slot = s; /* stays in use, now the waiter's */
        pthread_cond_signal(&w->wake);
        return;
    }
    s->in_use = false;
    pool->in_use--;
    if (s->owner != NULL) {
        lru_push_tail(pool, s);
        own_push(s);
    } else {
        lru_push_head(pool, s); /* empty slots are the cheapest to take */
    }
}

static void waiter_remove(struct spry_pool *pool, struct pool_waiter *w)
{
    struct pool_waiter **p = &pool->wait_head, *prev = NULL;
    while (*p != NULL && *p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = w->next;
    if (pool->wait_tail == w)
        pool->wait_tail = prev;
    pool->waiting--;
}

/* ---- pool ------------------------------------------------------------------ */

int spry_pool_create(const struct spry_pool_config *config, struct spry_pool **out,
                     struct spry_report *report)
{
    struct spry_pool_config cfg;
    if (config != NULL)
        cfg = *config;
    else
        spry_pool_config_init(&cfg);
    uint64_t cap = (uint64_t)WASM_MAX_PAGES * WASM_PAGE_SIZE;
    if (cfg.max_memory_bytes == 0 || cfg.max_memory_bytes > cap)
        cfg.max_memory_bytes = cap;
    if (cfg.slots == 0 || cfg.slots > MAX_SLOTS)
        return spry_report_set(report, SPRY_EINVAL, "pool: %u slots requested (1 to %d)", cfg.slots,
                               MAX_SLOTS);
    struct spry_pool *pool = spry_calloc(1, sizeof *pool);
    if (pool == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "pool: out of memory");
    pool->config = cfg;
    pool->limits.max_memory_bytes = cfg.max_memory_bytes;
    pool->limits.max_call_depth = cfg.max_call_depth;
    pool->limits.max_stack_slots = cfg.max_stack_slots;
    pool->limits.max_table_elems = cfg.max_table_elems;
    pool->slot_bytes = memory_reservation_size(cfg.max_memory_bytes / WASM_PAGE_SIZE);
    if (spry_mul_overflow(pool->slot_bytes, cfg.slots, &pool->region_len)) {
        spry_free(pool);
        return spry_report_set(report, SPRY_ETOOBIG, "pool: %u slots overflow the address space",
                               cfg.slots);
    }
    void *region =
        mmap(NULL, pool->region_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    pool->slots = spry_calloc(cfg.slots, sizeof *pool->slots);
    if (region == MAP_FAILED || pool->slots == NULL) {
        int err = errno;
        size_t slot_bytes = pool->slot_bytes;
        if (region != MAP_FAILED)
            munmap(region, pool->region_len);
        spry_free(pool->slots);
        spry_free(pool);
        return spry_report_set(report, SPRY_ENOMEM,
                               "pool: cannot reserve %u slots of %zu bytes of address space: %s",
                               cfg.slots, slot_bytes, strerror(err));
    }
    pool->region = region;
    pthread_mutex_init(&pool->lock, NULL);
    for (uint32_t i = 0; i < cfg.slots; i++) {
        struct pool_slot *s = &pool->slots[i];
        s->pool = pool;
        s->mem.base = pool->region + (size_t)i * pool->slot_bytes;
        s->mem.reserved = pool->slot_bytes;
        lru_push_tail(pool, s);
    }
    *out = pool;
    return 0;
}

void spry_pool_destroy(struct spry_pool *pool)
{
    if (pool == NULL)
        return;
    SPRY_ASSERT(pool->nprepared == 0 && pool->in_use == 0);
    for (uint32_t i = 0; i < pool->config.slots; i++) {
        struct pool_slot *s = &pool->slots[i];
        spry_store_destroy(s->store);
        slot_memory_fini(&s->mem);
        for (uint32_t k = 0; k < s->nextra; k++) {
            slot_memory_fini(&s->extra[k]);
            munmap(s->extra[k].base, s->extra[k].reserved);
        }
        spry_free(s->extra);
    }
    munmap(pool->region, pool->region_len);
    pthread_mutex_destroy(&pool->lock);
    spry_free(pool->slots);
    spry_free(pool);
}

void spry_pool_stats(struct spry_pool *pool, struct spry_pool_stats *out)
{
    pthread_mutex_lock(&pool->lock);
    out->slots = pool->config.slots;
    out->in_use = pool->in_use;
    out->waiting = pool->waiting;
    pthread_mutex_unlock(&pool->lock);
    out->acquired = atomic_load(&pool->acquired);
    out->reused = atomic_load(&pool->reused);
    out->instantiated = atomic_load(&pool->instantiated);
    out->rejected = atomic_load(&pool->rejected);
    out->timed_out = atomic_load(&pool->timed_out);
}

/* ---- acquire / release ------------------------------------------------------- */

/* Waits in the queue for a slot (pool->lock held, and held again on return). */
static int wait_for_slot(struct spry_pool *pool, struct pool_slot **out, struct spry_report *report)
{
    if (pool->waiting >= pool->config.max_waiters) {
        atomic_fetch_add(&pool->rejected, 1);
        return spry_report_set(report, SPRY_EBUSY,
                               "instance pool exhausted: all %u slots in use and %u callers "
                               "already waiting",
                               pool->config.slots, pool->waiting);
    }
    struct pool_waiter w = {.slot = NULL, .next = NULL};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pool->wait_tail != NULL)
        pool->wait_tail->next = &w;
    else
        pool->wait_head = &w;
    pool->wait_tail = &w;
    pool->waiting++;

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->config.wait_timeout_ms / 1000;
    deadline.tv_nsec += (long)(pool->config.wait_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (w.slot == NULL) {
        int rc = pthread_cond_timedwait(&w.wake, &pool->lock, &deadline);
        if (rc == ETIMEDOUT && w.slot == NULL) {
            waiter_remove(pool, &w);
            break;
        }
    }
    pthread_cond_destroy(&w.wake);
    if (w.slot == NULL) {
        atomic_fetch_add(&pool->timed_out, 1);
        return spry_report_set(report, SPRY_ETIMEOUT,
                               "instance pool exhausted: no slot of %u became free within %u ms",
                               pool->config.slots, pool->config.wait_timeout_ms);
    }
    *out = w.slot;
    return 0;
}

/* Gives a slot back whose instance may be unusable: it is emptied. */
static void give_back_evicted(struct spry_pool *pool, struct pool_slot *s)
{
    prepared_evict(s);
    pthread_mutex_lock(&pool->lock);
    put_free(pool, s);
    pthread_mutex_unlock(&pool->lock);
}

static int acquired(struct spry_prepared *prepared, struct pool_slot *s, struct spry_instance **out,
                    struct spry_report *report, struct spry_trap *trap);

int spry_pool_acquire(struct spry_prepared *prepared, struct spry_instance **out,
                      struct spry_report *report, struct spry_trap *trap)
{
    struct spry_pool *pool = prepared->pool;
    pthread_mutex_lock(&pool->lock);
    struct pool_slot *s = take_free(pool, prepared);
    int rc = 0;
    if (s == NULL)
        rc = wait_for_slot(pool, &s, report);
    pthread_mutex_unlock(&pool->lock);
    if (rc != 0)
        return rc;
    return acquired(prepared, s, out, report, trap);
}

int spry_pool_acquire_warm(struct spry_prepared *prepared, struct spry_instance **out,
                           struct spry_report *report, struct spry_trap *trap)
{
    struct spry_pool *pool = prepared->pool;
    pthread_mutex_lock(&pool->lock);
    struct pool_slot *s = prepared->free_head != NULL ? take_free(pool, prepared) : NULL;
    pthread_mutex_unlock(&pool->lock);
    if (s == NULL)
        return spry_report_set(report, SPRY_EBUSY, "no free slot holds an instance of it");
    return acquired(prepared, s, out, report, trap);
}

/* The rest of an acquire once slot s is taken: instantiated into it unless
 * it holds prepared's instance already, start functions run (unless they
 * ran once at preparation: prepared.c, "Start functions run once"). */
static int acquired(struct spry_prepared *prepared, struct pool_slot *s, struct spry_instance **out,
                    struct spry_report *report, struct spry_trap *trap)
{
    struct spry_pool *pool = prepared->pool;
    int rc = 0;

    if (s->owner == prepared) {
        atomic_fetch_add(&pool->reused, 1);
    } else {
        rc = prepared_instantiate(s, prepared, report);
        if (rc != 0) {
            give_back_evicted(pool, s);
            return rc;
        }
        atomic_fetch_add(&pool->instantiated, 1);
    }
    for (uint32_t k = 0; k < prepared->nmembers && rc == 0 && !prepared->start_prerun; k++)
        rc = instance_run_start(s->insts[k], report, trap);
    if (rc != 0) {
        spry_pool_release(s->inst);
        return rc;
    }
    atomic_fetch_add(&pool->acquired, 1);
    *out = s->inst;
    return 0;
}

void spry_pool_release(struct spry_instance *inst)
{
    struct pool_slot *s = inst->pool_slot;
    SPRY_ASSERT(s != NULL && s->in_use && s->inst != NULL);
    struct spry_pool *pool = s->pool;
    if (prepared_reset(s) != 0) {
        give_back_evicted(pool, s);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    put_free(pool, s);
    pthread_mutex_unlock(&pool->lock);
}

/* ---- prepared modules' registration ------------------------------------------ */

void pool_register_prepared(struct spry_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->nprepared++;
    pthread_mutex_unlock(&pool->lock);
}

void pool_unregister_prepared(struct spry_pool *pool, struct spry_prepared *prepared)
{
    pthread_mutex_lock(&pool->lock);
    for (uint32_t i = 0; i < pool->config.slots; i++)
        SPRY_ASSERT(!(pool->slots[i].in_use && pool->slots[i].owner == prepared));
    while (prepared->free_head != NULL) {
        struct pool_slot *s = prepared->free_head;
        own_remove(s);
        lru_remove(pool, s);
        prepared_evict(s);
        lru_push_head(pool, s);
    }
    pool->nprepared--;
    pthread_mutex_unlock(&pool->lock);
}
