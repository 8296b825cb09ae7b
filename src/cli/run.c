/*
 * spry run: run a WebAssembly module under WASI preview 1, or call one of
 * its exports.
 *
 *   spry run [--dir HOST[::GUEST]] [--dir-ro HOST[::GUEST]] [--env K=V]
 *            [--tcplisten HOST:PORT] [--invoke NAME] [--] FILE.wasm [ARGS...]
 *
 * Without --invoke the module's _start runs with argv = FILE.wasm ARGS and
 * the exit status is the guest's proc_exit code (0 when _start returns).
 * With --invoke, `_initialize` runs first when the module exports it (a
 * reactor), then NAME with ARGS parsed by its parameter types (i32/i64 as
 * decimal or 0x-hex integers, f32/f64 as decimal floats); results are
 * printed one per line. A trap prints one line naming the function and
 * exits 134 (as wasmtime does on Unix); a module that cannot be loaded or
 * linked exits 1; bad usage exits 2. The contract with the guest tests is
 * in docs/wasi.md.
 */
#include "cli/commands.h"

#include "base/alloc.h"
#include "spry/component.h"
#include "spry/pool.h"
#include "spry/wasi.h"
#include "spry/wasm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_MODULE_BYTES = 1 << 30, EXIT_TRAP = 134 };

static void run_usage(FILE *out)
{
    fprintf(out, "usage: spry run [OPTIONS] FILE.wasm [ARGS...]\n"
                 "  --dir HOST[::GUEST]     pre-open directory HOST as GUEST (default: HOST)\n"
                 "  --dir-ro HOST[::GUEST]  the same, read-only\n"
                 "  --env KEY=VALUE         set a guest environment variable (none is inherited)\n"
                 "  --tcplisten HOST:PORT   pre-open a listening TCP socket (for sock_accept;\n"
                 "                          modules only: components open their own sockets)\n"
                 "  --invoke NAME           a module: call export NAME with typed ARGS instead of\n"
                 "                          _start (i32/i64 decimal or 0x-hex, f32/f64 decimal)\n"
                 "  --invoke 'CALL'         a component: call the export CALL names, a WAVE call\n"
                 "                          such as 'add(1, 2)' or 'greet(\"x\")'; prints the\n"
                 "                          result in WAVE ('()' for none)\n"
                 "  --native                compile the wasm to native code with the system C\n"
                 "                          compiler (cached; docs/native.md), as SPRY_NATIVE=1\n"
                 "  --                      end of options\n");
}

/* A module file's bytes: mapped when it is a regular file (no copy through
 * read(2): the engine copies once anyway), read otherwise (pipes). */
struct file_bytes {
    uint8_t *data;
    size_t len;
    bool mapped;
};

static void file_bytes_fini(struct file_bytes *f)
{
    if (f->mapped)
        munmap(f->data, f->len);
    else
        spry_free(f->data);
    memset(f, 0, sizeof *f);
}

/* Reads what is left of fd into memory (bounded by MAX_MODULE_BYTES). */
static int read_all(int fd, const char *path, struct file_bytes *out)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = spry_malloc(cap);
    while (buf != NULL) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "spry: cannot read '%s': %s\n", path, strerror(errno));
            spry_free(buf);
            return -1;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == cap) {
            if (cap >= MAX_MODULE_BYTES) {
                fprintf(stderr, "spry: '%s' is larger than %d bytes\n", path, MAX_MODULE_BYTES);
                spry_free(buf);
                return -1;
            }
            uint8_t *bigger = spry_realloc(buf, cap * 2);
            if (bigger == NULL)
                spry_free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "spry: out of memory reading '%s'\n", path);
        return -1;
    }
    out->data = buf;
    out->len = n;
    out->mapped = false;
    return 0;
}

static int read_file(const char *path, struct file_bytes *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "spry: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if (st.st_size > MAX_MODULE_BYTES) {
            fprintf(stderr, "spry: '%s' is larger than %d bytes\n", path, MAX_MODULE_BYTES);
            close(fd);
            return -1;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            out->data = p;
            out->len = (size_t)st.st_size;
            out->mapped = true;
            close(fd);
            return 0;
        }
    }
    rc = read_all(fd, path, out);
    close(fd);
    return rc;
}

