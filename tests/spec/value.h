/*
 * Wasm values as wast2json writes them, and their comparison with results.
 *
 * wast2json writes {"type": T, "value": V} where V is a string:
 *  - i32/i64: the unsigned decimal of the bits ("4294967295" is -1);
 *  - f32/f64: the unsigned decimal of the IEEE bits ("1065353216" is 1.0f),
 *    or, in expected results only, "nan:canonical" / "nan:arithmetic";
 *  - externref: "null" or N for the host reference `ref.extern N`;
 *  - funcref: "null" (the suite never names a function reference).
 *
 * `ref.extern N` crosses the API as the pointer N + 1, so that N = 0 is not
 * the null reference.
 *
 * NaN patterns (https://webassembly.github.io/spec/core/exec/numerics.html#nan-propagation):
 * a canonical NaN has only the top payload bit set (either sign); an
 * arithmetic NaN has the top payload bit set and any other payload/sign.
 */
#ifndef SPRY_SPEC_VALUE_H
#define SPRY_SPEC_VALUE_H

#include "spec/json.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spec_pattern {
    SPEC_EXACT,          /* bits must equal (references: the same host reference) */
    SPEC_NAN_CANONICAL,  /* f32/f64 only */
    SPEC_NAN_ARITHMETIC, /* f32/f64 only */
    SPEC_REF_NULL,       /* the null reference */
    SPEC_REF_NONNULL,    /* any non-null funcref */
};

struct spec_value {
    uint8_t type;    /* enum spry_valtype */
    uint8_t pattern; /* enum spec_pattern */
    uint64_t bits;   /* SPEC_EXACT: the number's bits, or N of ref.extern N */
};

/* Reads {"type": ..., "value": ...}. `expected` allows the NaN patterns.
 * Returns SPRY_EINVAL (with what was wrong in `report`) for a type or a value
 * the runner does not understand, SPRY_EUNSUPPORTED for v128. */
int spec_value_parse(const struct json_value *v, bool expected, struct spec_value *out,
                     struct spry_report *report);

/* The argument for a call. A NaN pattern never reaches here (arguments are
 * parsed with expected = false). */
void spec_value_to_val(const struct spec_value *value, struct spry_val *out);

/* Whether a result satisfies an expected value (type included). */
bool spec_value_matches(const struct spec_value *expected, const struct spry_val *actual);

/* The pointer standing for `ref.extern n`. */
void *spec_externref(uint64_t n);

/* Human-readable forms for failure lines, e.g. "i32:4294967295",
 * "f32:0x7fc00000 (nan)", "f64:nan:canonical", "externref:null". */
void spec_value_format(const struct spec_value *value, char *buf, size_t size);
void spec_val_format(const struct spry_val *val, char *buf, size_t size);

/* Whether an engine message satisfies a script's expected text: the text
 * starts the message, or follows a ": " inside it (so a location prefix such
 * as "offset 12: " may come first). */
bool spec_message_matches(const char *actual, const char *expected);

/* The name of a value type ("i32", ..., "?" for an unknown code). */
const char *spec_type_name(uint8_t type);

#endif
