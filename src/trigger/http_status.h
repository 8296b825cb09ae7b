/*
 * Reason phrases for HTTP/1 status lines. HTTP/2 has none; HTTP/1 clients
 * ignore them (RFC 9112 section 4), but a "404 OK" misleads anyone reading
 * a trace, so every status we send gets the phrase of its code.
 */
#ifndef SPRY_TRIGGER_HTTP_STATUS_H
#define SPRY_TRIGGER_HTTP_STATUS_H

/* The registered phrase of `status` (RFC 9110 section 15, and the IANA
 * registry's other RFCs); for a code without one, the name of its class
 * ("Client Error" for 4xx, ...; "Unknown" outside 100..599). Never NULL;
 * the string is static. */
const char *http_status_reason(int status);

#endif
