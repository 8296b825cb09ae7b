/*
 * Spry's WIT subset: the text a host interface (chost.h) carries in `wit`,
 * parsed into resolved component types (ctype.h).
 *
 * The text is the body of one WIT interface, as WIT writes it
 * (https://github.com/WebAssembly/component-model/blob/main/design/mvp/WIT.md):
 *
 *     use wasi:io/poll@0.2.12.{pollable};      (another host interface)
 *     use error.{error as io-error};           (same package)
 *     type filesize = u64;
 *     record datetime { seconds: u64, nanoseconds: u32 }
 *     variant stream-error { last-operation-failed(error), closed }
 *     enum advice { normal, sequential }
 *     flags open-flags { create, directory }
 *     resource input-stream {
 *         constructor(x: u32);
 *         read: func(len: u64) -> result<list<u8>, stream-error>;
 *         open: static func(name: string) -> input-stream;
 *     }
 *     get-stdin: func() -> input-stream;
 *
 * Types: bool, s8..u64, f32/f64 (float32/float64), char, string, list<T>,
 * option<T>, result, result<T>, result<_, E>, result<T, E>, tuple<...>,
 * own<R>, borrow<R>, a resource name (own), and names defined or used in
 * the interface, in any order (a type may be used before its definition).
 * Comments (line comments and nested block comments) and attributes (@since(...),
 * @unstable(...), @deprecated(...)) are skipped; `%name` escapes a keyword.
 * Not in the subset: package/world/interface headers, include, futures,
 * streams, error-context, fixed-size lists, named results, async.
 *
 * Resolution:
 *  - Every named type becomes one ctype node (shared by all its uses); a
 *    type that refers to itself (directly or through others) is an error,
 *    since component types are not recursive.
 *  - Resources are numbered in the host's resource space: the interfaces
 *    of one table in order, each interface's `resources` array in order
 *    (resource_base + position). Every `resource` the text declares must
 *    have an entry in the interface's `resources` array, and every entry a
 *    declaration. own<R>/borrow<R> carry that number in ctype.u.resource.
 *  - `use pkg:ns/iface[@version].{a, b as c}` resolves against the other
 *    interfaces of the same table ("ns:pkg/iface"; `use iface.{...}` means
 *    the same package); a version, when given, must be compatible (same
 *    major, and same minor for 0.x) with the used interface's. The used
 *    names join this interface's types (and may be used from it in turn).
 *  - Functions are named as the component model spells imports: "name",
 *    "[method]R.name" (first parameter `self: borrow<R>`),
 *    "[static]R.name", "[constructor]R" (result own<R> unless written).
 *    Names (types and functions) are unique within an interface.
 *
 * Errors are SPRY_EMALFORMED with "IFACE:LINE:COL: message" in the report
 * (first error wins). Sizes are bounded: text length, items per interface,
 * members per type and nesting depth (WIT_MAX_*), and the arena's limit.
 */
#ifndef SPRY_COMPONENT_WIT_H
#define SPRY_COMPONENT_WIT_H

#include "base/arena.h"
#include "component/chost.h"
#include "spry/error.h"

#include <stddef.h>
#include <stdint.h>

enum {
    WIT_MAX_TEXT = 1 << 20, /* bytes of one interface's text */
    WIT_MAX_ITEMS = 4096,   /* types and functions of one interface */
    WIT_MAX_MEMBERS = 4096, /* fields, cases, parameters of one item */
    WIT_MAX_DEPTH = 64,     /* nested types and definitions being resolved */
};

struct wit_type {
    const char *name;
    const struct ctype *type; /* a resource name: own<R> */
};

struct wit_func {
    const char *name; /* import spelling, e.g. "[method]input-stream.read" */
    struct cfunctype type;
};

struct wit_iface {
    const struct chost_iface *host;
    uint32_t resource_base;       /* host->resources[i] is resource resource_base + i */
    const struct wit_type *types; /* defined and used, in text order */
    size_t ntypes;
    const struct wit_func *funcs; /* in text order */
    size_t nfuncs;
};

/* A parsed table of host interfaces (everything lives in the arena). */
struct wit_host {
    const struct wit_iface *ifaces; /* ifaces[i] is the table's entry i */
    size_t nifaces;
    uint32_t nresources; /* size of the host resource space */
};

/*
 * Parses the `wit` text of ifaces[0..n) and resolves them against each
 * other. Names and types are allocated from `arena` (the tables are
 * borrowed and must outlive the result). On failure *out is untouched and
 * the arena may hold partial results (free it as a whole).
 */
int wit_parse_host(const struct chost_iface *ifaces, size_t n, struct spry_arena *arena,
                   struct wit_host *out, struct spry_report *report);

/* Lookups by exact name; NULL when absent. */
const struct wit_iface *wit_host_iface(const struct wit_host *host, const char *name);
const struct wit_func *wit_iface_func(const struct wit_iface *iface, const char *name);
const struct ctype *wit_iface_type(const struct wit_iface *iface, const char *name);

/* The interface and table entry of host resource `index`; SPRY_ENOTFOUND
 * when out of range. */
int wit_host_resource(const struct wit_host *host, uint32_t index, const struct wit_iface **iface,
                      const struct chost_resource **resource);

#endif