static int parse_arg(const char *text, uint8_t type, struct spry_val *out)
{
    char *end = NULL;
    errno = 0;
    out->type = type;
    switch (type) {
    case SPRY_I32: {
        long long v = strtoll(text, &end, 0);
        if (v < INT32_MIN || v > UINT32_MAX)
            return -1;
        out->of.i32 = (int32_t)(uint32_t)v;
        break;
    }
    case SPRY_I64: {
        if (text[0] == '-')
            out->of.i64 = strtoll(text, &end, 0);
        else
            out->of.i64 = (int64_t)strtoull(text, &end, 0);
        break;
    }
    case SPRY_F32: {
        float f = strtof(text, &end);
        memcpy(&out->of.f32_bits, &f, 4);
        break;
    }
    case SPRY_F64: {
        double d = strtod(text, &end);
        memcpy(&out->of.f64_bits, &d, 8);
        break;
    }
    default:
        return -1;
    }
    return errno == 0 && end != text && *end == '\0' ? 0 : -1;
}

static void print_val(const struct spry_val *v)
{
    switch (v->type) {
    case SPRY_I32:
        printf("%" PRId32 "\n", v->of.i32);
        break;
    case SPRY_I64:
        printf("%" PRId64 "\n", v->of.i64);
        break;
    case SPRY_F32: {
        float f;
        memcpy(&f, &v->of.f32_bits, 4);
        printf("%.9g\n", f);
        break;
    }
    case SPRY_F64: {
        double d;
        memcpy(&d, &v->of.f64_bits, 8);
        printf("%.17g\n", d);
        break;
    }
    default:
        printf("%s\n", v->of.ref == NULL ? "null" : "ref");
        break;
    }
}

static void print_trap(const struct spry_trap *trap)
{
    fprintf(stderr, "spry: trap in %s%s%s (function %u, offset 0x%x): %s\n",
            trap->func_name[0] ? "'" : "", trap->func_name[0] ? trap->func_name : "wasm",
            trap->func_name[0] ? "'" : "", trap->func_index, trap->code_offset, trap->message);
}

/* The exit status for the outcome of a call: the guest's exit code, 0, or
 * EXIT_TRAP after printing the trap (guest output first). */
static int call_status(struct spry_wasi *wasi, int rc, const struct spry_trap *trap)
{
    if (rc == SPRY_EEXIT)
        return trap->exit_code & 0xff;
    if (rc == 0)
        return 0;
    spry_wasi_flush(wasi);
    if (rc == SPRY_ETRAP) {
        print_trap(trap);
        return EXIT_TRAP;
    }
    fprintf(stderr, "spry: call failed: %s\n", spry_strerror(rc));
    return 1;
}

/* Calls the export with typed arguments and prints its results; returns
 * the exit status. */
static int invoke(struct spry_wasi *wasi, struct spry_instance *inst, const char *name, int argc,
                  char **argv)
{
    struct spry_extern ext;
    if (spry_instance_export(inst, name, &ext) != 0 || ext.kind != SPRY_EXTERN_FUNC) {
        fprintf(stderr, "spry: the module exports no function '%s'\n", name);
        return 1;
    }
    const struct spry_functype *ft = spry_func_type(ext.of.func);
    if ((uint32_t)argc != ft->nparams) {
        fprintf(stderr, "spry: '%s' takes %u arguments, %d given\n", name, ft->nparams, argc);
        return 2;
    }
    struct spry_val *args = spry_calloc(ft->nparams + 1, sizeof *args);
    struct spry_val *results = spry_calloc(ft->nresults + 1, sizeof *results);
    int status = 1;
    if (args == NULL || results == NULL) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (parse_arg(argv[i], ft->params[i], &args[i]) != 0) {
            fprintf(stderr, "spry: argument %u ('%s') is not a valid %s\n", i + 1, argv[i],
                    ft->params[i] == SPRY_I32   ? "i32"
                    : ft->params[i] == SPRY_I64 ? "i64"
                    : ft->params[i] == SPRY_F32 ? "f32"
                    : ft->params[i] == SPRY_F64 ? "f64"
                                                : "value of a type the CLI cannot write");
            status = 2;
            goto done;
        }
    }
    struct spry_trap trap;
    int rc = spry_func_call(ext.of.func, args, ft->nparams, results, ft->nresults, &trap);
    if (rc != 0) {
        status = call_status(wasi, rc, &trap);
        goto done;
    }
    spry_wasi_flush(wasi); /* the guest's output comes before the results */
    for (uint32_t i = 0; i < ft->nresults; i++)
        print_val(&results[i]);
    status = 0;
