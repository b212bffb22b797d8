"""How a snippet's plain `asyncio.run()` reaches the virtual-clock loop, on every Python.

A snippet calls `asyncio.run(main())` (or builds an `asyncio.Runner`, or calls
`asyncio.new_event_loop()`) and must get a `VirtualClockLoop` without knowing it. There are two
routes, and `install` takes one:

- **policy** (3.10-3.13): an event-loop policy whose `new_event_loop` builds the virtual loop,
  as the kit always did (and a snippet that names asyncio's own loop as `asyncio.run`'s
  `loop_factory` gets the virtual one too). The policy system is deprecated in 3.14 (a
  `DeprecationWarning` on every use) and removed in 3.16, so this route is never taken on 3.14
  or later.
- **factory** (3.14 and later; on older Pythons when asked, so that the route is tested on the
  interpreters this kit is developed on): `asyncio.Runner`'s default `loop_factory` becomes the
  virtual loop (and `asyncio.run`, which builds a `Runner` on 3.11+, follows), and
  `asyncio.new_event_loop` returns one (`asyncio.run` on 3.10 calls it; so does a snippet that
  drives a loop by hand). A loop made by a `loop_factory` is not set as the current loop, as on a
  real 3.14; inside it `get_event_loop()` returns the running loop, as everywhere.

Either way every loop made is kept, so the child can find the first guard that stopped a run.
Nothing here touches the policy API outside the version-gated policy route.

Standard library only: this module runs inside the learner's sandbox.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from .virtual_loop import VirtualClockLoop

#: The first Python whose event-loop policy API is deprecated.
POLICY_DEPRECATED = (3, 14)


def choose(requested: str | None, version: tuple[int, ...] | None = None) -> str:
    """The route to take: "factory" on 3.14+, else what was asked ("policy" by default).

    An unknown name is treated as "auto": the request comes from the grader, and a typo in a
    test switch must not take the grading down.
    """
    if (version or sys.version_info)[:2] >= POLICY_DEPRECATED:
        return "factory"
    if requested == "factory":
        return "factory"
    return "policy"


class LoopRoute:
    """The installed route: which one it is, and every virtual loop made through it so far."""

    def __init__(
        self,
        name: str,
        options: dict[str, Any],
        loop_class: type[VirtualClockLoop] = VirtualClockLoop,
    ) -> None:
        self.name = name
        self.options = options
        #: The child's sealed subclass for learner runs (docs/produce-integrity.md).
        self.loop_class = loop_class
        self.loops: list[VirtualClockLoop] = []

    def new_loop(self) -> VirtualClockLoop:
        """A fresh virtual loop with the run's options (observer, limits), remembered."""
        loop = self.loop_class(**self.options)
        self.loops.append(loop)
        return loop


def install(
    requested: str | None,
    *,
    loop_class: type[VirtualClockLoop] = VirtualClockLoop,
    **options: Any,
) -> LoopRoute:
    """Make every new event loop of this process a virtual one; return the route taken.

    `options` are `VirtualClockLoop`'s keyword arguments (`observer`, `max_steps`, ...);
    `loop_class` is the loop to make (the sandbox child's sealed subclass).
    Called once per process (a sandbox child runs one request), before the snippet loads.
    """
    route = LoopRoute(choose(requested), options, loop_class)
    if route.name == "policy":
        _install_policy(route)
    else:
        _install_factory(route)
    return route


def _install_policy(route: LoopRoute) -> None:
    if sys.version_info >= POLICY_DEPRECATED:  # pragma: no cover - `choose` never picks it there
        msg = "the event-loop policy route is not used on Python 3.14 and later"
        raise RuntimeError(msg)
    # Defined here, not at import: the base class is itself deprecated API on 3.14+.
    base: Any = asyncio.DefaultEventLoopPolicy

    sealed: list[bool] = []  # in a closure, not on the policy: dir(policy) is asyncio's own

    class _Policy(base):  # type: ignore[misc]  # a runtime-chosen base class
        # Learner code may see this policy (`asyncio.get_event_loop_policy()`): it is named
        # like asyncio's own, and its methods cannot be replaced (a `new_event_loop` of the
        # learner's would take `asyncio.run` off the virtual clock).
        def new_event_loop(self) -> VirtualClockLoop:
            return route.new_loop()

        def __setattr__(self, name: str, value: object) -> None:
            if sealed and not name.startswith("_"):
                msg = f"`policy.{name}` cannot be replaced under the grader"
                sys.audit("kitrt.refused", msg)
                raise AttributeError(msg)
            super().__setattr__(name, value)

    _Policy.__name__, _Policy.__qualname__ = base.__name__, base.__qualname__
    _Policy.__module__ = base.__module__
    policy = _Policy()
    sealed.append(True)
    asyncio.set_event_loop_policy(policy)
    # Without a loop_factory the Runner asks the policy; asyncio's own loop named as one is
    # swapped all the same.
    _install_runner(route, by_default=False)


def _install_factory(route: LoopRoute) -> None:
    def new_event_loop() -> VirtualClockLoop:
        return route.new_loop()

    asyncio.new_event_loop = new_event_loop
    asyncio.events.new_event_loop = new_event_loop  # where asyncio.run looks it up on 3.10
    _install_runner(route, by_default=True)


def _install_runner(route: LoopRoute, *, by_default: bool) -> None:
    """Give `asyncio.Runner` (3.11+; `asyncio.run` builds one) the virtual loop.

    `by_default`: as its default `loop_factory`; either way, a snippet that names one of
    asyncio's own loops (`loop_factory=asyncio.EventLoop`, as 3.14 programs do) gets the virtual
    loop instead, or it would escape the virtual clock and really sleep.
    """
    runner_class: Any = getattr(asyncio, "Runner", None)
    if runner_class is None:  # 3.10: asyncio.run calls new_event_loop directly
        return
    real_defaults = _real_default_factories()

    class VirtualRunner(runner_class):  # type: ignore[misc]  # a runtime-chosen base class
        """`asyncio.Runner` whose loop is virtual unless the snippet brings a loop of its own."""

        def __init__(
            self, *, debug: bool | None = None, loop_factory: Callable[[], Any] | None = None
        ) -> None:
            if (loop_factory is None and by_default) or loop_factory in real_defaults:
                loop_factory = route.new_loop
            super().__init__(debug=debug, loop_factory=loop_factory)

    VirtualRunner.__name__ = VirtualRunner.__qualname__ = "Runner"
    VirtualRunner.__module__ = runner_class.__module__
    package: Any = asyncio  # typed as 3.10's asyncio, which has no Runner
    package.Runner = VirtualRunner
    package.runners.Runner = VirtualRunner  # what asyncio.run builds


def _real_default_factories() -> tuple[Callable[[], Any], ...]:
    """Asyncio's own loop constructors, as a snippet would name them for `loop_factory`."""
    found: list[Callable[[], Any]] = [asyncio.new_event_loop, asyncio.SelectorEventLoop]
    event_loop = getattr(asyncio, "EventLoop", None)  # 3.13+
    if event_loop is not None:
        found.append(event_loop)
    return tuple(found)
