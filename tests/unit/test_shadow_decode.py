"""Upstream 4xx bodies kept for shadow comparison are decoded within a fixed bound."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from proxy.shadow import MAX_COMPARED_BODY, decoded

MESSAGE = b'{"message":"title is required"}\n'


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        (" GZIP ", gzip.compress),
        ("deflate", _raw_deflate),  # what gorilla's deflate sends
        ("deflate", zlib.compress),  # the zlib-wrapped form RFC 9110 names
    ],
)
def test_clever_bodies_decode_to_their_bytes(encoding: str | None, encode) -> None:  # type: ignore[no-untyped-def]
    assert decoded(encode(MESSAGE), encoding) == MESSAGE


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(MESSAGE)[:-6], "gzip"),  # truncated
        (b"not gzip at all", "gzip"),
        (MESSAGE, "br"),  # an encoding the proxy does not undo
        (b"x" * (MAX_COMPARED_BODY + 1), None),  # larger than any error answer of Clever's
    ],
)
def test_bodies_that_cannot_be_compared_decode_to_none(body: bytes, encoding: str | None) -> None:
    assert decoded(body, encoding) is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_not_inflated_past_the_bound(encoding: str) -> None:
    zeros = b"\0" * (60 * 1024 * 1024)  # deflate's best ratio is about 1:1030
    bomb = gzip.compress(zeros, 9) if encoding == "gzip" else _raw_deflate(zeros)
    del zeros
    assert len(bomb) <= MAX_COMPARED_BODY  # small enough to be kept and decoded
    tracemalloc.start()
    try:
        assert decoded(bomb, encoding) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_COMPARED_BODY  # 60 MiB without the bound