done:
    spry_free(args);
    spry_free(results);
    return status;
}

/* Calls a () -> () export if the module has it; *found says whether. */
static int call_void(struct spry_instance *inst, const char *name, bool *found,
                     struct spry_trap *trap)
{
    struct spry_extern ext;
    *found = spry_instance_export(inst, name, &ext) == 0 && ext.kind == SPRY_EXTERN_FUNC;
    if (!*found)
        return 0;
    const struct spry_functype *ft = spry_func_type(ext.of.func);
    if (ft->nparams != 0 || ft->nresults != 0)
        return SPRY_EINVAL;
    return spry_func_call(ext.of.func, NULL, 0, NULL, 0, trap);
}

struct run_opts {
    const char *invoke;
    struct spry_wasi_preopen *preopens;
    size_t npreopens;
    const char **env;
    size_t nenv;
    int *sockets;
    size_t nsockets;
};

/* HOST[::GUEST] */
static void parse_dir(char *spec, bool readonly, struct spry_wasi_preopen *out)
{
    char *sep = strstr(spec, "::");
    out->host_path = spec;
    out->guest_path = spec;
    out->readonly = readonly;
    if (sep != NULL) {
        *sep = '\0';
        out->guest_path = sep + 2;
    }
}

/* A listening TCP socket on HOST:PORT, HOST being a numeric IPv4 address,
 * [IPv6] or `localhost` (numeric only: the binary is linked statically,
 * without the resolver). -1 after printing why not. */
static int listen_on(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    size_t hlen = colon != NULL ? (size_t)(colon - spec) : 0;
    const char *h = spec;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    unsigned long port = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || hlen >= sizeof host || end == colon + 1 || *end != '\0' || port > 65535) {
        fprintf(stderr, "spry run: --tcplisten wants HOST:PORT, not '%s'\n", spec);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        fprintf(stderr, "spry run: --tcplisten %s: not a numeric address\n", spec);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "spry run: --tcplisten %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    return fd;
}

/* Parses options; returns the index of FILE.wasm, or -1 after printing a
 * usage error (-2: --help printed). */
static int parse_opts(int argc, char **argv, struct run_opts *o)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            run_usage(stdout);
            return -2;
        } else if (strcmp(a, "--native") == 0) {
            /* Every module this run loads (a component's too): docs/native.md. */
            setenv("SPRY_NATIVE", "1", 1);
        } else if (strcmp(a, "--invoke") == 0 && has_value) {
            o->invoke = argv[++i];
        } else if ((strcmp(a, "--dir") == 0 || strcmp(a, "--dir-ro") == 0) && has_value) {
            parse_dir(argv[++i], strcmp(a, "--dir-ro") == 0, &o->preopens[o->npreopens++]);
        } else if (strcmp(a, "--env") == 0 && has_value) {
            if (strchr(argv[i + 1], '=') == NULL || argv[i + 1][0] == '=') {
                fprintf(stderr, "spry run: --env wants KEY=VALUE, not '%s'\n", argv[i + 1]);
                return -1;
            }
            o->env[o->nenv++] = argv[++i];
        } else if (strcmp(a, "--tcplisten") == 0 && has_value) {
            int fd = listen_on(argv[++i]);
            if (fd < 0)
                return -1;
            o->sockets[o->nsockets++] = fd;
        } else {
            fprintf(stderr, "spry run: unknown option '%s' (see 'spry run --help')\n", a);
            return -1;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "spry run: missing FILE.wasm (see 'spry run --help')\n");
        return -1;
    }
    return i;
}

