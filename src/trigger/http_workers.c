/*
 * The executor worker pool: a bounded FIFO of exchanges and the threads
 * that run them. Guest code runs here and never on an I/O loop, so a slow
 * or looping guest holds one worker, not a loop. When every worker is busy
 * requests wait in the queue (at most queue_max; the loop answers 503
 * beyond that); their deadline keeps running while they wait.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"

struct http_workers {
    pthread_mutex_t mu;
    pthread_cond_t ready;
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
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->closing)
            pthread_cond_wait(&w->ready, &w->mu);
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
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void workers_destroy(struct http_workers *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->mu);
    for (uint32_t i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->ready);
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
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->ready, NULL);
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
