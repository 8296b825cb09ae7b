/* Lookup tables generated from the instruction list in opcodes.h. */
#include "wasm/opcodes.h"

#include "wasm/reader.h"

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

int opcode_read(struct wasm_reader *r, uint32_t *code)
{
    uint8_t b;
    if (reader_u8(r, &b) != 0)
        return -1;
    if (b == 0xfc) {
        uint32_t sub;
        if (reader_u32(r, &sub) != 0 || sub > 0xff)
            return -1;
        *code = 0xfc00 | sub;
        return 0;
    }
    *code = b;
    return 0;
}

int opcode_skip_immediates(struct wasm_reader *r, uint32_t code)
{
    const struct wasm_opinfo *info = opcode_info(code);
    uint32_t u;
    int64_t s;
    uint8_t byte;
    const uint8_t *bytes;
    if (info == NULL)
        return -1;
    switch (info->imm) {
    case IMM_NONE:
        return 0;
    case IMM_BLOCKTYPE:
        return reader_s33(r, &s);
    case IMM_LABEL:
    case IMM_FUNC:
    case IMM_LOCAL:
    case IMM_GLOBAL:
    case IMM_TABLE:
    case IMM_ELEM:
    case IMM_DATA:
        return reader_u32(r, &u);
    case IMM_BR_TABLE: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return -1;
        for (uint64_t k = 0; k <= n; k++) {
            if (reader_u32(r, &u) != 0)
                return -1;
        }
        return 0;
    }
    case IMM_CALL_INDIRECT:
    case IMM_TABLE_TABLE:
    case IMM_ELEM_TABLE:
    case IMM_MEMARG:
        if (reader_u32(r, &u) != 0)
            return -1;
        return reader_u32(r, &u);
    case IMM_DATA_MEM:
        if (reader_u32(r, &u) != 0)
            return -1;
        return reader_u8(r, &byte);
    case IMM_MEM:
        return reader_u8(r, &byte);
    case IMM_MEM_MEM:
        return reader_bytes(r, 2, &bytes);
    case IMM_I32:
        return reader_sleb(r, 32, &s);
    case IMM_I64:
        return reader_sleb(r, 64, &s);
    case IMM_F32:
        return reader_bytes(r, 4, &bytes);
    case IMM_F64:
        return reader_bytes(r, 8, &bytes);
    case IMM_SELECT_T: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return -1;
        return reader_bytes(r, n, &bytes);
    }
    case IMM_REFTYPE:
        return reader_u8(r, &byte);
    }
    return -1;
}
