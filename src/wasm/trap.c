/*
 * Turning faults in guest memory into traps.
 *
 * A SIGSEGV/SIGBUS handler runs on an alternate signal stack (so it works
 * even when the fault is a native stack overflow). It converts the fault
 * into a trap only when this thread is running wasm (an interpreter
 * activation is current) and the faulting address lies inside the
 * reservation of one of the running store's memories; then it longjmps to
 * the activation's entry. Any other fault is not ours: the previous
 * disposition is restored and the handler returns, so the faulting
 * instruction runs again and the process dies (or the previous handler
 * runs) exactly as it would have without Spry.
 */
#include "base/alloc.h"
#include "wasm/interp.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct sigaction previous_segv, previous_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result;

static bool address_in_store(const struct spry_store *store, const void *addr)
{
    for (size_t i = 0; i < store->memories.count; i++) {
        if (memory_contains(store->memories.items[i], addr))
            return true;
    }
    return false;
}

static void restore_and_return(int sig)
{
    sigaction(sig, sig == SIGSEGV ? &previous_segv : &previous_bus, NULL);
}

static void handler(int sig, siginfo_t *info, void *uctx)
{
    struct interp_activation *act = interp_current_activation();
    if (act != NULL && address_in_store(act->store, info->si_addr)) {
        /* SA_NODEFER: the signal is not blocked in the handler, so jumping
         * out leaves the mask as it was at the activation's entry. */
        _longjmp(act->jb, 1);
    }
    const struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction != NULL) {
        prev->sa_sigaction(sig, info, uctx);
        return;
    }
    if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
        prev->sa_handler != SIG_IGN && prev->sa_handler != NULL) {
        prev->sa_handler(sig);
        return;
    }
    restore_and_return(sig);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous_segv) != 0 || sigaction(SIGBUS, &sa, &previous_bus) != 0)
        install_result = SPRY_EIO;
}

/* Each thread that runs wasm needs its own alternate signal stack. */
static pthread_key_t altstack_key;
static pthread_once_t altstack_key_once = PTHREAD_ONCE_INIT;
static _Thread_local bool altstack_ready;

static void altstack_free(void *p)
{
    stack_t none;
    memset(&none, 0, sizeof none);
    none.ss_flags = SS_DISABLE;
    sigaltstack(&none, NULL);
    spry_free(p);
}

static void altstack_key_create(void)
{
    pthread_key_create(&altstack_key, altstack_free);
}

int signal_install(void)
{
    pthread_once(&install_once, install);
    if (install_result != 0)
        return install_result;
    if (altstack_ready)
        return 0;
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
        altstack_ready = true; /* the embedder set one up */
        return 0;
    }
    pthread_once(&altstack_key_once, altstack_key_create);
    size_t size = SIGSTKSZ > 65536 ? SIGSTKSZ : 65536;
    void *mem = spry_malloc(size);
    if (mem == NULL)
        return SPRY_ENOMEM;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = mem;
    ss.ss_size = size;
    if (sigaltstack(&ss, NULL) != 0) {
        spry_free(mem);
        return SPRY_EIO;
    }
    pthread_setspecific(altstack_key, mem);
    altstack_ready = true;
    return 0;
}
