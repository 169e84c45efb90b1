"""Thread-count adaptation: run a model with its threads while that pays, with one when it doesn't.

:class:`AdaptiveSession` wraps a threaded session (the *primary*) and times every run. When the
primary stays slowed down (its recent median above ``slow_ratio`` times its best, or its CPU
share low, for ``window`` runs and ``min_slow_s`` seconds) it builds the one-thread *fallback*,
then re-times the idle one in short bursts and switches whichever way is faster; a fallback that
keeps losing is released. Why: two threads are 1.6-1.75x faster on a quiet machine but slower
when other work holds the second core, so no fixed setting is right for both.

Contract: both sessions give the same outputs bit for bit, so switching changes only timing;
the fallback is built from what is on disk only (:func:`posekit.models.store.no_install`),
and when it cannot be built the primary carries on after one warning; adaptations are logged
at DEBUG. The measurements and the rules' history: ``docs/design/threads.md``.

Example:
    >>> import itertools
    >>> class Fake:  # a ModelRunner that takes ``cost`` seconds on a fake clock
    ...     def __init__(self, cost: float) -> None: self.cost = cost
    ...     def run_outputs(self, names, feeds):
    ...         now[0] += self.cost
    ...         return [feeds["x"]]
    >>> now = [0.0]
    >>> primary = Fake(0.002)
    >>> s = AdaptiveSession(primary, lambda: Fake(0.003), clock=lambda: now[0],
    ...                     cpu_clock=lambda: 2 * now[0])  # both threads busy during runs
    >>> for _ in range(20): _ = s.run_outputs(["y"], {"x": 1})
    >>> s.fallback_built, s.active
    (False, 'primary')
    >>> primary.cost = 0.006  # the other core got busy
    >>> for _ in range(200): _ = s.run_outputs(["y"], {"x": 1})  # slow for over a second
    >>> s.fallback_built, s.active
    (True, 'fallback')
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from numpy.typing import NDArray

from posekit.errors import InputError
from posekit.inference import _release_free_heap  # a released session's heap back to the OS

__all__ = ["AdaptiveSession"]

logger = logging.getLogger(__name__)

Which = Literal["primary", "fallback"]


class AdaptiveSession:
    """A model runner that switches between its threaded session and a one-thread fallback.

    Args:
        primary: the session to use while it is fast (e.g. 2 threads, spinning).
        make_fallback: builds the fallback session (e.g. 1 thread, no spinning); called at most
            once, the first time the primary stays slowed down for ``window`` runs.
        slow_ratio: the primary counts as slowed down when the median of its last ``window``
            runs exceeds this multiple of its best such median (default 2.0: above the 30-40 %
            by which the benchmark machine's speed drifts on its own; a busy core slowed lite
            and full by 2.8x there, heavy by 1.8x, which the CPU-share test below catches).
        window: runs per median (default 15).
        probe_every: while both sessions exist, the one not in use is re-timed after this many
            runs of the other (default 100); the fallback also at once when the primary, after
            having been fast, is slowed down again. Each time the fallback fails to beat the
            primary, its interval doubles (up to 16x).
        probe_len: runs per re-timing burst, the first not counted (default 4).
        margin: switch when the burst's median is below ``margin`` times the current session's
            recent median (default 0.85).
        warmup: runs of the primary before its timing counts (default 10).
        min_cpu_share: the primary also counts as slowed down when the CPU time of its runs
            falls below this share of its thread count per wall second (default 0.8: with two
            spinning threads, ``process()`` used 1.8-2.0 CPU seconds per second on a quiet
            machine and 1.1-1.4 beside a busy process in ``bench_peer.py``). This catches a
            machine that is busy from the start, where the primary never shows a faster best
            time to compare with.
        min_slow_s: the slowdown must also have lasted this many seconds (on ``clock``) before
            the fallback is built (default 1.0; doubled after each release, up to 32x).
        drop_after: release the fallback after it has lost this many re-timing bursts in a row
            while the primary is in use (default 3, i.e. ~700 runs after it was built; 0: never).
        clock: seconds counter (default :func:`time.perf_counter`); tests pass a fake one.
        cpu_clock: this process's CPU seconds (default :func:`time.process_time`).

    Attributes mirror the primary's (``input_names``, ``output_names``, ``num_threads``,
    ``path``...), so code written for an :class:`~posekit.inference.InferenceSession` keeps
    working. :attr:`active` says which session is in use, :attr:`switches` counts changes,
    :attr:`runs` counts runs per session, :attr:`fallback_built` whether the fallback exists,
    :attr:`builds` and :attr:`releases` how often it was built and released.
    Thread-safe.

    Raises:
        InputError: a parameter out of range.
    """

    def __init__(
        self,
        primary: Any,
        make_fallback: Callable[[], Any],
        *,
        slow_ratio: float = 2.0,
        window: int = 15,
        probe_every: int = 100,
        probe_len: int = 4,
        margin: float = 0.85,
        warmup: int = 10,
        min_cpu_share: float = 0.8,
        min_slow_s: float = 1.0,
        drop_after: int = 3,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        if not float(slow_ratio) > 1.0:
            raise InputError(f"slow_ratio={slow_ratio} must be > 1 (a multiple of the best time)")
        for name, value, low in (
            ("window", window, 1),
            ("probe_every", probe_every, 1),
            ("probe_len", probe_len, 2),
            ("warmup", warmup, 0),
            ("drop_after", drop_after, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name}={value!r} must be an integer >= {low}")
        if not 0.0 < float(margin) <= 1.0:
            raise InputError(f"margin={margin} must be in (0, 1]")
        if not 0.0 <= float(min_cpu_share) <= 1.0:
            raise InputError(f"min_cpu_share={min_cpu_share} must be in [0, 1]")
        if not 0.0 <= float(min_slow_s) < float("inf"):
            raise InputError(f"min_slow_s={min_slow_s} must be a finite number of seconds >= 0")
        self.primary = primary
        self._make_fallback = make_fallback
        self.fallback: Any | None = None
        self._fallback_failed = False
        self.slow_ratio = float(slow_ratio)
        self.window = window
        self.probe_every = probe_every
        self.probe_len = probe_len
        self.margin = float(margin)
        self.warmup = warmup
        self.min_slow_s = float(min_slow_s)
        self.drop_after = drop_after
        self._clock = clock
        self._cpu_clock = cpu_clock
        threads = getattr(primary, "num_threads", 1)
        threads = threads if isinstance(threads, int) and not isinstance(threads, bool) else 1
        # CPU seconds per wall second below which the primary's threads are starved
        self._min_cpu = float(min_cpu_share) * threads if threads > 1 else 0.0
        self._shares: deque[float] = deque(maxlen=window)
        self._interval = probe_every
        self._lock = threading.Lock()
        self._recent: dict[Which, deque[float]] = {
            "primary": deque(maxlen=window),
            "fallback": deque(maxlen=window),
        }
        self._best_primary: float | None = None
        self._since_probe = 0
        self._probe_left = 0
        self._burst: list[float] = []
        self._early_armed = True
        self._slow_runs = 0
        self._slow_since = 0.0  # clock time of the current slow streak's first window
        self._build_armed = True  # False after a release, until the primary is fast again
        self._useless = 0  # re-timing bursts in a row the fallback lost
        self._release_pending = False
        #: How many times the fallback was built / released.
        self.builds = 0
        self.releases = 0
        #: The session in use (a re-timing burst runs the other one).
        self.active: Which = "primary"
        #: How many times :attr:`active` changed.
        self.switches = 0
        #: Runs per session, including re-timing bursts.
        self.runs: dict[Which, int] = {"primary": 0, "fallback": 0}

    # ------------------------------------------------------------------ ModelRunner interface
    def run_outputs(
        self, output_names: Sequence[str] | None, feeds: Mapping[str, NDArray[Any]]
    ) -> list[NDArray[Any]]:
        """Run the model on ``feeds`` with the session the policy picks; returns the outputs."""
        with self._lock:
            which = self._pick()
            sess: Any = self.primary if which == "primary" else self.fallback
            c0, t0 = self._cpu_clock(), self._clock()
            out: list[NDArray[Any]] = sess.run_outputs(output_names, feeds)
            dt = self._clock() - t0
            self._record(which, dt, self._cpu_clock() - c0)
            if self._release_pending:
                self._release_pending = False
                del sess  # the last reference to a released fallback: free it, then trim
                _release_free_heap()
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

    def recent_ms(self) -> dict[str, float | None]:
        """Median of each session's recent runs in ms (None: not timed yet), and the primary's
        best median.

        >>> AdaptiveSession(object(), object).recent_ms()
        {'primary': None, 'fallback': None, 'primary_best': None}
        """
        with self._lock:
            out: dict[str, float | None] = {
                k: None if not v else _median(v) * 1e3 for k, v in self._recent.items()
            }
            best = self._best_primary
            out["primary_best"] = None if best is None else best * 1e3
            return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.2f} ms" for k, v in self.recent_ms().items() if v is not None)
        return (
            f"AdaptiveSession(active={self.active!r}, switches={self.switches}, "
            f"fallback_built={self.fallback_built}{', ' if shown else ''}{shown})"
        )

    # ------------------------------------------------------------------ policy
    def _other(self) -> Which:
        return "fallback" if self.active == "primary" else "primary"

    def _pick(self) -> Which:
        if self.fallback is None:
            return "primary"
        if self._probe_left == 0 and self._since_probe >= self._interval:
            self._probe_left = self.probe_len
            self._burst = []
        return self._other() if self._probe_left else self.active

    def _record(self, which: Which, dt: float, cpu: float) -> None:
        self.runs[which] += 1
        if which != self.active:  # a re-timing burst
            if self._probe_left < self.probe_len:  # the burst's first run is not counted
                self._burst.append(dt)
            self._probe_left -= 1
            if self._probe_left == 0:
                self._since_probe = 0
                self._end_burst()
            return
        self._since_probe += 1
        if which == "primary" and self.runs["primary"] <= self.warmup:
            return
        recent = self._recent[which]
        recent.append(dt)
        if which != "primary":
            return
        self._shares.append(cpu / dt if dt > 0 else 0.0)
        if len(recent) < self.window:
            return
        med = _median(recent)
        best = self._best_primary
        if best is None or med < best:
            self._best_primary = best = med
        # Slow: much slower than its best, or its threads do not get the cores (a machine that
        # was busy from the start never shows the first sign).
        slow = med > self.slow_ratio * best or _median(self._shares) < self._min_cpu
        if self.fallback is None:
            if not slow:
                self._build_armed = True
            # slow for a whole further window and min_slow_s (not a passing hiccup) before
            # paying the memory
            if slow and self._slow_runs == 0:
                self._slow_since = self._clock()
            self._slow_runs = self._slow_runs + 1 if slow else 0
            wait = self.min_slow_s * 2 ** min(self.releases, 5)
            if (
                self._build_armed
                and not self._fallback_failed
                and self._slow_runs >= self.window
                and self._clock() - self._slow_since >= wait
            ):
                self._build_fallback(med, best)
        elif self.active == "primary":
            if not slow:
                self._early_armed = True  # fast again: the next slowdown re-times at once
            elif self._early_armed and self._since_probe >= self.window:
                self._early_armed = False  # once per slowdown
                self._since_probe = self._interval

    def _end_burst(self) -> None:
        burst = self._burst
        current = self._recent[self.active]
        if not burst or not current:
            return
        if _median(burst) >= self.margin * _median(current):
            if self.active == "primary":  # the fallback did not help: re-time it less often
                self._interval = min(2 * self._interval, 16 * self.probe_every)
                self._useless += 1
                if self.drop_after and self._useless >= self.drop_after:
                    self._release_fallback()
            return
        self._useless = 0
        new = self._other()
        logger.debug(
            "switching to the %s session (%.2f vs %.2f ms)",
            new, _median(burst) * 1e3, _median(current) * 1e3,
        )  # fmt: skip
        self.active = new
        self.switches += 1
        self._recent[new].clear()
        self._recent[new].extend(burst)
        if new == "primary":
            self._shares.clear()  # CPU shares from its last, slow stretch no longer apply
        self._interval = self.probe_every
        self._early_armed = True  # back on the primary: re-time at once if it turns out slow

    def _release_fallback(self) -> None:
        logger.debug(
            "the one-thread session lost %d re-timing bursts in a row: released it (built "
            "again only after the two-thread session has been fast again)", self._useless,
        )  # fmt: skip
        self.fallback = None
        self.releases += 1
        self._release_pending = True  # freed by run_outputs once its last reference is gone
        self._recent["fallback"].clear()
        self._interval = self.probe_every
        self._useless = 0
        self._slow_runs = 0
        self._build_armed = False

    def _build_fallback(self, med: float, best: float) -> None:
        from posekit.models.store import no_install  # nothing is installed on the hot path

        t0 = time.perf_counter()
        try:
            with no_install():
                self.fallback = self._make_fallback()
        except Exception as exc:  # noqa: BLE001 - a failed fallback must not break tracking
            logger.warning("could not build the one-thread fallback session (%s); keeping the "
                           "primary only", exc)  # fmt: skip
            self._fallback_failed = True
            return
        self.builds += 1
        logger.debug(
            "model runs slowed from %.2f to %.2f ms (other work on the cores?): built a "
            "one-thread session in %.0f ms and will use whichever is faster",
            best * 1e3, med * 1e3, (time.perf_counter() - t0) * 1e3,
        )  # fmt: skip
        self._since_probe = self._interval  # time the fallback right away
        self._early_armed = False  # that burst is this slowdown's re-time


def _median(values: Sequence[float] | deque[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])
