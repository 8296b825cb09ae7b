/* Lookup tables generated from the instruction list in opcodes.h. */
#include "wasm/opcodes.h"

#include <pthread.h>
#include <stddef.h>

const struct wasm_siginfo wasm_sig_table[] = {
#define WASM_SIG_INFO(name, n, p0, p1, result) \
    [SIG_##name] = {(n), {(p0), (p1), (n) == 3 ? 0x7f : 0}, (result)},
    WASM_SIGS(WASM_SIG_INFO)
#undef WASM_SIG_INFO
};

static const struct wasm_opinfo opcode_table[] = {
#define WASM_OPCODE_INFO(name, code, imm, sig) {#name, (code), (imm), (sig)},
    WASM_OPCODES(WASM_OPCODE_INFO)
#undef WASM_OPCODE_INFO
};

/* Index by opcode: single-byte opcodes at [0, 256), 0xFC-prefixed at
 * [256, 512). Entries hold position+1 in opcode_table (0 = no such opcode).
 * Built once, on first use. */
static uint16_t opcode_index[512];
static pthread_once_t opcode_index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
    for (size_t i = 0; i < sizeof opcode_table / sizeof opcode_table[0]; i++) {
        uint16_t code = opcode_table[i].code;
        size_t slot = code < 0x100 ? code : 0x100 + (code & 0xff);
        opcode_index[slot] = (uint16_t)(i + 1);
    }
}

const struct wasm_opinfo *opcode_info(uint32_t code)
{
    pthread_once(&opcode_index_once, build_index);
    size_t slot;
    if (code < 0x100)
        slot = code;
    else if ((code & 0xff00) == 0xfc00)
        slot = 0x100 + (code & 0xff);
    else
        return NULL;
    uint16_t at = opcode_index[slot];
    return at == 0 ? NULL : &opcode_table[at - 1];
}
