/*
 * wasi:cli: environment (the configured args and env; nothing inherited;
 * no initial working directory), exit, stdin/stdout/stderr (streams over
 * the preview-1 context's stdio: each call makes a new stream handle, as
 * wasmtime does) and the terminal interfaces (a terminal handle only for a
 * stdio stream that is a host fd on a terminal).
 */
#include "component/wasip2/p2.h"

#include <string.h>
#include <unistd.h>

/* ---- environment ---- */

static int get_environment(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    const struct spry_wasi *w = ctx->wasi;
    struct cval *pairs = p2_vals(call, w->nenv);
    struct cval *strs = p2_vals(call, 2 * w->nenv);
    if (pairs == NULL || strs == NULL)
        return p2_oom(call);
    for (size_t i = 0; i < w->nenv; i++) {
        const char *kv = w->env[i];
        const char *eq = strchr(kv, '=');
        size_t klen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
        const char *val = eq != NULL ? eq + 1 : "";
        strs[2 * i] = (struct cval){.kind = CT_STRING, .of.str = {kv, klen}};
        strs[2 * i + 1] = (struct cval){.kind = CT_STRING, .of.str = {val, strlen(val)}};
        pairs[i].kind = CT_TUPLE;
        pairs[i].of.list.v = &strs[2 * i];
        pairs[i].of.list.n = 2;
    }
    result->kind = CT_LIST;
    result->of.list.v = pairs;
    result->of.list.n = w->nenv;
    return 0;
}

static int get_arguments(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    const struct spry_wasi *w = ctx->wasi;
    struct cval *v = p2_vals(call, w->nargs);
    if (v == NULL)
        return p2_oom(call);
    for (size_t i = 0; i < w->nargs; i++)
        v[i] = (struct cval){.kind = CT_STRING, .of.str = {w->args[i], strlen(w->args[i])}};
    result->kind = CT_LIST;
    result->of.list.v = v;
    result->of.list.n = w->nargs;
    return 0;
}

static int initial_cwd(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    result->kind = CT_OPTION;
    result->of.var.disc = 0; /* none: preopens are the guest's only directories */
    result->of.var.payload = NULL;
    return 0;
}

static const struct chost_func env_funcs[] = {
    {"get-environment", get_environment},
    {"get-arguments", get_arguments},
    {"initial-cwd", initial_cwd},
};

const struct chost_iface p2_iface_cli_environment = {
    .name = "wasi:cli/environment",
    .version = WASIP2_VERSION,
    .wit = "get-environment: func() -> list<tuple<string, string>>;\n"
           "get-arguments: func() -> list<string>;\n"
           "initial-cwd: func() -> option<string>;\n",
    .funcs = env_funcs,
    .nfuncs = sizeof env_funcs / sizeof env_funcs[0],
};

/* ---- exit ---- */

static int exit_with(struct ccall *call, int code)
{
    if (call->store == NULL)
        return ccall_trap(call, "wasi: exit without a store");
    spry_store_set_exit(call->store, code);
    return SPRY_EEXIT;
}

/* exit(ok) is status 0, exit(err) status 1 (as wasmtime). */
static int cli_exit(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)result;
    return exit_with(call, args[0].of.var.disc == 0 ? 0 : 1);
}

static int cli_exit_with_code(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)result;
    return exit_with(call, (int)(args[0].of.u & 0xff));
}

static const struct chost_func exit_funcs[] = {
    {"exit", cli_exit},
    {"exit-with-code", cli_exit_with_code},
};

const struct chost_iface p2_iface_cli_exit = {
    .name = "wasi:cli/exit",
    .version = WASIP2_VERSION,
    .wit = "exit: func(status: result);\n"
           "exit-with-code: func(status-code: u8);\n",
    .funcs = exit_funcs,
    .nfuncs = 2,
};

/* ---- stdin, stdout, stderr ---- */

static int stdio_stream(struct ccall *call, int index, struct cval *result)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = p2_ctx(call, &ctx);
    if (rc == 0)
        rc = p2_new_own(call, ctx, index == 0 ? P2_INPUT : P2_OUTPUT, 0, &slot, result);
    if (rc != 0)
        return rc;
    ctx->objs[slot].u.stream.how = P2_STREAM_STDIO;
    ctx->objs[slot].u.stream.stdio = (uint8_t)index;
    return 0;
}

static int get_stdin(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return stdio_stream(call, 0, result);
}

static int get_stdout(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return stdio_stream(call, 1, result);
}

static int get_stderr(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return stdio_stream(call, 2, result);
}