/* Loads, links and instantiates; returns the exit status of the run. */
static int run_module(const char *path, struct spry_module *module, struct spry_wasi *wasi,
                      const struct run_opts *o, int argc, char **argv)
{
    struct spry_report report;
    spry_report_init(&report);
    struct spry_store *store = NULL;
    struct spry_extern *imports = NULL;
    struct spry_instance *inst = NULL;
    struct spry_trap trap;
    int status = 1;
    size_t ndefs, nimports = spry_module_import_count(module);
    const struct spry_host_def *defs = spry_wasi_host_defs(&ndefs);
    imports = spry_calloc(nimports + 1, sizeof *imports);
    if (imports == NULL || spry_store_create(NULL, &store) != 0) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    spry_wasi_attach(wasi, store);
    int rc = spry_host_link(store, module, defs, ndefs, imports, &report);
    if (rc == 0)
        rc = spry_instance_create(store, module, imports, nimports, &inst, &report, &trap);
    if (rc == SPRY_ETRAP || rc == SPRY_EEXIT) {
        status = call_status(wasi, rc, &trap);
        goto done;
    }
    if (rc != 0) {
        fprintf(stderr, "spry: %s: %s\n", path, report.message);
        goto done;
    }
    bool found;
    if (o->invoke != NULL) {
        rc = call_void(inst, "_initialize", &found, &trap);
        status = rc == 0 ? invoke(wasi, inst, o->invoke, argc, argv) : call_status(wasi, rc, &trap);
        goto done;
    }
    rc = call_void(inst, "_start", &found, &trap);
    if (!found) {
        bool reactor;
        rc = call_void(inst, "_initialize", &reactor, &trap);
        if (!reactor) {
            fprintf(stderr, "spry: %s: the module exports no function '_start'\n", path);
            goto done;
        }
    }
    if (rc == SPRY_EINVAL) {
        fprintf(stderr, "spry: %s: '_start' must take and return nothing\n", path);
        goto done;
    }
    status = call_status(wasi, rc, &trap);
done:
    spry_wasi_flush(wasi);
    spry_store_destroy(store);
    spry_free(imports);
    return status;
}

/* Whether a component error happened before anything ran because of what
 * the user wrote (--invoke's text): a usage error. */
static bool invoke_usage_error(int rc)
{
    return rc == SPRY_EINVAL || rc == SPRY_ENOTFOUND;
}

/* A component: linked against WASI 0.2, instantiated from a one-slot pool,
 * its wasi:cli/run export called, or with --invoke the export the WAVE call
 * names (spry_component_invoke), its result printed. Returns the exit
 * status. */
static int run_component(const char *path, const struct file_bytes *bytes,
                         const struct spry_wasi_config *config, const struct run_opts *o)
{
    if (o->nsockets != 0) {
        /* wasmtime refuses it too: a WASI 0.2 guest opens its own sockets
         * (wasi:sockets), there is no pre-opened listener to hand it. */
        fprintf(stderr, "spry: %s: components do not support --tcplisten\n", path);
        return 2;
    }
    struct spry_report report;
    spry_report_init(&report);
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 1;
    pc.max_waiters = 0;
    struct spry_pool *pool = NULL;
    struct spry_component *c = NULL;
    char *result = NULL;
    int status = 1;
    int rc = spry_pool_create(&pc, &pool, &report);
    if (rc == 0)
        rc = spry_component_load(pool, bytes->data, bytes->len, &c, &report);
    if (rc == 0 && o->invoke == NULL && !spry_component_is_command(c)) {
        fprintf(stderr,
                "spry: %s: the component exports no wasi:cli/run@0.2.x (not a "
                "command)\n",
                path);
        goto done;
    }
    struct spry_trap trap;
    if (rc == 0 && o->invoke != NULL) {
        rc = spry_component_invoke(c, config, o->invoke, &result, &trap, &report);
        if (rc != 0 && invoke_usage_error(rc)) {
            fprintf(stderr, "spry: %s: --invoke '%s': %s\n", path, o->invoke, report.message);
            status = 2;
            goto done;
        }
    } else if (rc == 0) {
        rc = spry_component_run(c, config, &trap, &report);
    }
    if (rc == SPRY_EEXIT) {
        status = trap.exit_code & 0xff;
    } else if (rc == SPRY_ETRAP) {
        print_trap(&trap);
        status = EXIT_TRAP;
    } else if (rc != 0) {
        fprintf(stderr, "spry: %s: %s\n", path, report.message);
    } else {
        if (result != NULL)
            printf("%s\n", result);
        status = 0;
    }
done:
    spry_free(result);
    spry_component_destroy(c);
    spry_pool_destroy(pool);
    return status;
}

