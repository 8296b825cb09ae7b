/* The WASI start-up benchmark's guest (bench/wasi-startup.sh): a stripped
 * C hello world for wasm32-wasi. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
