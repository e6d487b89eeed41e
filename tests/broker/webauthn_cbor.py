# SPDX-License-Identifier: BSD-3-Clause
"""The CBOR subset a WebAuthn registration needs, in the standard library
alone: the broker tests' software authenticator and the booted systemd
stage's driver (whose root has no python3-cryptography) both encode with it."""


def cbor(v):
    """The CBOR subset a registration needs (ints, bytes, text, lists, maps in the given order)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
        raise ValueError(n)
    if isinstance(v, bool):
        raise TypeError(v)
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)
