#include "component/layout.h"

#include "base/assert.h"

#include <string.h>

/* ---- validity ----------------------------------------------------------- */

struct check {
    struct spry_report *report;
    uint32_t nodes; /* effective nodes visited so far */
};

static const char *const KIND_NAMES[CT_KINDS] = {
    [CT_BOOL] = "bool",       [CT_S8] = "s8",     [CT_U8] = "u8",         [CT_S16] = "s16",
    [CT_U16] = "u16",         [CT_S32] = "s32",   [CT_U32] = "u32",       [CT_S64] = "s64",
    [CT_U64] = "u64",         [CT_F32] = "f32",   [CT_F64] = "f64",       [CT_CHAR] = "char",
    [CT_STRING] = "string",   [CT_LIST] = "list", [CT_RECORD] = "record", [CT_TUPLE] = "tuple",
    [CT_VARIANT] = "variant", [CT_ENUM] = "enum", [CT_OPTION] = "option", [CT_RESULT] = "result",
    [CT_FLAGS] = "flags",     [CT_OWN] = "own",   [CT_BORROW] = "borrow",
};

const char *layout_kind_name(uint8_t kind)
{
    return kind < CT_KINDS ? KIND_NAMES[kind] : "?";
}

static int check_type(struct check *c, const struct ctype *t, unsigned depth);

/* Counts n more nodes against the budget. */
static int check_count(struct check *c, uint32_t n)
{
    if (n > LAYOUT_MAX_NODES - c->nodes)
        return spry_report_set(c->report, SPRY_EINVALID,
                               "component type too large (more than %u nodes)", LAYOUT_MAX_NODES);
    c->nodes += n;
    return 0;
}

static int check_child(struct check *c, const struct ctype *t, unsigned depth, const char *what)
{
    if (t == NULL)
        return spry_report_set(c->report, SPRY_EINVALID, "component type: %s without a type", what);
    return check_type(c, t, depth + 1);
}

static int check_type(struct check *c, const struct ctype *t, unsigned depth)
{
    if (depth > LAYOUT_MAX_DEPTH)
        return spry_report_set(c->report, SPRY_EINVALID,
                               "component type nested deeper than %d levels", LAYOUT_MAX_DEPTH);
    int rc = check_count(c, 1);
    if (rc != 0)
        return rc;
    if (t->kind >= CT_KINDS)
        return spry_report_set(c->report, SPRY_EINVALID, "component type of unknown kind %u",
                               t->kind);
    const char *name = KIND_NAMES[t->kind];
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        return check_child(c, t->u.elem, depth, name);
    case CT_RECORD:
    case CT_TUPLE:
        /* Explainer.md: records and tuples have at least one field. */
        if (t->u.record.n == 0)
            return spry_report_set(c->report, SPRY_EINVALID, "%s with no fields", name);
        rc = check_count(c, t->u.record.n);
        for (uint32_t i = 0; rc == 0 && i < t->u.record.n; i++)
            rc = check_child(c, t->u.record.fields[i].type, depth, "field");
        return rc;
    case CT_VARIANT:
    case CT_ENUM:
        if (t->u.variant.n == 0)
            return spry_report_set(c->report, SPRY_EINVALID, "%s with no cases", name);
        rc = check_count(c, t->u.variant.n);
        for (uint32_t i = 0; rc == 0 && i < t->u.variant.n; i++) {
            const struct ctype *p = t->u.variant.cases[i].type;
            if (p != NULL && t->kind == CT_ENUM)
                return spry_report_set(c->report, SPRY_EINVALID, "enum case with a payload");
            if (p != NULL)
                rc = check_type(c, p, depth + 1);
        }
        return rc;
    case CT_RESULT:
        if (t->u.result.ok != NULL)
            rc = check_type(c, t->u.result.ok, depth + 1);
        if (rc == 0 && t->u.result.err != NULL)
            rc = check_type(c, t->u.result.err, depth + 1);
        return rc;
    case CT_FLAGS:
        if (t->u.flags.n == 0)
            return spry_report_set(c->report, SPRY_EINVALID, "flags with no labels");
        if (t->u.flags.n > CTYPE_MAX_FLAGS)
            return spry_report_set(c->report, SPRY_EINVALID, "flags with %u labels (at most %d)",
                                   t->u.flags.n, CTYPE_MAX_FLAGS);
        return check_count(c, t->u.flags.n);
    default:
        return 0;
    }
}

