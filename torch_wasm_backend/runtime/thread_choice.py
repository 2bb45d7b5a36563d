"""Whether a threaded module's calls run on all its threads or on thread 0 alone: measured.

A threaded module runs a call on any thread count up to the number of instances it has:
``run(1)`` is ``forward(0, 1)`` on the calling thread, the workers stay parked (no wake-up;
thread 0 claims every chunk), and the results are bitwise those of any other count
(``emit/threads.py``). Whether N threads beat one depends on the host as much as
on the graph (a small CNN: 1.1x faster on a quiet 2-core host, 0.4-0.6x on a busy one,
``benchmarks/README.md``, *Threads*), so the runtime measures it instead of guessing:

* **trial**: after one unmeasured warm-up call on N threads (the workers' first run), the
  next ``2 * TRIAL`` calls alternate 1 and N threads; each call's time (the wasm call only:
  the input and output copies are the same either way) is kept.
* **choice**: N threads when its fastest call is below ``MARGIN`` times one thread's fastest,
  else one thread (a tie keeps one: the other core stays free; so do two readings of 0, a
  coarse browser clock's of a tiny graph). The fastest, not the median: another job's burst
  only ever adds time, and a burst during two of a count's three calls made the median
  choose one thread for resnet18 (1.5x faster on two) on a busy host; a host that stays busy
  slows every call on N threads, so the fastest still shows it.
* **re-check**: a trial again (the host's load changes) once ``RECHECK_FIRST`` calls on the
  chosen count have run and taken ``RECHECK_MIN_NS`` (1 s) in all; the interval in calls
  doubles each time the choice stands, up to ``RECHECK_MAX``, and starts again at
  ``RECHECK_FIRST`` when it changes. A trial's calls on the slower count cost at most
  ``TRIAL`` slow calls per second of calls (a 2x slower count, 4 ms calls: 1.2%) or per
  ``RECHECK_FIRST`` calls (tiny graphs, where the 1 s takes longer), less as it grows.

* **drift**: ``DRIFT_CALLS`` calls in a row on the chosen count that each took more than
  ``DRIFT`` times its fastest trial call start a trial at once (the host got busier
  since: N threads may have become the slower count, and the periodic re-check could be
  seconds away).

``adaptive=False`` runs every call on N threads (``options={"threads_adaptive": False}``,
``load(..., threads_adaptive=False)``). The JavaScript loader follows the same rule with the
same constants (``csrc/js/threads.mjs``, ``ThreadChoice``).
"""

from __future__ import annotations

TRIAL = 3  # measured calls per thread count in one trial
MARGIN = 0.95  # N threads must be at least 5% faster than one to be kept
RECHECK_FIRST = 64  # calls on the chosen count before the first re-check
RECHECK_MAX = 4096  # the longest interval between re-checks, in calls
RECHECK_MIN_NS = 1e9  # and at least this much time in calls between re-checks
DRIFT = 1.5  # a call on the chosen count this much slower than its fastest trial call is slow
DRIFT_CALLS = 8  # slow calls in a row that start a trial at once


class ThreadChoice:
    """The thread count of each call of one threaded instance: ``count()`` before a call,
    ``record(count, ns)`` after it. ``used``: the count chosen (N until the first trial ends);
    ``best_ns``: the last trial's fastest call by count (empty before)."""

    def __init__(self, nthreads: int, adaptive: bool = True) -> None:
        self.nthreads = nthreads
        self.adaptive = bool(adaptive) and nthreads > 1
        self.used = nthreads
        self.best_ns: dict[int, float] = {}
        self.trials = 0  # trials completed
        self._plan: list[int] = []  # counts of the coming trial calls, next last
        self._times: dict[int, list] = {}
        self._warmup = self.adaptive  # the first call: N threads, not measured
        self._interval = RECHECK_FIRST
        self._until_check = 0
        self._since_ns = 0.0  # time in calls since the last trial
        self._slow = 0  # calls in a row on the chosen count slower than DRIFT times its fastest trial call
        if self.adaptive:
            self._start_trial()

    def _start_trial(self) -> None:
        self._plan = [self.nthreads, 1] * TRIAL  # popped from the end: 1, N, 1, N, ...
        self._times = {1: [], self.nthreads: []}

    def count(self) -> int:
        """Threads for the next call."""
        if self._warmup:
            return self.nthreads
        return self._plan[-1] if self._plan else self.used

    def record(self, count: int, ns: float) -> None:
        """The call that ran on ``count`` threads took ``ns``."""
        if not self.adaptive:
            return
        if self._warmup:
            self._warmup = False
            return
        if self._plan:
            self._plan.pop()
            self._times[count].append(ns)
            if not self._plan:
                self._decide()
            return
        self._until_check -= 1
        self._since_ns += ns
        self._slow = self._slow + 1 if ns > DRIFT * self.best_ns[self.used] else 0
        if (self._until_check <= 0 and self._since_ns >= RECHECK_MIN_NS) or self._slow >= DRIFT_CALLS:
            self._start_trial()

    def _decide(self) -> None:
        self.best_ns = {n: min(ts) for n, ts in self._times.items()}
        best = self.nthreads if self.best_ns[self.nthreads] < MARGIN * self.best_ns[1] else 1
        if self.trials:
            self._interval = min(2 * self._interval, RECHECK_MAX) if best == self.used else RECHECK_FIRST
        self.used = best
        self.trials += 1
        self._until_check = self._interval
        self._since_ns = 0.0
        self._slow = 0


__all__ = ["DRIFT", "DRIFT_CALLS", "MARGIN", "RECHECK_FIRST", "RECHECK_MAX", "RECHECK_MIN_NS", "TRIAL", "ThreadChoice"]
