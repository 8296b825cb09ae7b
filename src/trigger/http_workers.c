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
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"

#include <errno.h>
#include <semaphore.h>

struct http_workers {
    pthread_mutex_t mu;
    sem_t ready; /* one count per queued exchange, and one per thread when closing */
    struct http_exchange *head, *tail; /* FIFO through ->next */
    uint32_t count, max;
    bool closing;
    pthread_t *threads;
    uint32_t nthreads;
};

static void *worker_main(void *arg)
{
    struct http_workers *w = arg;
    for (;;) {
        while (sem_wait(&w->ready) != 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&w->mu);
        struct http_exchange *ex = w->head;
        if (ex == NULL) { /* closing and drained */
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = ex->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->count--;
        pthread_mutex_unlock(&w->mu);
        if (http_exchange_cancelled(ex))
            exchange_skip(ex);
        else
            exchange_run(ex);
    }
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
    pthread_mutex_destroy(&w->mu);
    sem_destroy(&w->ready);
    spry_free(w->threads);
    spry_free(w);
}

int workers_create(uint32_t nthreads, uint32_t queue_max, struct http_workers **out)
{
    struct http_workers *w = spry_calloc(1, sizeof(*w));
    if (w == NULL)
        return SPRY_ENOMEM;
    w->threads = spry_calloc(nthreads, sizeof(*w->threads));
    if (w->threads == NULL) {
        spry_free(w);
        return SPRY_ENOMEM;
    }
    if (sem_init(&w->ready, 0, 0) != 0) {
        spry_free(w->threads);
        spry_free(w);
        return SPRY_EIO;
    }
    pthread_mutex_init(&w->mu, NULL);
    w->max = queue_max;
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
