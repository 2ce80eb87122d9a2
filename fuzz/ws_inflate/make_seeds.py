#!/usr/bin/env python3
"""Writes fuzz/ws_inflate/corpus: a setup byte (window bits - 8 in bits
0-2, no context takeover in bit 3, the limit's index in bits 4-5, the
client role in bit 6), then messages as a 2-byte big-endian length and the
compressed bytes (RFC 7692 §7.2.1: raw deflate, sync flush, tail removed)."""
import os
import zlib

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)


def msgs(*ms):
    return b"".join(len(m).to_bytes(2, "big") + m for m in ms)


def deflate_all(texts, bits, takeover, level=6):
    out, c = [], None
    for t in texts:
        if c is None or not takeover:
            c = zlib.compressobj(level, zlib.DEFLATED, -max(bits, 9))
        z = c.compress(t) + c.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(b"\x00\x00\xff\xff")
        out.append(z[:-4])
    return out


def cfg(bits, nct=False, limit=0, client=False):
    return bytes([(bits - 8) | nct << 3 | limit << 4 | client << 6])


HELLO = bytes.fromhex("f248cdc9c90700")
text = [b"the quick brown fox jumps over the lazy dog " * 20,
        b"the lazy dog sleeps; the quick brown fox jumps again " * 10,
        b"", b"{\"op\":\"update\",\"id\":42,\"fields\":[1,2,3]}"]
seeds = {
    "rfc_hello_shared": cfg(15) + msgs(HELLO, bytes.fromhex("f200110000")),
    "rfc_blocks": cfg(15, nct=True) + msgs(bytes.fromhex("000500faff48656c6c6f00"),
                                           bytes.fromhex("f348cdc9c9070000"),
                                           bytes.fromhex("f248050000 00ffffcac9c90700".replace(" ", "")),
                                           b"\x00", b""),
    "text_15_takeover": cfg(15) + msgs(*deflate_all(text, 15, True)),
    "text_9_no_takeover": cfg(9, nct=True, client=True) + msgs(*deflate_all(text, 9, False)),
    "text_8_takeover": cfg(8, limit=2) + msgs(*deflate_all(text, 8, True, 9)),
    "text_12_takeover": cfg(12, client=True) + msgs(*deflate_all(text, 12, True, 1)),
    "zeros_limit_100": cfg(15, limit=1) + msgs(*deflate_all([bytes(65536)], 15, True)),
    "zeros_limit_20000": cfg(11, limit=2) + msgs(*deflate_all([bytes(60000)] * 2, 11, True)),
    "corrupt_btype": cfg(15) + msgs(b"\xff\xff\xff\xff"),
    "cut_block": cfg(15) + msgs(HELLO[:3]),
}
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