int layout_check(const struct ctype *t, struct spry_report *report)
{
    struct check c = {report, 0};
    if (t == NULL)
        return spry_report_set(report, SPRY_EINVALID, "component type: missing type");
    return check_type(&c, t, 0);
}

int layout_check_functype(const struct cfunctype *ft, struct spry_report *report)
{
    struct check c = {report, 0};
    int rc = check_count(&c, ft->nparams);
    for (uint32_t i = 0; rc == 0 && i < ft->nparams; i++)
        rc = check_child(&c, ft->params[i].type, 0, "parameter");
    if (rc == 0 && ft->result != NULL)
        rc = check_type(&c, ft->result, 1);
    return rc;
}

/* ---- size and alignment -------------------------------------------------- */

static uint32_t max_case_align(const struct ctype *t)
{
    uint32_t a = 1, n = layout_ncases(t);
    for (uint32_t i = 0; i < n; i++) {
        const struct ctype *p = layout_case_type(t, i);
        if (p != NULL) {
            uint32_t pa = layout_align(p);
            if (pa > a)
                a = pa;
        }
    }
    return a;
}

uint32_t layout_fields_align(uint32_t n, const struct ctype_field *fields)
{
    uint32_t a = 1;
    for (uint32_t i = 0; i < n && a < 8; i++) {
        uint32_t fa = layout_align(fields[i].type);
        if (fa > a)
            a = fa;
    }
    return a;
}

uint32_t layout_compute_align(const struct ctype *t)
{
    switch (t->kind) {
    case CT_BOOL:
    case CT_S8:
    case CT_U8:
        return 1;
    case CT_S16:
    case CT_U16:
        return 2;
    case CT_S32:
    case CT_U32:
    case CT_F32:
    case CT_CHAR:
    case CT_STRING:
    case CT_LIST:
    case CT_OWN:
    case CT_BORROW:
        return 4;
    case CT_S64:
    case CT_U64:
    case CT_F64:
        return 8;
    case CT_RECORD:
    case CT_TUPLE:
        return layout_fields_align(t->u.record.n, t->u.record.fields);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        uint32_t a = layout_disc_size(layout_ncases(t)), ca = max_case_align(t);
        return ca > a ? ca : a;
    }
    case CT_FLAGS: {
        uint32_t s = layout_flags_size(t->u.flags.n);
        return s == 0 ? 1 : s;
    }
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return 1;
    }
}

uint32_t layout_fields_size(uint32_t n, const struct ctype_field *fields)
{
    uint32_t s = 0, a = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t fa = layout_align(fields[i].type);
        if (fa > a)
            a = fa;
        s = layout_align_to(s, fa) + layout_size(fields[i].type);
    }
    return layout_align_to(s, a);
}

uint32_t layout_compute_payload_offset(const struct ctype *t)
{
    return layout_align_to(layout_disc_size(layout_ncases(t)), max_case_align(t));
}

uint32_t layout_compute_size(const struct ctype *t)
{
    switch (t->kind) {
    case CT_BOOL:
    case CT_S8:
    case CT_U8:
        return 1;
    case CT_S16:
    case CT_U16:
        return 2;
    case CT_S32:
    case CT_U32:
    case CT_F32:
    case CT_CHAR:
    case CT_OWN:
    case CT_BORROW:
        return 4;
    case CT_S64:
    case CT_U64:
    case CT_F64:
    case CT_STRING:
    case CT_LIST:
        return 8;
    case CT_RECORD:
    case CT_TUPLE:
        return layout_fields_size(t->u.record.n, t->u.record.fields);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        uint32_t n = layout_ncases(t), payload = 0;
        for (uint32_t i = 0; i < n; i++) {
            const struct ctype *p = layout_case_type(t, i);
            if (p != NULL) {
                uint32_t ps = layout_size(p);
                if (ps > payload)
                    payload = ps;
            }
        }
        return layout_align_to(layout_payload_offset(t) + payload, layout_align(t));
    }
    case CT_FLAGS:
        return layout_flags_size(t->u.flags.n);
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return 0;
    }
}

