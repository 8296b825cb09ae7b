/*
 * The instance pool's internal structures (pool.c: slots, queueing;
 * prepared.c: prepared modules, instantiating into and resetting a slot).
 *
 * Locking: pool->lock guards the free lists, the waiter queue, every
 * slot's in_use/owner links and prepared->free_head. A slot that is in use
 * belongs to one thread, which alone touches its store, instance, memory
 * and snapshot; the lock is never held while guest code runs or while a
 * slot is instantiated or reset.
 */
#ifndef SPRY_WASM_POOL_H
#define SPRY_WASM_POOL_H

#include "spry/pool.h"
#include "wasm/image.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* The state of a slot's instance right after instantiation (before the
 * start function, or after it when the group's start functions were run
 * once at preparation: prepared.c, "Start functions run once"), restored
 * at every release. */
struct slot_snapshot {
    uint64_t *globals; /* module->nglobals values */
    uint32_t *table_sizes;
    void ***table_elems; /* module->ntables copies of the elements */
    uint8_t *elem_dropped, *data_dropped;
};

struct pool_slot {
    struct spry_pool *pool;
    struct slot_memory mem;
    /* Reservations for the group members' other memories (a composed
     * component's nested instances), each like `mem`: made when a group
     * first needs them here, kept for the pool's life. extra[i] holds the
     * owner's extra[i] while the slot has an owner. */
    struct slot_memory *extra;
    uint32_t nextra;
    struct spry_store *store;    /* created on first use, kept for the pool's life */
    struct spry_prepared *owner; /* whose instances the slot holds, or NULL */
    /* The owner's member instances (owner->nmembers; inst == insts[0]):
     * ready when the slot is free. Snapshots are taken once every member is
     * instantiated, since later members may write earlier ones' tables. */
    struct spry_instance *inst;
    struct spry_instance **insts;
    struct slot_snapshot *snaps;
    void *user; /* spry_pool_set_slot_data: freed with owner->slot_data_free */
    bool in_use;
    /* Free lists (only while !in_use): the pool's, least recently used
     * first, and the owner's, most recently used first. */
    struct pool_slot *lru_prev, *lru_next;
    struct pool_slot *own_prev, *own_next;
};

/* A caller queued for a slot; lives on its stack. */
struct pool_waiter {
    pthread_cond_t wake;
    struct pool_slot *slot; /* handed over by a release */
    struct pool_waiter *next;
};

struct spry_pool {
    struct spry_pool_config config;
    struct spry_store_limits limits; /* of every slot's store */
    uint8_t *region;                 /* all slots' memory reservations */
    size_t region_len, slot_bytes;
    struct pool_slot *slots;
    pthread_mutex_t lock;
    struct pool_slot *lru_head, *lru_tail;
    struct pool_waiter *wait_head, *wait_tail;
    uint32_t in_use, waiting;
    size_t nprepared;
    atomic_uint_fast64_t acquired, reused, instantiated, rejected, timed_out;
};

/* One module of a prepared group, its imports resolved to sources. */
struct prepared_member {
    const struct spry_module *module;
    struct spry_link_import *imports; /* owned copy; names borrowed */
    uint32_t *export_index;           /* SPRY_LINK_EXPORT imports: index in the source's exports */
    /* With start_prerun: the member's globals, dropped segments and (when
     * a start function wrote a table; else NULL) tables after the group's
     * start functions ran in the trial instantiation, references encoded
     * (prepared.c, ref_encode). */
    uint64_t *start_globals;
    uint8_t *start_elem_dropped, *start_data_dropped;
    uint32_t *start_table_sizes;
    uint64_t **start_table_elems;
};

/* A forwarder bound through (prepared.c, "Forwarders"): member `member`'s
 * imported function `func` is a forwarder of member `shim_member` reading
 * element `elem` of that member's table `table`, which holds function
 * `target_func` of member `target_member`'s index space. */
struct prepared_bind {
    uint32_t member, func;
    uint32_t shim_member, table, elem;
    uint32_t target_member, target_func;
};

/* A memory of a group member other than memory_member: loaded from its own
 * image into a slot's extra reservation, reset as the slot's memory is. */
struct prepared_extra_memory {
    uint32_t member;
    struct memory_image image; /* the memory after every member's instantiation */
};

struct spry_prepared {
    struct spry_pool *pool;
    struct prepared_member *members;
    uint32_t nmembers;
    int32_t memory_member; /* the member defining the slot's memory, or -1 */
    void (*slot_data_free)(void *data);
    bool has_memory;
    struct memory_image image;
    /* Members defining a memory besides memory_member (a component's
     * nested instances each have their own): each has its image and lives
     * in one of the slot's extra reservations. */
    struct prepared_extra_memory *extra;
    uint32_t nextra;
    struct pool_slot *free_head; /* free slots holding this module's instance */
    /* Imports bound past their forwarder at each instantiation (only with
     * spry_link_options.bind_forwarders). */
    bool bind_forwarders;
    struct prepared_bind *binds;
    uint32_t nbinds;
    /* The start functions ran once at preparation (prepared.c, "Start
     * functions run once"): the images and the members' start_* state are
     * what they left, and acquire runs none. */
    bool start_prerun;
};

/* prepared.c: the slot's instance becomes a fresh one of `prepared`
 * (evicting what it held); or is reset to its snapshot; or is dropped. */
int prepared_instantiate(struct pool_slot *slot, struct spry_prepared *prepared,
                         struct spry_report *report);
int prepared_reset(struct pool_slot *slot);
void prepared_evict(struct pool_slot *slot);

/* pool.c: prepared modules count against the pool; unregistering evicts
 * the slots that hold the module's instance. */
void pool_register_prepared(struct spry_pool *pool);
void pool_unregister_prepared(struct spry_pool *pool, struct spry_prepared *prepared);

#endif
