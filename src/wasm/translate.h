/*
 * Translation of validated function bodies into the interpreter's register
 * form (iops.h). See translate.c for the scheme.
 */
#ifndef SPRY_WASM_TRANSLATE_H
#define SPRY_WASM_TRANSLATE_H

#include "spry/error.h"
#include "wasm/iops.h"
#include "wasm/module.h"

/* Translates function `func_index` (a defined function of a validated
 * module) for the interpreter whose handler table is `handlers`
 * (interp_handlers() or interp_handlers_checked()). On success *out owns
 * the code (free with translate_free). */
int translate_func(const struct wasm_module *module, uint32_t func_index,
                   const void *const *handlers, struct interp_code **out,
                   struct spry_report *report);
void translate_free(struct interp_code *code);

#endif
