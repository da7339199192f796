"""Which event loop runs the proxy (`server.event_loop`): uvloop where it is installed, else asyncio's.

uvloop is libuv under asyncio's interface: scheduling, sockets and transports in C, which is most of
what a proxy does per request. asyncio's own loop is the fallback (uvloop is not built for every
platform) and can be chosen explicitly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

CHOICES = ("auto", "uvloop", "asyncio")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory for a `server.event_loop` value ("auto": uvloop when it imports, else asyncio's)."""
    if choice not in CHOICES:
        raise ValueError(f"event loop: expected one of {', '.join(CHOICES)}, got {choice!r}")
    if choice == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":  # the settings check that it is installed; a broken install ends here
            raise
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def chosen(choice: str) -> str:
    """ "uvloop" or "asyncio": the package whose loop `loop_factory(choice)` makes."""
    return loop_factory(choice).__module__.partition(".")[0]


def name_of(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": the package that made the loop."""
    return type(loop).__module__.partition(".")[0]


def run(main: Callable[[], Coroutine[Any, Any, object]], choice: str) -> None:
    """asyncio.run(main()) on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        runner.run(main())