int cli_run(int argc, char **argv)
{
    struct run_opts o = {0};
    size_t n = (size_t)argc;
    o.preopens = spry_calloc(n, sizeof *o.preopens);
    o.env = spry_calloc(n, sizeof *o.env);
    o.sockets = spry_calloc(n, sizeof *o.sockets);
    int status = 1;
    struct spry_module *module = NULL;
    struct spry_wasi *wasi = NULL;
    const char **guest_argv = NULL;
    struct file_bytes bytes = {0};
    if (o.preopens == NULL || o.env == NULL || o.sockets == NULL) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    int i = parse_opts(argc, argv, &o);
    if (i < 0) {
        status = i == -2 ? 0 : 2;
        goto done;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is EPIPE for the guest, not death */
    const char *path = argv[i++];
    if (read_file(path, &bytes) != 0)
        goto done;
    struct spry_report report;
    spry_report_init(&report);
    bool component = spry_component_detect(bytes.data, bytes.len);
    int rc = component ? 0 : spry_module_load(bytes.data, bytes.len, NULL, &module, &report);
    if (!component)
        file_bytes_fini(&bytes);
    if (rc != 0) {
        fprintf(stderr, "spry: %s: %s\n", path, report.message);
        goto done;
    }
    if (component && o.invoke != NULL && i < argc) {
        /* A component's arguments are in the WAVE call. */
        fprintf(stderr,
                "spry run: --invoke for a component takes its arguments in the call, as in "
                "'f(1, \"x\")'; unexpected '%s' after %s\n",
                argv[i], path);
        status = 2;
        goto done;
    }
    /* The guest's argv: FILE.wasm, then ARGS unless they are --invoke's. */
    int nguest = o.invoke != NULL ? 1 : 1 + (argc - i);
    guest_argv = spry_calloc((size_t)nguest + 1, sizeof *guest_argv);
    if (guest_argv == NULL) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    guest_argv[0] = path;
    for (int k = 1; k < nguest; k++)
        guest_argv[k] = argv[i + k - 1];
    struct spry_wasi_config config = {
        .args = guest_argv,
        .nargs = (size_t)nguest,
        .env = o.env,
        .nenv = o.nenv,
        .preopens = o.preopens,
        .npreopens = o.npreopens,
        .sockets = o.sockets,
        .nsockets = o.nsockets,
    };
    if (component) {
        status = run_component(path, &bytes, &config, &o);
        goto done;
    }
    rc = spry_wasi_create(&config, &wasi, &report);
    if (rc != 0) {
        fprintf(stderr, "spry: %s\n", report.message);
        goto done;
    }
    status = run_module(path, module, wasi, &o, argc - i, argv + i);
done:
    file_bytes_fini(&bytes);
    spry_wasi_destroy(wasi);
    spry_module_destroy(module);
    for (size_t k = 0; k < o.nsockets; k++)
        close(o.sockets[k]);
    spry_free(guest_argv);
    spry_free(o.preopens);
    spry_free(o.env);
    spry_free(o.sockets);
    return status;
}
