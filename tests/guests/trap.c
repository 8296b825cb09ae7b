/*
 * A trap in a named function (GUEST_KEEP_NAMES: the runner keeps the name
 * section): spry prints one line naming it on stderr and exits 134; what
 * the guest wrote before is not lost.
 */
#include "guest.h"

__attribute__((noinline)) void guest_crash_here(int why)
{
    if (why > 0)
        __builtin_trap();
}

int main(int argc, char **argv)
{
    (void)argv;
    printf("before the trap\n");
    guest_crash_here(argc);
    printf("after the trap\n");
    return 0;
}
