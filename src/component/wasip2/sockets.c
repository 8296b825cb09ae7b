/*
 * wasi:sockets: every interface is present with its exact types, and a
 * guest gets no network, as in wasmtime with TCP, UDP and name lookup
 * disallowed (Spry has no way yet to grant sockets to a component;
 * docs/wasi.md "WASI 0.2"):
 *  - instance-network returns a network handle (it grants nothing by
 *    itself);
 *  - create-tcp-socket and create-udp-socket fail with access-denied;
 *  - resolve-addresses fails with permanent-resolver-failure;
 *  - network-error-code answers none (no error of ours is a network one).
 * So no socket, datagram stream or resolver stream ever exists, and their
 * methods can only be reached with a handle that names nothing: they trap.
 */
#include "component/wasip2/p2.h"

enum {
    NET_ACCESS_DENIED = 1,               /* network.error-code */
    NET_PERMANENT_RESOLVER_FAILURE = 20, /* network.error-code */
};

static int network_error_code(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    if (p2_get(ctx, args[0].of.rep, P2_ERROR, NULL) == NULL)
        return p2_bad_handle(call, "error");
    result->kind = CT_OPTION;
    result->of.var.disc = 0;
    result->of.var.payload = NULL;
    return 0;
}

static int instance_network(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = p2_ctx(call, &ctx);
    return rc != 0 ? rc : p2_new_own(call, ctx, P2_NETWORK, 0, &slot, result);
}

static int create_socket(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    return p2_err_enum(call, result, NET_ACCESS_DENIED);
}

static int resolve_addresses(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    if (p2_get(ctx, args[0].of.rep, P2_NETWORK, NULL) == NULL)
        return p2_bad_handle(call, "network");
    return p2_err_enum(call, result, NET_PERMANENT_RESOLVER_FAILURE);
}

/* Methods of resources that are never created. */
static int no_socket(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    (void)result;
    return ccall_trap(call, "wasi: invalid socket handle (sockets are not granted)");
}

static const struct chost_resource network_resources[] = {{"network", p2_drop}};
static const struct chost_func network_funcs[] = {{"network-error-code", network_error_code}};

const struct chost_iface p2_iface_sockets_network = {
    .name = "wasi:sockets/network",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/error@0.2.12.{error};\n"
           "resource network;\n"
           "enum error-code {\n"
           "    unknown, access-denied, not-supported, invalid-argument, out-of-memory, timeout,\n"
           "    concurrency-conflict, not-in-progress, would-block, invalid-state,\n"
           "    new-socket-limit, address-not-bindable, address-in-use, remote-unreachable,\n"
           "    connection-refused, connection-reset, connection-aborted, datagram-too-large,\n"
           "    name-unresolvable, temporary-resolver-failure, permanent-resolver-failure,\n"
           "}\n"
           "network-error-code: func(err: borrow<error>) -> option<error-code>;\n"
           "enum ip-address-family { ipv4, ipv6 }\n"
           "type ipv4-address = tuple<u8, u8, u8, u8>;\n"
           "type ipv6-address = tuple<u16, u16, u16, u16, u16, u16, u16, u16>;\n"
           "variant ip-address { ipv4(ipv4-address), ipv6(ipv6-address) }\n"
           "record ipv4-socket-address { port: u16, address: ipv4-address }\n"
           "record ipv6-socket-address {\n"
           "    port: u16, flow-info: u32, address: ipv6-address, scope-id: u32,\n"
           "}\n"
           "variant ip-socket-address {\n"
           "    ipv4(ipv4-socket-address), ipv6(ipv6-socket-address),\n"
           "}\n",
    .resources = network_resources,
    .nresources = 1,
    .funcs = network_funcs,
    .nfuncs = 1,
};

static const struct chost_func instance_funcs[] = {{"instance-network", instance_network}};

const struct chost_iface p2_iface_sockets_instance_network = {
    .name = "wasi:sockets/instance-network",
    .version = WASIP2_VERSION,
    .wit = "use network.{network};\n"
           "instance-network: func() -> network;\n",
    .funcs = instance_funcs,
    .nfuncs = 1,
};

static const struct chost_resource udp_resources[] = {
    {"udp-socket", p2_drop},
    {"incoming-datagram-stream", p2_drop},
    {"outgoing-datagram-stream", p2_drop},
};

static const struct chost_func udp_funcs[] = {
    {"[method]udp-socket.start-bind", no_socket},
    {"[method]udp-socket.finish-bind", no_socket},
    {"[method]udp-socket.stream", no_socket},
    {"[method]udp-socket.local-address", no_socket},
    {"[method]udp-socket.remote-address", no_socket},
    {"[method]udp-socket.address-family", no_socket},
    {"[method]udp-socket.unicast-hop-limit", no_socket},
    {"[method]udp-socket.set-unicast-hop-limit", no_socket},
    {"[method]udp-socket.receive-buffer-size", no_socket},
    {"[method]udp-socket.set-receive-buffer-size", no_socket},
    {"[method]udp-socket.send-buffer-size", no_socket},
    {"[method]udp-socket.set-send-buffer-size", no_socket},
    {"[method]udp-socket.subscribe", no_socket},
    {"[method]incoming-datagram-stream.receive", no_socket},
    {"[method]incoming-datagram-stream.subscribe", no_socket},
    {"[method]outgoing-datagram-stream.check-send", no_socket},
    {"[method]outgoing-datagram-stream.send", no_socket},
    {"[method]outgoing-datagram-stream.subscribe", no_socket},
};

