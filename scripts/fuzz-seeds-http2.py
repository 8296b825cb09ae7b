#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/fuzz_http2.c into fuzz/seeds/http2.

An input is: a mode byte, a byte seeding the executor's choices, then the
client's frames (the harness sends the connection preface first when the
mode's two low bits are not 0; see the harness's comment). Header blocks
use HPACK's static table and literals without indexing (RFC 7541), no
Huffman coding, so the seeds can be read with xxd.
"""
import os
import struct

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 2, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """A literal field without indexing, new name (RFC 7541 section 6.2.2)."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request(method, path, *fields):
    block = {"GET": b"\x82", "POST": b"\x83"}.get(method) or literal(":method", method)
    block += b"\x86"  # :scheme http
    block += b"\x84" if path == "/" else literal(":path", path)
    block += literal(":authority", "localhost")
    for name, value in fields:
        block += literal(name, value)
    return block


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


PREFACE = 0x01  # mode: the harness sends the preface
SMALL = 0x20  # mode: the small limits
DRAIN = 0x40  # mode: GOAWAY after the first read

seeds = {
    "get": bytes([PREFACE, 0]) + settings() +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, request("GET", "/w/hello?x=1")) +
    frame(SETTINGS, ACK, 0),
    "post-trailers": bytes([PREFACE | 4 << 2, 1]) + settings() +
    frame(HEADERS, END_HEADERS, 1, request("POST", "/s/up", ("content-length", "5"))) +
    frame(DATA, 0, 1, b"hel") + frame(DATA, 0, 1, b"lo") +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, literal("x-checksum", "abc")),
    "post-whole": bytes([PREFACE, 2]) + settings() +
    frame(HEADERS, END_HEADERS, 1, request("POST", "/w/up")) +
    frame(DATA, 0, 1, b"body bytes") +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, literal("x-t", "1")),
    "malformed": bytes([PREFACE, 3]) + settings() +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, request("GET", "/w/a", ("Upper", "x"))) +
    frame(HEADERS, END_HEADERS | END_STREAM, 3, b"\x82\x86" + literal(":authority", "a")) +
    frame(HEADERS, END_HEADERS | END_STREAM, 5, request("GET", "/w/b", ("connection", "close"))) +
    frame(HEADERS, END_HEADERS, 7, request("POST", "/s/c", ("content-length", "2"))) +
    frame(DATA, END_STREAM, 7, b"three"),
    "control": bytes([PREFACE, 4]) + settings((4, 0), (5, 16384), (3, 10)) +
    frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 65535)) +
    frame(PING, 0, 0, b"12345678") +
    frame(HEADERS, END_HEADERS, 1, request("POST", "/s/x")) +
    frame(PRIORITY, 0, 1, struct.pack(">IB", 0, 15)) +
    frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1000)) +
    frame(DATA, 0, 1, b"part") +
    frame(RST_STREAM, 0, 1, struct.pack(">I", 8)) +
    frame(HEADERS, END_HEADERS | END_STREAM, 3, request("GET", "/static")) +
    frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0)),
    "streams": bytes([PREFACE | DRAIN | 1 << 2, 5]) + settings() + b"".join(
        frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, request("GET", path))
        for i, path in enumerate(["/static", "/.well-known/spin/health", "/nope", "/w/1", "/s/2"])),
    "limits": bytes([PREFACE | SMALL, 6]) + settings() +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, request("GET", "/w/" + "p" * 70)) +
    frame(HEADERS, END_HEADERS | END_STREAM, 3,
          request("GET", "/w/f", *[("x-f%d" % i, "v" * 30) for i in range(9)])) +
    frame(HEADERS, END_HEADERS, 5, request("POST", "/s/big", ("content-length", "100"))) +
    frame(HEADERS, END_HEADERS, 7, request("POST", "/w/big")) +
    frame(DATA, END_STREAM, 7, b"x" * 100),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "seeds", "http2")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
