/* Wasm values of the spec scripts: parsing, comparison, formatting. */
#include "spec/value.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    uint8_t type;
} type_names[] = {
    {"i32", SPRY_I32},
    {"i64", SPRY_I64},
    {"f32", SPRY_F32},
    {"f64", SPRY_F64},
    {"v128", SPRY_V128},
    {"funcref", SPRY_FUNCREF},
    {"externref", SPRY_EXTERNREF},
};

const char *spec_type_name(uint8_t type)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (type_names[i].type == type)
            return type_names[i].name;
    }
    return "?";
}

/* Unsigned decimal up to max; no sign, no leading '+', at least one digit. */
static bool parse_udec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return false;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (d > max || n > (max - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

static bool is_float(uint8_t type)
{
    return type == SPRY_F32 || type == SPRY_F64;
}

static bool is_ref(uint8_t type)
{
    return type == SPRY_FUNCREF || type == SPRY_EXTERNREF;
}

int spec_value_parse(const struct json_value *v, bool expected, struct spec_value *out,
                     struct spry_report *report)
{
    const struct json_value *t = json_get(v, "type");
    if (t == NULL || t->type != JSON_STRING)
        return spry_report_set(report, SPRY_EINVAL, "value without a type");
    uint8_t type = 0;
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (json_str_is(t, type_names[i].name))
            type = type_names[i].type;
    }
    if (type == 0)
        return spry_report_set(report, SPRY_EINVAL, "unknown value type \"%s\"", t->of.str);
    if (type == SPRY_V128)
        return spry_report_set(report, SPRY_EUNSUPPORTED, "v128 values are not supported");

    const struct json_value *jv = json_get(v, "value");
    if (jv == NULL || jv->type != JSON_STRING)
        return spry_report_set(report, SPRY_EINVAL, "%s value missing or not a string",
                               spec_type_name(type));
    const char *s = jv->of.str;
    size_t len = jv->len;
    struct spec_value r = {.type = type, .pattern = SPEC_EXACT};
    uint64_t max = 0;
    switch (type) {
    case SPRY_I32:
    case SPRY_F32:
        max = UINT32_MAX;
        break;
    case SPRY_I64:
    case SPRY_F64:
        max = UINT64_MAX;
        break;
    default:
        /* N + 1 must fit a pointer. */
        max = UINTPTR_MAX - 1;
        break;
    }

    if (expected && is_float(type) && json_str_is(jv, "nan:canonical")) {
        r.pattern = SPEC_NAN_CANONICAL;
    } else if (expected && is_float(type) && json_str_is(jv, "nan:arithmetic")) {
        r.pattern = SPEC_NAN_ARITHMETIC;
    } else if (is_ref(type) && json_str_is(jv, "null")) {
        r.pattern = SPEC_REF_NULL;
    } else if (type == SPRY_FUNCREF) {
        /* wast2json has no way to name a function; a number here would be
         * a reference the runner cannot produce or compare. */
        if (!expected)
            return spry_report_set(report, SPRY_EINVAL, "funcref argument \"%s\"", s);
        r.pattern = SPEC_REF_NONNULL;
    } else if (!parse_udec(s, len, max, &r.bits)) {
        return spry_report_set(report, SPRY_EINVAL, "bad %s value \"%s\"", spec_type_name(type), s);
    }
    *out = r;
    return 0;
}

void *spec_externref(uint64_t n)
{
    return (void *)(uintptr_t)(n + 1);
}

void spec_value_to_val(const struct spec_value *value, struct spry_val *out)
{
    memset(out, 0, sizeof(*out));
    out->type = value->type;
    switch (value->type) {
    case SPRY_I32:
        out->of.i32 = (int32_t)(uint32_t)value->bits;
        break;
    case SPRY_I64:
        out->of.i64 = (int64_t)value->bits;
        break;
    case SPRY_F32:
        out->of.f32_bits = (uint32_t)value->bits;
        break;
    case SPRY_F64:
        out->of.f64_bits = value->bits;
        break;
    case SPRY_EXTERNREF:
        out->of.ref = value->pattern == SPEC_REF_NULL ? NULL : spec_externref(value->bits);
        break;
    default: /* funcref arguments are always null */
        out->of.ref = NULL;
        break;
    }
}

bool spec_value_matches(const struct spec_value *expected, const struct spry_val *actual)
{
    if (actual->type != expected->type)
        return false;
    switch (expected->pattern) {
    case SPEC_NAN_CANONICAL:
        if (expected->type == SPRY_F32)
            return (actual->of.f32_bits & 0x7fffffffu) == 0x7fc00000u;
        return (actual->of.f64_bits & 0x7fffffffffffffffu) == 0x7ff8000000000000u;
    case SPEC_NAN_ARITHMETIC:
        if (expected->type == SPRY_F32)
            return (actual->of.f32_bits & 0x7fc00000u) == 0x7fc00000u;
        return (actual->of.f64_bits & 0x7ff8000000000000u) == 0x7ff8000000000000u;
    case SPEC_REF_NULL:
        return actual->of.ref == NULL;
    case SPEC_REF_NONNULL:
        return actual->of.ref != NULL;
    default:
        break;
    }
    switch (expected->type) {
    case SPRY_I32:
        return (uint32_t)actual->of.i32 == (uint32_t)expected->bits;
    case SPRY_I64:
        return (uint64_t)actual->of.i64 == expected->bits;
    case SPRY_F32:
        return actual->of.f32_bits == (uint32_t)expected->bits;
    case SPRY_F64:
        return actual->of.f64_bits == expected->bits;
    case SPRY_EXTERNREF:
        return actual->of.ref == spec_externref(expected->bits);
    default:
        return false;
    }
}

static void format_f32(uint32_t bits, char *buf, size_t size)
{
    float f;
    memcpy(&f, &bits, sizeof(f));
    snprintf(buf, size, "f32:0x%08" PRIx32 " (%.9g)", bits, (double)f);
}

static void format_f64(uint64_t bits, char *buf, size_t size)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    snprintf(buf, size, "f64:0x%016" PRIx64 " (%.17g)", bits, d);
}

