/*
 * Listen addresses: parsing "ADDR:PORT" / "[V6]:PORT" and opening the
 * per-loop listening sockets (SO_REUSEPORT, so the kernel spreads new
 * connections over the loops).
 */
#include "trigger/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int http_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
                      struct spry_report *report)
{
    char host[64];
    const char *colon, *h = text;
    size_t hl;
    if (text == NULL || text[0] == '\0')
        return spry_report_set(report, SPRY_EINVAL, "empty listen address");
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return spry_report_set(report, SPRY_EINVAL, "listen address '%s': expected [IPV6]:PORT",
                                   text);
        h = text + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return spry_report_set(report, SPRY_EINVAL,
                                   "listen address '%s': expected ADDRESS:PORT", text);
        hl = (size_t)(colon - text);
    }
    if (hl == 0 || hl >= sizeof(host))
        return spry_report_set(report, SPRY_EINVAL, "listen address '%s': bad host", text);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535 || colon[1] == '-' ||
        colon[1] == '+')
        return spry_report_set(report, SPRY_EINVAL, "listen address '%s': bad port", text);
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (text[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (text[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return spry_report_set(report, SPRY_EINVAL,
                           "listen address '%s': not a numeric IPv4 or [IPv6] address", text);
}

int listen_socket(const struct sockaddr_storage *addr, socklen_t len, int *out_fd,
                  struct spry_report *report)
{
    int one = 1;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return spry_report_set(report, SPRY_EIO, "socket: %s", strerror(errno));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        (addr->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0))
        goto fail;
    if (bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, SOMAXCONN) != 0)
        goto fail;
    *out_fd = fd;
    return 0;
fail:;
    int e = errno;
    close(fd);
    return spry_report_set(report, SPRY_EIO, "cannot listen: %s", strerror(e));
}