const struct chost_iface p2_iface_sockets_udp = {
    .name = "wasi:sockets/udp",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/poll@0.2.12.{pollable};\n"
           "use network.{network, error-code, ip-socket-address, ip-address-family};\n"
           "record incoming-datagram { data: list<u8>, remote-address: ip-socket-address }\n"
           "record outgoing-datagram {\n"
           "    data: list<u8>, remote-address: option<ip-socket-address>,\n"
           "}\n"
           "resource udp-socket {\n"
           "    start-bind: func(network: borrow<network>, local-address: ip-socket-address)\n"
           "        -> result<_, error-code>;\n"
           "    finish-bind: func() -> result<_, error-code>;\n"
           "    %stream: func(remote-address: option<ip-socket-address>)\n"
           "        -> result<tuple<incoming-datagram-stream, outgoing-datagram-stream>,\n"
           "                  error-code>;\n"
           "    local-address: func() -> result<ip-socket-address, error-code>;\n"
           "    remote-address: func() -> result<ip-socket-address, error-code>;\n"
           "    address-family: func() -> ip-address-family;\n"
           "    unicast-hop-limit: func() -> result<u8, error-code>;\n"
           "    set-unicast-hop-limit: func(value: u8) -> result<_, error-code>;\n"
           "    receive-buffer-size: func() -> result<u64, error-code>;\n"
           "    set-receive-buffer-size: func(value: u64) -> result<_, error-code>;\n"
           "    send-buffer-size: func() -> result<u64, error-code>;\n"
           "    set-send-buffer-size: func(value: u64) -> result<_, error-code>;\n"
           "    subscribe: func() -> pollable;\n"
           "}\n"
           "resource incoming-datagram-stream {\n"
           "    receive: func(max-results: u64) -> result<list<incoming-datagram>, error-code>;\n"
           "    subscribe: func() -> pollable;\n"
           "}\n"
           "resource outgoing-datagram-stream {\n"
           "    check-send: func() -> result<u64, error-code>;\n"
           "    send: func(datagrams: list<outgoing-datagram>) -> result<u64, error-code>;\n"
           "    subscribe: func() -> pollable;\n"
           "}\n",
    .resources = udp_resources,
    .nresources = 3,
    .funcs = udp_funcs,
    .nfuncs = sizeof udp_funcs / sizeof udp_funcs[0],
};

static const struct chost_func udp_create_funcs[] = {{"create-udp-socket", create_socket}};

const struct chost_iface p2_iface_sockets_udp_create_socket = {
    .name = "wasi:sockets/udp-create-socket",
    .version = WASIP2_VERSION,
    .wit = "use network.{network, error-code, ip-address-family};\n"
           "use udp.{udp-socket};\n"
           "create-udp-socket: func(address-family: ip-address-family)\n"
           "    -> result<udp-socket, error-code>;\n",
    .funcs = udp_create_funcs,
    .nfuncs = 1,
};

static const struct chost_resource tcp_resources[] = {{"tcp-socket", p2_drop}};

static const struct chost_func tcp_funcs[] = {
    {"[method]tcp-socket.start-bind", no_socket},
    {"[method]tcp-socket.finish-bind", no_socket},
    {"[method]tcp-socket.start-connect", no_socket},
    {"[method]tcp-socket.finish-connect", no_socket},
    {"[method]tcp-socket.start-listen", no_socket},
    {"[method]tcp-socket.finish-listen", no_socket},
    {"[method]tcp-socket.accept", no_socket},
    {"[method]tcp-socket.local-address", no_socket},
    {"[method]tcp-socket.remote-address", no_socket},
    {"[method]tcp-socket.is-listening", no_socket},
    {"[method]tcp-socket.address-family", no_socket},
    {"[method]tcp-socket.set-listen-backlog-size", no_socket},
    {"[method]tcp-socket.keep-alive-enabled", no_socket},
    {"[method]tcp-socket.set-keep-alive-enabled", no_socket},
    {"[method]tcp-socket.keep-alive-idle-time", no_socket},
    {"[method]tcp-socket.set-keep-alive-idle-time", no_socket},
    {"[method]tcp-socket.keep-alive-interval", no_socket},
    {"[method]tcp-socket.set-keep-alive-interval", no_socket},
    {"[method]tcp-socket.keep-alive-count", no_socket},
    {"[method]tcp-socket.set-keep-alive-count", no_socket},
    {"[method]tcp-socket.hop-limit", no_socket},
    {"[method]tcp-socket.set-hop-limit", no_socket},
    {"[method]tcp-socket.receive-buffer-size", no_socket},
    {"[method]tcp-socket.set-receive-buffer-size", no_socket},
    {"[method]tcp-socket.send-buffer-size", no_socket},
    {"[method]tcp-socket.set-send-buffer-size", no_socket},
    {"[method]tcp-socket.subscribe", no_socket},
    {"[method]tcp-socket.shutdown", no_socket},
};