/* ---- the cache ------------------------------------------------------------ */

/* a + b saturating at LAYOUT_FLAT_MANY. */
static uint32_t flat_add(uint32_t a, uint32_t b)
{
    return b >= LAYOUT_FLAT_MANY - a ? LAYOUT_FLAT_MANY : a + b;
}

uint32_t layout_compute_flat_count(const struct ctype *t)
{
    uint32_t n = 0;
    switch (t->kind) {
    case CT_STRING:
    case CT_LIST:
        return 2;
    case CT_RECORD:
    case CT_TUPLE:
        for (uint32_t i = 0; i < t->u.record.n && n < LAYOUT_FLAT_MANY; i++)
            n = flat_add(n, layout_flat_count(t->u.record.fields[i].type));
        return n;
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        /* The discriminant, then as many values as the longest case. */
        uint32_t k = layout_ncases(t);
        for (uint32_t i = 0; i < k && n < LAYOUT_FLAT_MANY; i++) {
            const struct ctype *p = layout_case_type(t, i);
            uint32_t pn = p != NULL ? layout_flat_count(p) : 0;
            if (pn > n)
                n = pn;
        }
        return flat_add(1, n);
    }
    case CT_FLAGS:
        return t->u.flags.n == 0 ? 0 : 1;
    default:
        return 1;
    }
}

/* Whether every child type t names is present. */
static bool children_present(const struct ctype *t)
{
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        return t->u.elem != NULL;
    case CT_RECORD:
    case CT_TUPLE:
        for (uint32_t i = 0; i < t->u.record.n; i++)
            if (t->u.record.fields[i].type == NULL)
                return false;
        return true;
    default:
        return t->kind < CT_KINDS;
    }
}

void layout_cache(struct ctype *t)
{
    if (!children_present(t))
        return;
    t->align = 0; /* computed afresh from the children */
    uint32_t size = layout_compute_size(t), align = layout_compute_align(t);
    uint32_t payload = layout_is_variant(t) ? layout_compute_payload_offset(t) : 0;
    t->size = size;
    t->payload_offset = (uint8_t)payload; /* at most 8 */
    t->nflat = (uint8_t)layout_compute_flat_count(t);
    t->align = (uint8_t)align; /* last: the node counts as cached from here */
}

/* ---- flattening ---------------------------------------------------------- */

uint8_t layout_join(uint8_t a, uint8_t b)
{
    if (a == b)
        return a;
    if ((a == SPRY_I32 && b == SPRY_F32) || (a == SPRY_F32 && b == SPRY_I32))
        return SPRY_I32;
    return SPRY_I64;
}

/* Adds n to a count, saturating at LAYOUT_MAX_NODES (counts of checked
 * types stay below it). */
static uint32_t count_add(uint32_t pos, uint32_t n)
{
    return n > LAYOUT_MAX_NODES - pos ? LAYOUT_MAX_NODES : pos + n;
}

static uint32_t flat_into(const struct ctype *t, uint8_t *out, uint32_t pos);

static uint32_t flat_one(uint8_t *out, uint32_t pos, uint8_t type)
{
    if (pos < LAYOUT_MAX_FLAT)
        out[pos] = type;
    return count_add(pos, 1);
}

static uint32_t flat_fields(uint32_t n, const struct ctype_field *fields, uint8_t *out,
                            uint32_t pos)
{
    for (uint32_t i = 0; i < n; i++)
        pos = flat_into(fields[i].type, out, pos);
    return pos;
}

/* flatten_variant: the i32 discriminant, then each position's join over the
 * cases that reach it. */
