/*
 * wasi:http/types error-code cases in the WIT's order, so that a case's
 * position is the variant's discriminant: X(C name, WIT name). One list
 * for the wasi:http host interfaces and the outbound client (host layer).
 */
#ifndef SPRY_COMPONENT_WASIHTTP_ERROR_CODES_H
#define SPRY_COMPONENT_WASIHTTP_ERROR_CODES_H

#define WASIHTTP_ERROR_CODES(X)                                                 \
    X(DNS_TIMEOUT, "DNS-timeout")                                               \
    X(DNS_ERROR, "DNS-error")                                                   \
    X(DESTINATION_NOT_FOUND, "destination-not-found")                           \
    X(DESTINATION_UNAVAILABLE, "destination-unavailable")                       \
    X(DESTINATION_IP_PROHIBITED, "destination-IP-prohibited")                   \
    X(DESTINATION_IP_UNROUTABLE, "destination-IP-unroutable")                   \
    X(CONNECTION_REFUSED, "connection-refused")                                 \
    X(CONNECTION_TERMINATED, "connection-terminated")                           \
    X(CONNECTION_TIMEOUT, "connection-timeout")                                 \
    X(CONNECTION_READ_TIMEOUT, "connection-read-timeout")                       \
    X(CONNECTION_WRITE_TIMEOUT, "connection-write-timeout")                     \
    X(CONNECTION_LIMIT_REACHED, "connection-limit-reached")                     \
    X(TLS_PROTOCOL_ERROR, "TLS-protocol-error")                                 \
    X(TLS_CERTIFICATE_ERROR, "TLS-certificate-error")                           \
    X(TLS_ALERT_RECEIVED, "TLS-alert-received")                                 \
    X(HTTP_REQUEST_DENIED, "HTTP-request-denied")                               \
    X(HTTP_REQUEST_LENGTH_REQUIRED, "HTTP-request-length-required")             \
    X(HTTP_REQUEST_BODY_SIZE, "HTTP-request-body-size")                         \
    X(HTTP_REQUEST_METHOD_INVALID, "HTTP-request-method-invalid")               \
    X(HTTP_REQUEST_URI_INVALID, "HTTP-request-URI-invalid")                     \
    X(HTTP_REQUEST_URI_TOO_LONG, "HTTP-request-URI-too-long")                   \
    X(HTTP_REQUEST_HEADER_SECTION_SIZE, "HTTP-request-header-section-size")     \
    X(HTTP_REQUEST_HEADER_SIZE, "HTTP-request-header-size")                     \
    X(HTTP_REQUEST_TRAILER_SECTION_SIZE, "HTTP-request-trailer-section-size")   \
    X(HTTP_REQUEST_TRAILER_SIZE, "HTTP-request-trailer-size")                   \
    X(HTTP_RESPONSE_INCOMPLETE, "HTTP-response-incomplete")                     \
    X(HTTP_RESPONSE_HEADER_SECTION_SIZE, "HTTP-response-header-section-size")   \
    X(HTTP_RESPONSE_HEADER_SIZE, "HTTP-response-header-size")                   \
    X(HTTP_RESPONSE_BODY_SIZE, "HTTP-response-body-size")                       \
    X(HTTP_RESPONSE_TRAILER_SECTION_SIZE, "HTTP-response-trailer-section-size") \
    X(HTTP_RESPONSE_TRAILER_SIZE, "HTTP-response-trailer-size")                 \
    X(HTTP_RESPONSE_TRANSFER_CODING, "HTTP-response-transfer-coding")           \
    X(HTTP_RESPONSE_CONTENT_CODING, "HTTP-response-content-coding")             \
    X(HTTP_RESPONSE_TIMEOUT, "HTTP-response-timeout")                           \
    X(HTTP_UPGRADE_FAILED, "HTTP-upgrade-failed")                               \
    X(HTTP_PROTOCOL_ERROR, "HTTP-protocol-error")                               \
    X(LOOP_DETECTED, "loop-detected")                                           \
    X(CONFIGURATION_ERROR, "configuration-error")                               \
    X(INTERNAL_ERROR, "internal-error")

#endif