const struct chost_iface p2_iface_sockets_tcp = {
    .name = "wasi:sockets/tcp",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/streams@0.2.12.{input-stream, output-stream};\n"
           "use wasi:io/poll@0.2.12.{pollable};\n"
           "use wasi:clocks/monotonic-clock@0.2.12.{duration};\n"
           "use network.{network, error-code, ip-socket-address, ip-address-family};\n"
           "enum shutdown-type { receive, send, both }\n"
           "resource tcp-socket {\n"
           "    start-bind: func(network: borrow<network>, local-address: ip-socket-address)\n"
           "        -> result<_, error-code>;\n"
           "    finish-bind: func() -> result<_, error-code>;\n"
           "    start-connect: func(network: borrow<network>, remote-address: ip-socket-address)\n"
           "        -> result<_, error-code>;\n"
           "    finish-connect: func() -> result<tuple<input-stream, output-stream>, error-code>;\n"
           "    start-listen: func() -> result<_, error-code>;\n"
           "    finish-listen: func() -> result<_, error-code>;\n"
           "    accept: func()\n"
           "        -> result<tuple<tcp-socket, input-stream, output-stream>, error-code>;\n"
           "    local-address: func() -> result<ip-socket-address, error-code>;\n"
           "    remote-address: func() -> result<ip-socket-address, error-code>;\n"
           "    is-listening: func() -> bool;\n"
           "    address-family: func() -> ip-address-family;\n"
           "    set-listen-backlog-size: func(value: u64) -> result<_, error-code>;\n"
           "    keep-alive-enabled: func() -> result<bool, error-code>;\n"
           "    set-keep-alive-enabled: func(value: bool) -> result<_, error-code>;\n"
           "    keep-alive-idle-time: func() -> result<duration, error-code>;\n"
           "    set-keep-alive-idle-time: func(value: duration) -> result<_, error-code>;\n"
           "    keep-alive-interval: func() -> result<duration, error-code>;\n"
           "    set-keep-alive-interval: func(value: duration) -> result<_, error-code>;\n"
           "    keep-alive-count: func() -> result<u32, error-code>;\n"
           "    set-keep-alive-count: func(value: u32) -> result<_, error-code>;\n"
           "    hop-limit: func() -> result<u8, error-code>;\n"
           "    set-hop-limit: func(value: u8) -> result<_, error-code>;\n"
           "    receive-buffer-size: func() -> result<u64, error-code>;\n"
           "    set-receive-buffer-size: func(value: u64) -> result<_, error-code>;\n"
           "    send-buffer-size: func() -> result<u64, error-code>;\n"
           "    set-send-buffer-size: func(value: u64) -> result<_, error-code>;\n"
           "    subscribe: func() -> pollable;\n"
           "    shutdown: func(shutdown-type: shutdown-type) -> result<_, error-code>;\n"
           "}\n",
    .resources = tcp_resources,
    .nresources = 1,
    .funcs = tcp_funcs,
    .nfuncs = sizeof tcp_funcs / sizeof tcp_funcs[0],
};

static const struct chost_func tcp_create_funcs[] = {{"create-tcp-socket", create_socket}};

const struct chost_iface p2_iface_sockets_tcp_create_socket = {
    .name = "wasi:sockets/tcp-create-socket",
    .version = WASIP2_VERSION,
    .wit = "use network.{network, error-code, ip-address-family};\n"
           "use tcp.{tcp-socket};\n"
           "create-tcp-socket: func(address-family: ip-address-family)\n"
           "    -> result<tcp-socket, error-code>;\n",
    .funcs = tcp_create_funcs,
    .nfuncs = 1,
};

static const struct chost_resource lookup_resources[] = {{"resolve-address-stream", p2_drop}};

static const struct chost_func lookup_funcs[] = {
    {"resolve-addresses", resolve_addresses},
    {"[method]resolve-address-stream.resolve-next-address", no_socket},
    {"[method]resolve-address-stream.subscribe", no_socket},
};

const struct chost_iface p2_iface_sockets_ip_name_lookup = {
    .name = "wasi:sockets/ip-name-lookup",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/poll@0.2.12.{pollable};\n"
           "use network.{network, error-code, ip-address};\n"
           "resolve-addresses: func(network: borrow<network>, name: string)\n"
           "    -> result<resolve-address-stream, error-code>;\n"
           "resource resolve-address-stream {\n"
           "    resolve-next-address: func() -> result<option<ip-address>, error-code>;\n"
           "    subscribe: func() -> pollable;\n"
           "}\n",
    .resources = lookup_resources,
    .nresources = 1,
    .funcs = lookup_funcs,
    .nfuncs = sizeof lookup_funcs / sizeof lookup_funcs[0],
};
