"""Coverage-guided fuzz target of the check pipeline (atheris/libFuzzer), run as its own process.

    python -m tests.reliability.atheris_target -max_total_time=15 -seed=1 CORPUS_DIR

The first bytes of an input choose the method, route, ids, query, headers; the rest is the body. An
input fails (and libFuzzer saves it as crash-*) when building the request, the pipeline or the
rendering raises, a stage fails, or a rejection renders a 5xx: the same judge as the mutation fuzzer.
`write_seeds(dir)` fills a corpus directory from the demo examples.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["proxy"]):
    from tests.reliability.fuzzing import (
        AUTHS,
        ENCODINGS,
        HEX_IDS,
        METHODS,
        QUERIES,
        TEMPLATES,
        UUIDS,
        Case,
        Checker,
        _examples,
    )

HEAD = 7  # bytes of an input that choose everything but the body


def decode(data: bytes) -> Case:
    head = data[:HEAD].ljust(HEAD, b"\0")
    body = data[HEAD:]
    method = ("GET", "POST", "PATCH", "DELETE", *METHODS)[head[0] % (4 + len(METHODS))]
    template = TEMPLATES[head[1] % len(TEMPLATES)]
    target = template.format(
        s=HEX_IDS[head[2] % len(HEX_IDS)],
        a=UUIDS[head[3] % len(UUIDS)],
        u=HEX_IDS[(head[2] >> 4) % len(HEX_IDS)],
    )
    query = QUERIES[head[4] % len(QUERIES)]
    if query:
        target += "?" + query
    headers: dict[str, str] = {}
    auth = AUTHS[head[5] % len(AUTHS)]
    if auth is not None:
        headers["Authorization"] = auth
    encoding = ENCODINGS[head[6] % len(ENCODINGS)]
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    return Case(method, target, headers, body if body or head[0] & 0x80 else None)


def write_seeds(directory: Path) -> int:
    """One corpus file per example request (its method and route chosen, its body as is)."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    methods = ("GET", "POST", "PATCH", "DELETE")
    for method, target, body in _examples()[0]:
        if method not in methods:
            continue
        depth = target.count("/")
        template = {4: 0, 5: 1, 6: 2, 7: 3}.get(depth, 0)
        head = bytes([methods.index(method), template, 0, 0, 0, 1, 0])
        (directory / f"seed-{count:03d}").write_bytes(head + (body or b""))
        count += 1
    return count


_checker: Checker | None = None


def test_one_input(data: bytes) -> None:
    global _checker
    if _checker is None:
        _checker = Checker()
    case = decode(data)
    _, failure = _checker.verdict(case)
    if failure is not None:
        raise AssertionError(f"{failure}: {case.describe()}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
