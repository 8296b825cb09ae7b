/* libFuzzer harness: decode and validate arbitrary bytes as a module. */
#include "spry/wasm.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *module = NULL;
    if (spry_module_load(data, size, NULL, &module, &report) == 0) {
        /* Valid modules must also translate. */
        struct spry_report tr;
        spry_report_init(&tr);
        if (spry_module_translate_all(module, &tr) != 0 && tr.code != SPRY_ENOMEM)
            __builtin_trap();
        spry_module_destroy(module);
    } else if (report.message[0] == '\0') {
        __builtin_trap(); /* every failure must say what and where */
    }
    return 0;
}
