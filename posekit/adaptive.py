"""Thread-count adaptation: run a model with its threads while that pays, with one when it doesn't.

On a quiet machine the landmark model is fastest with two onnxruntime threads that spin during
a run. When other work holds the second core, each of the model's ~75 parallel layers waits for
the descheduled worker, and a run can take twice as long as with one thread: on the 2-core
benchmark machine with one busy-loop process, lite tracking took 6.6-6.9 ms per frame in
about half the runs with two threads against 3.4 ms with one (MediaPipe: 8.3 ms), and full 10.8
against 5.8 ms (MediaPipe: 10.7 ms). Which case happens depends on how the scheduler places the
threads, so no fixed setting is right for both.

:class:`AdaptiveSession` wraps the session it is given (the *primary*) and measures every run.
When the primary's recent run time (an exponential moving average) rises to ``slow_ratio``
times the best it has shown, it builds the *fallback* (one thread, no spinning; only then, so a
quiet machine never pays its memory) and from then on runs whichever of the two has the lower
recent time, re-timing the other one every ``probe_every`` runs so that it switches back when the
load goes. Both sessions compute the same outputs bit for bit (onnxruntime's CPU kernels do not
depend on the thread count for these models; ``tests/test_adaptive.py`` checks it), so switching
changes only the timing, never a result.

Example:
    >>> import itertools
    >>> class Fake:  # a ModelRunner that takes ``cost`` seconds on a fake clock
    ...     def __init__(self, cost: float) -> None: self.cost = cost
    ...     def run_outputs(self, names, feeds):
    ...         now[0] += self.cost
    ...         return [feeds["x"]]
    >>> now = [0.0]
    >>> primary = Fake(0.002)
    >>> s = AdaptiveSession(primary, lambda: Fake(0.003), clock=lambda: now[0])
    >>> for _ in range(20): _ = s.run_outputs(["y"], {"x": 1})
    >>> s.fallback_built, s.active
    (False, 'primary')
    >>> primary.cost = 0.006  # the other core got busy
    >>> for _ in range(20): _ = s.run_outputs(["y"], {"x": 1})
    >>> s.fallback_built, s.active
    (True, 'fallback')
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from numpy.typing import NDArray

from posekit.errors import InputError

__all__ = ["AdaptiveSession"]

logger = logging.getLogger(__name__)

Which = Literal["primary", "fallback"]


class AdaptiveSession:
    """A model runner that switches between its threaded session and a one-thread fallback.

    Args:
        primary: the session to use while it is fast (e.g. 2 threads, spinning).
        make_fallback: builds the fallback session (e.g. 1 thread, no spinning); called at most
            once, the first time the primary slows down.
        slow_ratio: the primary counts as slowed down when its moving average exceeds this
            multiple of its best moving average (default 1.6: above the 30-40 % by which the
            benchmark machine's speed drifts on its own, below the 1.8-3x of a busy core).
        probe_every: while both exist, the one not in use runs once every this many runs to
            re-measure it (default 50: 2 % of runs).
        warmup: runs of the primary before its timing counts (default 10).
        alpha: weight of a new run time in the moving averages (default 0.2; a probe counts
            with ``max(alpha, 0.5)`` since probes are rare).
        clock: seconds counter (default :func:`time.perf_counter`); tests pass a fake one.

    Attributes mirror the primary's (``input_names``, ``output_names``, ``num_threads``,
    ``path``...), so code written for an :class:`~posekit.inference.InferenceSession` keeps
    working. :attr:`active` says which session the next run uses, :attr:`switches` counts
    changes, :attr:`fallback_built` whether the fallback exists. Thread-safe.

    Raises:
        InputError: a parameter out of range.
    """

    def __init__(
        self,
        primary: Any,
        make_fallback: Callable[[], Any],
        *,
        slow_ratio: float = 1.6,
        probe_every: int = 50,
        warmup: int = 10,
        alpha: float = 0.2,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not float(slow_ratio) > 1.0:
            raise InputError(f"slow_ratio={slow_ratio} must be > 1 (a multiple of the best time)")
        if isinstance(probe_every, bool) or not isinstance(probe_every, int) or probe_every < 2:
            raise InputError(f"probe_every={probe_every!r} must be an integer >= 2")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise InputError(f"warmup={warmup!r} must be an integer >= 0")
        if not 0.0 < float(alpha) <= 1.0:
            raise InputError(f"alpha={alpha} must be in (0, 1]")
        self.primary = primary
        self._make_fallback = make_fallback
        self.fallback: Any | None = None
        self._fallback_failed = False
        self.slow_ratio = float(slow_ratio)
        self.probe_every = probe_every
        self.warmup = warmup
        self.alpha = float(alpha)
        self._probe_alpha = max(self.alpha, 0.5)
        self._clock = clock
        self._lock = threading.Lock()
        self._avg: dict[Which, float | None] = {"primary": None, "fallback": None}
        self._best_primary: float | None = None
        self._primary_runs = 0
        self._since_probe = 0
        #: The session the next (non-probe) run uses.
        self.active: Which = "primary"
        #: How many times :attr:`active` changed.
        self.switches = 0
        #: Runs per session, including probes.
        self.runs: dict[Which, int] = {"primary": 0, "fallback": 0}

    # ------------------------------------------------------------------ ModelRunner interface
    def run_outputs(
        self, output_names: Sequence[str] | None, feeds: Mapping[str, NDArray[Any]]
    ) -> list[NDArray[Any]]:
        """Run the model on ``feeds`` with the session the policy picks; returns the outputs."""
        with self._lock:
            which = self._pick()
            sess: Any = self.primary if which == "primary" else self.fallback
            probe = which != self.active
            t0 = self._clock()
            out: list[NDArray[Any]] = sess.run_outputs(output_names, feeds)
            self._record(which, self._clock() - t0, probe)
            return out

    def run(self, feeds: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Every output by name (as :meth:`InferenceSession.run`)."""
        names = list(self.primary.output_names)
        return dict(zip(names, self.run_outputs(names, feeds), strict=True))

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes this object lacks: describe the primary (input names,
        # shapes, path, thread count...). Private names are not forwarded.
        if name.startswith("_") or name == "primary":
            raise AttributeError(name)
        return getattr(self.primary, name)

    @property
    def fallback_built(self) -> bool:
        """Whether the one-thread fallback has been built (the primary slowed down once)."""
        return self.fallback is not None

    def averages_ms(self) -> dict[str, float | None]:
        """Recent run time of each session in ms (None: not measured yet), and the primary's best.

        >>> AdaptiveSession(object(), object).averages_ms()
        {'primary': None, 'fallback': None, 'primary_best': None}
        """
        with self._lock:
            conv: dict[str, float | None] = {
                k: None if v is None else v * 1e3 for k, v in self._avg.items()
            }
            best = self._best_primary
            return {**conv, "primary_best": None if best is None else best * 1e3}

    def __repr__(self) -> str:
        avg = self.averages_ms()
        shown = ", ".join(f"{k}={v:.2f} ms" for k, v in avg.items() if v is not None)
        return (
            f"AdaptiveSession(active={self.active!r}, switches={self.switches}, "
            f"fallback_built={self.fallback_built}{', ' if shown else ''}{shown})"
        )

    # ------------------------------------------------------------------ policy
    def _pick(self) -> Which:
        if self.fallback is None:
            return "primary"
        if self._since_probe >= self.probe_every:
            return "fallback" if self.active == "primary" else "primary"
        return self.active

    def _record(self, which: Which, dt: float, probe: bool) -> None:
        self.runs[which] += 1
        self._since_probe = 0 if probe else self._since_probe + 1
        prev = self._avg[which]
        a = self._probe_alpha if probe else self.alpha
        avg = dt if prev is None else prev + a * (dt - prev)
        self._avg[which] = avg
        if which == "primary":
            self._primary_runs += 1
            if self._primary_runs <= self.warmup:
                self._avg["primary"] = None  # start the average after the warm-up runs
                return
            if self._primary_runs > self.warmup + 3 and (
                self._best_primary is None or avg < self._best_primary
            ):
                self._best_primary = avg
        if self.fallback is None:
            best = self._best_primary
            if (
                which == "primary"
                and not self._fallback_failed
                and best is not None
                and avg > self.slow_ratio * best
            ):
                self._build_fallback(avg, best)
            return
        self._choose()

    def _build_fallback(self, avg: float, best: float) -> None:
        t0 = time.perf_counter()
        try:
            self.fallback = self._make_fallback()
        except Exception as exc:  # noqa: BLE001 - a failed fallback must not break tracking
            logger.warning("could not build the one-thread fallback session (%s); keeping the "
                           "primary only", exc)  # fmt: skip
            self._fallback_failed = True
            return
        logger.info(
            "model runs slowed from %.2f to %.2f ms (other work on the cores?): built a "
            "one-thread session in %.0f ms and will use whichever is faster",
            best * 1e3, avg * 1e3, (time.perf_counter() - t0) * 1e3,
        )  # fmt: skip
        self._since_probe = self.probe_every  # time the fallback on the next run

    def _choose(self) -> None:
        p, f = self._avg["primary"], self._avg["fallback"]
        if p is None or f is None:
            return
        best: Which = "primary" if p <= f else "fallback"
        if best != self.active:
            logger.debug("switching to the %s session (%.2f vs %.2f ms)", best, p * 1e3, f * 1e3)
            self.active = best
            self.switches += 1