static const struct chost_func stdin_funcs[] = {{"get-stdin", get_stdin}};
static const struct chost_func stdout_funcs[] = {{"get-stdout", get_stdout}};
static const struct chost_func stderr_funcs[] = {{"get-stderr", get_stderr}};

const struct chost_iface p2_iface_cli_stdin = {
    .name = "wasi:cli/stdin",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/streams@0.2.12.{input-stream};\n"
           "get-stdin: func() -> input-stream;\n",
    .funcs = stdin_funcs,
    .nfuncs = 1,
};

const struct chost_iface p2_iface_cli_stdout = {
    .name = "wasi:cli/stdout",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/streams@0.2.12.{output-stream};\n"
           "get-stdout: func() -> output-stream;\n",
    .funcs = stdout_funcs,
    .nfuncs = 1,
};

const struct chost_iface p2_iface_cli_stderr = {
    .name = "wasi:cli/stderr",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/streams@0.2.12.{output-stream};\n"
           "get-stderr: func() -> output-stream;\n",
    .funcs = stderr_funcs,
    .nfuncs = 1,
};

/* ---- terminals ---- */

static const struct chost_resource term_in_resources[] = {{"terminal-input", p2_drop}};
static const struct chost_resource term_out_resources[] = {{"terminal-output", p2_drop}};

const struct chost_iface p2_iface_cli_terminal_input = {
    .name = "wasi:cli/terminal-input",
    .version = WASIP2_VERSION,
    .wit = "resource terminal-input;\n",
    .resources = term_in_resources,
    .nresources = 1,
};

const struct chost_iface p2_iface_cli_terminal_output = {
    .name = "wasi:cli/terminal-output",
    .version = WASIP2_VERSION,
    .wit = "resource terminal-output;\n",
    .resources = term_out_resources,
    .nresources = 1,
};

/* Whether guest stdio `index` is a host fd on a terminal. */
static bool is_terminal(const struct spry_wasi *w, int index)
{
    if (index == 0)
        return w->nfds > 0 && w->fds[0].used && w->fds[0].stream == NULL && w->fds[0].host >= 0 &&
               isatty(w->fds[0].host);
    const struct wasi_stream *s = &w->streams[index];
    return s->kind == WASI_STREAM_OUT_HOST && s->tty;
}

static int terminal(struct ccall *call, int index, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    result->kind = CT_OPTION;
    result->of.var.disc = 0;
    result->of.var.payload = NULL;
    if (!is_terminal(ctx->wasi, index))
        return 0;
    struct cval *v = p2_vals(call, 1);
    uint32_t slot;
    if (v == NULL)
        return p2_oom(call);
    rc = p2_new_own(call, ctx, index == 0 ? P2_TERM_IN : P2_TERM_OUT, 0, &slot, v);
    if (rc != 0)
        return rc;
    result->of.var.disc = 1;
    result->of.var.payload = v;
    return 0;
}

static int get_terminal_stdin(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return terminal(call, 0, result);
}

static int get_terminal_stdout(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return terminal(call, 1, result);
}

static int get_terminal_stderr(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return terminal(call, 2, result);
}

static const struct chost_func term_stdin_funcs[] = {{"get-terminal-stdin", get_terminal_stdin}};
static const struct chost_func term_stdout_funcs[] = {{"get-terminal-stdout", get_terminal_stdout}};
static const struct chost_func term_stderr_funcs[] = {{"get-terminal-stderr", get_terminal_stderr}};

const struct chost_iface p2_iface_cli_terminal_stdin = {
    .name = "wasi:cli/terminal-stdin",
    .version = WASIP2_VERSION,
    .wit = "use terminal-input.{terminal-input};\n"
           "get-terminal-stdin: func() -> option<terminal-input>;\n",
    .funcs = term_stdin_funcs,
    .nfuncs = 1,
};

const struct chost_iface p2_iface_cli_terminal_stdout = {
    .name = "wasi:cli/terminal-stdout",
    .version = WASIP2_VERSION,
    .wit = "use terminal-output.{terminal-output};\n"
           "get-terminal-stdout: func() -> option<terminal-output>;\n",
    .funcs = term_stdout_funcs,
    .nfuncs = 1,
};

const struct chost_iface p2_iface_cli_terminal_stderr = {
    .name = "wasi:cli/terminal-stderr",
    .version = WASIP2_VERSION,
    .wit = "use terminal-output.{terminal-output};\n"
           "get-terminal-stderr: func() -> option<terminal-output>;\n",
    .funcs = term_stderr_funcs,
    .nfuncs = 1,
};
