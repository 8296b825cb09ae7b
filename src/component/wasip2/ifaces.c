/*
 * The table of WASI 0.2 host interfaces: every interface each file
 * defines, listed once, in dependency order (an interface comes after the
 * ones it uses, though the WIT parser does not need that).
 */
#include "component/wasip2/p2.h"

#include <pthread.h>

#define P2_IFACE_LIST(X)                  \
    X(p2_iface_io_error)                  \
    X(p2_iface_io_poll)                   \
    X(p2_iface_io_streams)                \
    X(p2_iface_clocks_monotonic)          \
    X(p2_iface_clocks_wall)               \
    X(p2_iface_random)                    \
    X(p2_iface_random_insecure)           \
    X(p2_iface_random_insecure_seed)      \
    X(p2_iface_cli_environment)           \
    X(p2_iface_cli_exit)                  \
    X(p2_iface_cli_stdin)                 \
    X(p2_iface_cli_stdout)                \
    X(p2_iface_cli_stderr)                \
    X(p2_iface_cli_terminal_input)        \
    X(p2_iface_cli_terminal_output)       \
    X(p2_iface_cli_terminal_stdin)        \
    X(p2_iface_cli_terminal_stdout)       \
    X(p2_iface_cli_terminal_stderr)       \
    X(p2_iface_filesystem_types)          \
    X(p2_iface_filesystem_preopens)       \
    X(p2_iface_sockets_network)           \
    X(p2_iface_sockets_instance_network)  \
    X(p2_iface_sockets_udp)               \
    X(p2_iface_sockets_udp_create_socket) \
    X(p2_iface_sockets_tcp)               \
    X(p2_iface_sockets_tcp_create_socket) \
    X(p2_iface_sockets_ip_name_lookup)

#define P2_IFACE_EXTERN(name) extern const struct chost_iface name;
P2_IFACE_LIST(P2_IFACE_EXTERN)
#undef P2_IFACE_EXTERN

static const struct chost_iface *const sources[] = {
#define P2_IFACE_ADDR(name) &name,
    P2_IFACE_LIST(P2_IFACE_ADDR)
#undef P2_IFACE_ADDR
};

enum { NIFACES = sizeof sources / sizeof sources[0] };

/* The definitions live in their interface's file; C cannot initialise one
 * array of structs from objects of other files, so the table is a copy
 * made once. */
static struct chost_iface table[NIFACES];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void fill_table(void)
{
    for (size_t i = 0; i < NIFACES; i++)
        table[i] = *sources[i];
}

const struct chost_iface *wasip2_ifaces(size_t *n)
{
    pthread_once(&table_once, fill_table);
    *n = NIFACES;
    return table;
}
