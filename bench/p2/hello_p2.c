/*
 * bench/component's second pair, the component: "hello, world" written
 * directly to WASI 0.2 (world spry:bench/hello, wit/world.wit), freestanding
 * C against the canonical ABI, as a toolchain targeting WASI 0.2 would build
 * it: no preview-1 adapter inside. hello_p1.c is the same program written to
 * preview 1 (the pair's module). bench/component.sh builds both.
 */
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name)         __attribute__((export_name(name)))

IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
int32_t get_stdout(void);

/* result<_, stream-error>: a byte's discriminant, the error's case at +4 and
 * its handle at +8. */
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
void blocking_write_and_flush(int32_t stream, const void *data, int32_t len, void *ret);

IMPORT("wasi:io/streams@0.2.0", "[resource-drop]output-stream")
void drop_output_stream(int32_t stream);

IMPORT("wasi:io/error@0.2.0", "[resource-drop]error")
void drop_error(int32_t error);

static const char message[] = "hello, world\n";

/* wasi:cli/run's run: 0 is ok, 1 is err. */
EXPORT("wasi:cli/run@0.2.0#run")
int32_t run(void)
{
    _Alignas(4) uint8_t ret[12];
    int32_t out = get_stdout();
    blocking_write_and_flush(out, message, (int32_t)(sizeof message - 1), ret);
    int failed = ret[0] != 0;
    if (failed && ret[4] == 0) /* last-operation-failed(error) */
        drop_error(*(int32_t *)(void *)(ret + 8));
    drop_output_stream(out);
    return failed;
}
