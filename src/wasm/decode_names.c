/*
 * Names: UTF-8 validation and the "name" custom section
 * (https://webassembly.github.io/spec/core/appendix/custom.html#name-section).
 *
 * The name section is debugging information: a malformed one is dropped as
 * a whole and never fails the module. Only out-of-memory is reported.
 */
#include "base/alloc.h"
#include "wasm/decode.h"
#include "wasm/reader.h"

#include <string.h>

bool decode_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t min, cp;
        if ((c & 0xe0) == 0xc0) {
            n = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false; /* continuation byte or 0xf8..0xff as a lead */
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/* Outcome of parsing one piece of the name section. */
enum { NAMES_OK = 0, NAMES_BAD = 1 };

static int read_name(struct wasm_reader *r, const uint8_t **name, uint32_t *len)
{
    if (reader_u32(r, len) != READER_OK || reader_bytes(r, *len, name) != READER_OK ||
        !decode_utf8_valid(*name, *len))
        return NAMES_BAD;
    return NAMES_OK;
}

/* Subsection 1: a name map, indices strictly increasing. */
static int read_function_names(struct wasm_module *m, struct wasm_reader *r, char **names)
{
    uint32_t count;
    if (reader_u32(r, &count) != READER_OK || count > reader_left(r))
        return NAMES_BAD;
    uint64_t next = 0; /* smallest index allowed next */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t index, len;
        const uint8_t *name;
        if (reader_u32(r, &index) != READER_OK || index < next)
            return NAMES_BAD;
        if (read_name(r, &name, &len) != NAMES_OK)
            return NAMES_BAD;
        next = (uint64_t)index + 1;
        if (index >= m->nfuncs)
            continue; /* names a function that does not exist: ignore it */
        names[index] = spry_strndup((const char *)name, len);
        if (names[index] == NULL)
            return SPRY_ENOMEM;
    }
    return reader_eof(r) ? NAMES_OK : NAMES_BAD;
}

int decode_name_section(struct wasm_module *m, const uint8_t *data, size_t size)
{
    struct wasm_reader r = {data, data, data + size};
    char *module_name = NULL;
    char **names = NULL;
    int last_id = -1;
    int rc = NAMES_OK;

    while (!reader_eof(&r)) {
        uint8_t id;
        uint32_t sub_size;
        const uint8_t *sub;
        if (reader_u8(&r, &id) != READER_OK || reader_u32(&r, &sub_size) != READER_OK ||
            reader_bytes(&r, sub_size, &sub) != READER_OK || (int)id <= last_id) {
            rc = NAMES_BAD;
            goto done;
        }
        last_id = id;
        struct wasm_reader sr = {data, sub, sub + sub_size};
        if (id == 0) {
            const uint8_t *name;
            uint32_t len;
            if (read_name(&sr, &name, &len) != NAMES_OK || !reader_eof(&sr)) {
                rc = NAMES_BAD;
                goto done;
            }
            module_name = spry_strndup((const char *)name, len);
            if (module_name == NULL) {
                rc = SPRY_ENOMEM;
                goto done;
            }
        } else if (id == 1) {
            names = spry_calloc(m->nfuncs, sizeof *names);
            if (names == NULL) {
                rc = SPRY_ENOMEM;
                goto done;
            }
            rc = read_function_names(m, &sr, names);
            if (rc != NAMES_OK)
                goto done;
        }
        /* Other subsections (locals, labels, types, ...) are not used. */
    }

done:
    if (rc != NAMES_OK) {
        spry_free(module_name);
        if (names != NULL) {
            for (uint32_t i = 0; i < m->nfuncs; i++)
                spry_free(names[i]);
        }
        spry_free(names);
        return rc == SPRY_ENOMEM ? SPRY_ENOMEM : 0;
    }
    m->module_name = module_name;
    m->func_names = names;
    return 0;
}
