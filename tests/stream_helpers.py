"""Feeding decoders the way a serial port does: whole, in random pieces, byte by byte."""

import numpy as np

FEEDS = ["whole", "random", "bytes"]


def pieces(data: bytes, how: str, seed: int = 0, longest: int = 300) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, longest, size=len(data)))
    cuts = [0, *cuts[cuts < len(data)].tolist(), len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def decode(decoder, data: bytes, how: str = "whole", seed: int = 0, longest: int = 300):
    """Feed ``data`` as told; return everything that came out, concatenated."""
    batches = [decoder.feed(p) for p in pieces(data, how, seed, longest)]
    return (
        np.concatenate([b.seq for b in batches]),
        np.concatenate([b.t_device_s for b in batches]),
        np.concatenate([b.counts for b in batches]),
        [g for b in batches for g in b.gaps],
    )


def expect_stats(decoder, data: bytes, **nonzero) -> None:
    """Every counter is zero except ``bytes_in`` and those given."""
    want = dict.fromkeys(decoder.stats.as_dict(), 0)
    want.update(bytes_in=len(data), **nonzero)
    assert decoder.stats.as_dict() == want
