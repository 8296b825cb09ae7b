/*
 * A benchmark kernel (bench/kernels/, the contract in kernel.h) as a
 * command: `kernel N` prints run(N)'s checksum. Built both for wasm32-wasi
 * and natively by scripts/run-guests.sh; the two outputs must agree.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t run(uint32_t n);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argc > 0 ? argv[0] : "kernel");
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    printf("checksum=%016" PRIx64 "\n", run(n));
    return 0;
}