void spec_value_format(const struct spec_value *value, char *buf, size_t size)
{
    const char *name = spec_type_name(value->type);
    switch (value->pattern) {
    case SPEC_NAN_CANONICAL:
        snprintf(buf, size, "%s:nan:canonical", name);
        return;
    case SPEC_NAN_ARITHMETIC:
        snprintf(buf, size, "%s:nan:arithmetic", name);
        return;
    case SPEC_REF_NULL:
        snprintf(buf, size, "%s:null", name);
        return;
    case SPEC_REF_NONNULL:
        snprintf(buf, size, "%s:non-null", name);
        return;
    default:
        break;
    }
    switch (value->type) {
    case SPRY_F32:
        format_f32((uint32_t)value->bits, buf, size);
        break;
    case SPRY_F64:
        format_f64(value->bits, buf, size);
        break;
    case SPRY_EXTERNREF:
        snprintf(buf, size, "externref:%" PRIu64, value->bits);
        break;
    default:
        snprintf(buf, size, "%s:%" PRIu64, name, value->bits);
        break;
    }
}

void spec_val_format(const struct spry_val *val, char *buf, size_t size)
{
    switch (val->type) {
    case SPRY_I32:
        snprintf(buf, size, "i32:%" PRIu32, (uint32_t)val->of.i32);
        break;
    case SPRY_I64:
        snprintf(buf, size, "i64:%" PRIu64, (uint64_t)val->of.i64);
        break;
    case SPRY_F32:
        format_f32(val->of.f32_bits, buf, size);
        break;
    case SPRY_F64:
        format_f64(val->of.f64_bits, buf, size);
        break;
    case SPRY_EXTERNREF:
        if (val->of.ref == NULL)
            snprintf(buf, size, "externref:null");
        else
            snprintf(buf, size, "externref:%" PRIuPTR, (uintptr_t)val->of.ref - 1);
        break;
    case SPRY_FUNCREF:
        snprintf(buf, size, "funcref:%s", val->of.ref == NULL ? "null" : "non-null");
        break;
    default:
        snprintf(buf, size, "%s(type 0x%02x)", spec_type_name(val->type), val->type);
        break;
    }
}

bool spec_message_matches(const char *actual, const char *expected)
{
    size_t n = strlen(expected);
    if (strncmp(actual, expected, n) == 0)
        return true;
    for (const char *p = strstr(actual, ": "); p != NULL; p = strstr(p + 1, ": ")) {
        if (strncmp(p + 2, expected, n) == 0)
            return true;
    }
    return false;
}