static uint32_t flat_variant(const struct ctype *t, uint8_t *out, uint32_t pos)
{
    uint8_t joined[LAYOUT_MAX_FLAT], tmp[LAYOUT_MAX_FLAT];
    uint32_t len = 0, n = layout_ncases(t);
    pos = flat_one(out, pos, SPRY_I32);
    for (uint32_t i = 0; i < n; i++) {
        const struct ctype *p = layout_case_type(t, i);
        if (p == NULL)
            continue;
        uint32_t plen = flat_into(p, tmp, 0);
        for (uint32_t j = 0; j < plen && j < LAYOUT_MAX_FLAT; j++)
            joined[j] = j < len ? layout_join(joined[j], tmp[j]) : tmp[j];
        if (plen > len)
            len = plen;
    }
    for (uint32_t j = 0; j < len && j < LAYOUT_MAX_FLAT; j++)
        if (pos + j < LAYOUT_MAX_FLAT)
            out[pos + j] = joined[j];
    return count_add(pos, len);
}

static uint32_t flat_into(const struct ctype *t, uint8_t *out, uint32_t pos)
{
    switch (t->kind) {
    case CT_BOOL:
    case CT_S8:
    case CT_U8:
    case CT_S16:
    case CT_U16:
    case CT_S32:
    case CT_U32:
    case CT_CHAR:
    case CT_OWN:
    case CT_BORROW:
        return flat_one(out, pos, SPRY_I32);
    case CT_S64:
    case CT_U64:
        return flat_one(out, pos, SPRY_I64);
    case CT_F32:
        return flat_one(out, pos, SPRY_F32);
    case CT_F64:
        return flat_one(out, pos, SPRY_F64);
    case CT_STRING:
    case CT_LIST:
        return flat_one(out, flat_one(out, pos, SPRY_I32), SPRY_I32);
    case CT_RECORD:
    case CT_TUPLE:
        return flat_fields(t->u.record.n, t->u.record.fields, out, pos);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT:
        return flat_variant(t, out, pos);
    case CT_FLAGS:
        return t->u.flags.n == 0 ? pos : flat_one(out, pos, SPRY_I32);
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return pos;
    }
}

uint32_t layout_flatten(const struct ctype *t, uint8_t out[LAYOUT_MAX_FLAT])
{
    return flat_into(t, out, 0);
}

uint32_t layout_flatten_fields(uint32_t n, const struct ctype_field *fields,
                               uint8_t out[LAYOUT_MAX_FLAT])
{
    return flat_fields(n, fields, out, 0);
}

void layout_flatten_functype(const struct cfunctype *ft, enum layout_context context,
                             struct layout_corefunc *out)
{
    memset(out, 0, sizeof *out);
    out->nparams = layout_flatten_fields(ft->nparams, ft->params, out->params);
    if (out->nparams > LAYOUT_MAX_FLAT_PARAMS) {
        out->params[0] = SPRY_I32;
        out->nparams = 1;
        out->params_in_memory = true;
        out->params_block.size = layout_fields_size(ft->nparams, ft->params);
        out->params_block.align = layout_fields_align(ft->nparams, ft->params);
    }
    uint8_t results[LAYOUT_MAX_FLAT];
    uint32_t nresults = ft->result != NULL ? layout_flatten(ft->result, results) : 0;
    if (nresults <= LAYOUT_MAX_FLAT_RESULTS) {
        memcpy(out->results, results, nresults);
        out->nresults = nresults;
    } else if (context == LAYOUT_LIFT) {
        out->results[0] = SPRY_I32;
        out->nresults = 1;
        out->results_in_memory = true;
    } else {
        out->params[out->nparams++] = SPRY_I32;
        out->results_in_memory = true;
    }
    if (out->results_in_memory) {
        out->results_block.size = layout_size(ft->result);
        out->results_block.align = layout_align(ft->result);
    }
}

struct spry_functype layout_corefunc_type(const struct layout_corefunc *cf)
{
    struct spry_functype t = {cf->nparams, cf->nresults, cf->params, cf->results};
    return t;
}
