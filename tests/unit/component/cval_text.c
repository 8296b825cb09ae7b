/* Component values as text (cval_text.h). */
#include "unit/component/cval_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
    char *p;
    size_t n, used;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->used + 1 >= o->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->used, o->n - o->used, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->used = o->used + (size_t)k >= o->n ? o->n - 1 : o->used + (size_t)k;
}

static void text(struct out *o, const struct ctype *t, const struct cval *v);

/* Element i of a raw number list. */
static void raw_elem(struct out *o, uint8_t kind, const void *base, size_t i)
{
    const unsigned char *p = base;
    switch (kind) {
    case CT_S8:
        put(o, "%d", (int)(int8_t)p[i]);
        break;
    case CT_U8:
        put(o, "%u", (unsigned)p[i]);
        break;
    case CT_S16:
    case CT_U16: {
        uint16_t x;
        memcpy(&x, p + 2 * i, 2);
        put(o, kind == CT_S16 ? "%d" : "%u", kind == CT_S16 ? (int)(int16_t)x : (int)x);
        break;
    }
    case CT_S32:
    case CT_U32: {
        uint32_t x;
        memcpy(&x, p + 4 * i, 4);
        if (kind == CT_S32)
            put(o, "%" PRId32, (int32_t)x);
        else
            put(o, "%" PRIu32, x);
        break;
    }
    case CT_S64:
    case CT_U64: {
        uint64_t x;
        memcpy(&x, p + 8 * i, 8);
        if (kind == CT_S64)
            put(o, "%" PRId64, (int64_t)x);
        else
            put(o, "%" PRIu64, x);
        break;
    }
    case CT_F32: {
        float f;
        memcpy(&f, p + 4 * i, 4);
        put(o, "%.9g", f);
        break;
    }
    default: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        put(o, "%.17g", d);
        break;
    }
    }
}

static void string(struct out *o, const char *s, size_t len)
{
    put(o, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(o, "\\x%02x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static void text(struct out *o, const struct ctype *t, const struct cval *v)
{
    if (v->kind != t->kind) {
        put(o, "<kind mismatch>");
        return;
    }
    switch (t->kind) {
    case CT_BOOL:
        put(o, "%s", v->of.b ? "true" : "false");
        break;
    case CT_S8:
    case CT_S16:
    case CT_S32:
    case CT_S64:
        put(o, "%" PRId64, v->of.s);
        break;
    case CT_U8:
    case CT_U16:
    case CT_U32:
    case CT_U64:
        put(o, "%" PRIu64, v->of.u);
        break;
    case CT_F32:
        put(o, "%.9g", v->of.f32);
        break;
    case CT_F64:
        put(o, "%.17g", v->of.f64);
        break;
    case CT_CHAR:
        if (v->of.ch >= 0x20 && v->of.ch < 0x7f)
            put(o, "'%c'", (char)v->of.ch);
        else
            put(o, "'U+%04" PRIX32 "'", v->of.ch);
        break;
    case CT_STRING:
        string(o, v->of.str.ptr, v->of.str.len);
        break;
    case CT_LIST:
        put(o, "[");
        if (ctype_is_number(t->u.elem->kind)) {
            for (size_t i = 0; i < v->of.raw.n; i++) {
                put(o, "%s", i ? ", " : "");
                raw_elem(o, t->u.elem->kind, v->of.raw.ptr, i);
            }
        } else {
            for (size_t i = 0; i < v->of.list.n; i++) {
                put(o, "%s", i ? ", " : "");
                text(o, t->u.elem, &v->of.list.v[i]);
            }
        }
        put(o, "]");
        break;
    case CT_RECORD:
    case CT_TUPLE:
        put(o, t->kind == CT_RECORD ? "{" : "(");
        for (uint32_t i = 0; i < t->u.record.n && i < v->of.list.n; i++) {
            put(o, "%s", i ? ", " : "");
            if (t->kind == CT_RECORD)
                put(o, "%s: ", t->u.record.fields[i].name);
            text(o, t->u.record.fields[i].type, &v->of.list.v[i]);
        }
        put(o, t->kind == CT_RECORD ? "}" : ")");
        break;
    case CT_VARIANT:
    case CT_ENUM:
        if (v->of.var.disc >= t->u.variant.n) {
            put(o, "<case %" PRIu32 ">", v->of.var.disc);
            break;
        }
        put(o, "%s", t->u.variant.cases[v->of.var.disc].name);
        if (t->u.variant.cases[v->of.var.disc].type != NULL && v->of.var.payload != NULL) {
            put(o, "(");
            text(o, t->u.variant.cases[v->of.var.disc].type, v->of.var.payload);
            put(o, ")");
        }
        break;
    case CT_OPTION:
        if (v->of.var.disc == 0) {
            put(o, "none");
        } else {
            put(o, "some(");
            text(o, t->u.elem, v->of.var.payload);
            put(o, ")");
        }
        break;
    case CT_RESULT: {
        const struct ctype *pt = v->of.var.disc == 0 ? t->u.result.ok : t->u.result.err;
        put(o, "%s", v->of.var.disc == 0 ? "ok" : "err");
        if (pt != NULL && v->of.var.payload != NULL) {
            put(o, "(");
            text(o, pt, v->of.var.payload);
            put(o, ")");
        }
        break;
    }
    case CT_FLAGS: {
        put(o, "{");
        bool first = true;
        for (uint32_t i = 0; i < t->u.flags.n; i++)
            if (v->of.flags & (1u << i)) {
                put(o, "%s%s", first ? "" : ", ", t->u.flags.names[i]);
                first = false;
            }
        put(o, "}");
        break;
    }
    case CT_OWN:
    case CT_BORROW:
        put(o, "%s<%" PRIu32 ">", t->kind == CT_OWN ? "own" : "borrow", v->of.rep);
        break;
    default:
        put(o, "<?>");
    }
}

const char *cval_text(char *buf, size_t n, const struct ctype *t, const struct cval *v)
{
    struct out o = {buf, n, 0};
    buf[0] = '\0';
    text(&o, t, v);
    return buf;
}
