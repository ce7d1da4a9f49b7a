"""UI stalls and speed of the real app at a given data size (issue 11: never frozen, fast enough).

Generates (or reuses, under ``--cache-dir``) KION-shaped demo data of ``--users`` users and
``--items`` items with ``core.demo.write_demo`` and a checkpoint trained on a sample of it,
starts the real ``MainWindow`` offscreen (its own settings file, XDG folders and run history,
``$SASREC_STUDIO_HOME``), runs a ``QTimer`` probe every ``--probe-ms`` in the app's own
process that records the longest gap between two ticks, and drives the window through the
actions a user takes: open the folder, change each filter, open a checkpoint, show a user, a
random user, search titles, similar items, the item map, every page, the dark theme and
presentation mode on and off, train (until ``--train-steps`` steps were reported) and stop.
Each action is waited for through the app's own state and signals, then until the interface
is idle again (``--quiet-ticks`` regular probe ticks in a row); never a sleep. Showing a user
ends when the history, the top-k and the item card have painted (what the user waits for);
"why this recommendation" and the charts that follow in the background are the next row,
with their stalls.

It prints one table (action, wall seconds, worst stall in ms: the longest gap between probe
ticks minus the probe's interval) and, as its last line, one JSON object with at least
``max_stall_ms``, ``open_s``, ``filter_s``, ``first_step_s``, ``show_user_s``, ``theme_s``
and ``peak_rss_mb``.

    python benchmarks/ui_stalls.py --users 960000 --items 15700      # KION size (data made once)
    python benchmarks/ui_stalls.py --users 300 --stacks              # tiny, with stall stacks

``--stacks`` samples every thread's Python stack every few milliseconds and prints, for each
stall over ``--stack-threshold-ms``, the frames seen most often while it lasted (what held
the interface, or the GIL). Every action also gets the highest resident memory seen while it
ran (sampled every 5 ms: short-lived peaks are pinned to the action that made them) and its
longest garbage collection; ``--profile TEXT`` prints a cProfile of the interface thread
during the actions whose name contains TEXT.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Users of the sample the benchmark's checkpoint is trained on (one epoch).
CHECKPOINT_USERS = 20_000
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "sasrec-ui-stalls"


# --------------------------------------------------------------------------- data and checkpoint


def default_items(users: int) -> int:
    """KION's ratio: 960k users to 15.7k items (at least 60 items)."""
    return max(60, round(users * 15_700 / 960_000))


def ensure_data(cache: Path, users: int, items: int, seed: int = 42) -> Path:
    """The demo data folder for this size, written once (atomically: a half-written folder is never reused)."""
    from core.demo import write_demo

    folder = cache / f"demo_{users}u_{items}i_s{seed}"
    if (folder / "interactions.csv").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=cache))
    try:
        write_demo(tmp, users, items, seed)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def ensure_checkpoint(folder: Path, checkpoint_users: int = CHECKPOINT_USERS) -> Path:
    """A checkpoint of the app's default model, trained one epoch on a sample of ``folder``'s
    users with the default filters (written once next to the data)."""
    path = folder.with_name(folder.name + ".ckpt.pt")
    if path.is_file():
        return path
    import numpy as np

    from core.checkpoint import save_checkpoint
    from core.config import SASRecConfig
    from core.filters import FilterConfig, apply_filters
    from core.load import load_data
    from core.train import fit

    data = load_data(folder)
    filters = FilterConfig()
    filtered = apply_filters(data.interactions, filters).interactions
    users = filtered["user_id"].unique()
    rng = np.random.default_rng(0)
    sample = rng.choice(users, size=min(checkpoint_users, len(users)), replace=False)
    train = filtered[filtered["user_id"].isin(sample)]
    config = SASRecConfig(epochs=1, device="cpu")
    result = fit(train, config, filter_config=filters.to_dict())
    if result.model is None:
        raise RuntimeError("the benchmark's checkpoint run produced no model")
    tmp = path.with_name(path.name + ".part")
    save_checkpoint(result.model, tmp, {"source": str(folder), "app": "benchmarks/ui_stalls.py"})
    tmp.rename(path)
    return path


def _prepare_child(cache: Path, users: int, items: int, seed: int, checkpoint_users: int) -> None:
    ensure_checkpoint(ensure_data(cache, users, items, seed), checkpoint_users)


def prepare(cache: Path, users: int, items: int, seed: int, checkpoint_users: int) -> tuple[Path, Path]:
    """Data folder and checkpoint, made in a child process when missing (so that the peak memory
    measured here is the app's alone)."""
    folder = cache / f"demo_{users}u_{items}i_s{seed}"
    checkpoint = folder.with_name(folder.name + ".ckpt.pt")
    if not (folder / "interactions.csv").is_file() or not checkpoint.is_file():
        import multiprocessing as mp

        child = mp.get_context("spawn").Process(target=_prepare_child, args=(cache, users, items, seed, checkpoint_users))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"preparing the data and checkpoint failed (exit code {child.exitcode})")
    return folder, checkpoint


# --------------------------------------------------------------------------- probe and stacks


class StackSampler:
    """Samples every thread's Python stack every ``interval_s`` (a daemon thread) so that a stall
    can be explained afterwards: which frames were on top while it lasted."""

    def __init__(self, interval_s: float = 0.005, keep_s: float = 30.0, task_every: int = 4) -> None:
        self.interval_s = interval_s
        self.samples: collections.deque = collections.deque(maxlen=int(keep_s / interval_s))
        self.task_every = task_every  # read every thread's CPU time every this many samples
        self.task_samples: collections.deque = collections.deque(maxlen=int(keep_s / interval_s / task_every) + 1)
        self.thread_names: dict[int, str] = {}  # native thread id -> Python name, or the system's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)
        self.main_id = threading.main_thread().ident

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def _run(self) -> None:
        me = threading.get_ident()
        try:  # the interface thread's CPU time: busy in Qt's C++ (on CPU) or waiting for the GIL (not)
            clock = time.pthread_getcpuclockid(self.main_id)
        except (AttributeError, OSError):
            clock = None
        tick = 0
        while not self._stop.wait(self.interval_s):
            now = time.perf_counter()
            cpu = time.clock_gettime(clock) if clock is not None else None
            tick += 1
            if tick % self.task_every == 0:  # every thread's CPU time, native ones too (Linux)
                cpu_ns = task_cpu_ns()
                for t in threading.enumerate():
                    if t.native_id is not None:
                        self.thread_names[t.native_id] = t.name
                for tid in cpu_ns:
                    if tid not in self.thread_names:
                        self.thread_names[tid] = task_name(tid)
                cpu_ns[0] = time.process_time_ns()  # 0: the whole process, threads that ended since included
                self.task_samples.append((now, cpu_ns))
            frames = sys._current_frames()  # noqa: SLF001 - a profiler's tool
            names = {t.ident: t.name for t in threading.enumerate()}  # idents are reused: fresh each time
            stacks = {}
            for ident, frame in frames.items():
                if ident == me:
                    continue
                summary = traceback.extract_stack(frame, limit=12)
                stacks[names.get(ident, f"worker {ident % 100000}")] = tuple(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in summary[-6:]
                )
            self.samples.append((now, stacks, cpu))

    def during(self, start: float, end: float, top: int = 4) -> list[str]:
        """The most frequent innermost frames per thread between ``start`` and ``end``."""
        counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        n = 0
        cpus = []
        for t, stacks, cpu in list(self.samples):
            if start <= t <= end:
                n += 1
                cpus.append((t, cpu))
                for name, stack in stacks.items():
                    counts[name][" < ".join(reversed(stack[-3:]))] += 1
        on_cpu = ""
        if len(cpus) >= 2 and cpus[0][1] is not None:
            busy, span = (cpus[-1][1] - cpus[0][1]) * 1000, (cpus[-1][0] - cpus[0][0]) * 1000
            on_cpu = f"; the interface thread was on a CPU {busy:.0f} of those {span:.0f} ms (the rest: waiting, e.g. for the GIL)"
        lines = [f"    {n} samples{on_cpu}"]
        lines.extend(self.cpu_by_thread(start, end))
        for name, counter in counts.items():
            for frames, count in counter.most_common(top):
                lines.append(f"    [{name}] {count}x {frames}")
        return lines


    def cpu_by_thread(self, start: float, end: float) -> list[str]:
        """One line: how many ms the process, and each of its threads still alive afterwards,
        ran on a CPU between the last task sample before ``start`` and the first after ``end``
        (a process total near zero means the whole process was kept off the CPUs)."""
        before = [(t, c) for t, c in list(self.task_samples) if t <= start]
        after = [(t, c) for t, c in list(self.task_samples) if t >= end]
        if not before or not after:
            return []
        (t0, c0), (t1, c1) = before[-1], after[0]
        ran = sorted(((c1[tid] - c0.get(tid, 0)) / 1e6, tid) for tid in c1 if tid)
        parts = [f"{self.thread_names.get(tid, tid)} {ms:.0f}" for ms, tid in reversed(ran) if ms >= 1]
        process = (c1[0] - c0[0]) / 1e6
        return [f"    CPU ms over {1000 * (t1 - t0):.0f} ms: the process {process:.0f}; threads alive after: "
                f"{', '.join(parts) or 'none'}"]


def task_cpu_ns() -> dict[int, int]:
    """Nanoseconds each thread of this process has run on a CPU (``/proc/self/task/*/schedstat``; {} elsewhere)."""
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def task_name(tid: int) -> str:
    """A native thread's name (``comm``), for threads Python did not start (Qt's, torch's)."""
    try:
        with open(f"/proc/self/task/{tid}/comm") as f:
            return f"{f.read().strip()}:{tid}"
    except OSError:
        return f"thread {tid}"


class RssSampler:
    """Reads the process's resident memory every ``interval_s`` (a daemon thread): the peak of
    each action (``reset_window`` starts one), so that a short-lived peak is pinned to the
    action that made it, and the peak over the whole run."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.window_peak_mb = 0.0
        self.total_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def reset_window(self) -> None:
        self.window_peak_mb = rss_mb()

    def _run(self) -> None:
        try:  # one read per sample on a file kept open: the sampler takes the GIL as seldom as it can
            fd = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            fd = None
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20 if fd is not None else 0.0
        while not self._stop.wait(self.interval_s):
            try:
                now = int(os.pread(fd, 128, 0).split()[1]) * page_mb if fd is not None else rss_mb()
            except (OSError, ValueError, IndexError):
                now = 0.0
            if now > self.window_peak_mb:
                self.window_peak_mb = now
            if now > self.total_peak_mb:
                self.total_peak_mb = now
        if fd is not None:
            os.close(fd)


class GcWatch:
    """Times every garbage collection (``gc.callbacks``): the longest one of each action and
    its generation, so that a stall without Python frames can be told from a collection."""

    def __init__(self) -> None:
        self.window_max_ms = 0.0
        self.window_generation = -1
        self._start = 0.0

    def start(self) -> None:
        import gc

        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        import gc

        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def reset_window(self) -> None:
        self.window_max_ms, self.window_generation = 0.0, -1

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        ms = (time.perf_counter() - self._start) * 1000.0
        if ms > self.window_max_ms:
            self.window_max_ms, self.window_generation = ms, int(info.get("generation", -1))


class ActionProfiler:
    """cProfile of the interface thread during the actions whose name contains one of ``patterns``
    (``--profile``); ``report`` prints each one's top functions by own and cumulative time."""

    def __init__(self, patterns: list[str], top: int = 25) -> None:
        self.patterns = [p.lower() for p in patterns]
        self.top = top
        self.reports: list[str] = []
        self._profile = None

    def wanted(self, action: str) -> bool:
        return any(p in action.lower() for p in self.patterns)

    def begin(self, action: str) -> None:
        if self.wanted(action):
            import cProfile

            self._profile = cProfile.Profile()
            self._profile.enable()

    def end(self, action: str) -> None:
        if self._profile is None:
            return
        import io
        import pstats

        self._profile.disable()
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(self._profile, stream=out)
            stats.sort_stats(key).print_stats(self.top)
            text = out.getvalue()
            body = text[text.find("   ncalls"):] if "   ncalls" in text else text
            self.reports.append(f"\n--- profile of '{action}' (interface thread), by {key}:\n{body.rstrip()}")
        self._profile = None


class StallProbe:
    """A ``QTimer`` ticking every ``interval_ms`` on the UI thread; a gap longer than the
    interval is a stall (the event loop could not run the timer)."""

    def __init__(self, interval_ms: int = 10, quiet_ticks: int = 5, sampler: StackSampler | None = None,
                 stack_threshold_ms: float = 100.0) -> None:
        from PySide6.QtCore import QTimer, Qt

        self.interval_ms = interval_ms
        self.quiet_ticks = quiet_ticks
        self.sampler = sampler
        self.stack_threshold_ms = stack_threshold_ms
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.window_max_ms = 0.0
        self.total_max_ms = 0.0
        self.quiet_run = 0
        self.quiet_since = self.last
        self.stalls: list[tuple[float, str, float, float]] = []  # (ms, action, start, end) of long stalls
        self.action = ""

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def reset_window(self, action: str) -> None:
        self.window_max_ms = 0.0
        self.action = action

    def _tick(self) -> None:
        now = time.perf_counter()
        gap_ms = (now - self.last) * 1000.0
        stall = max(0.0, gap_ms - self.interval_ms)
        if stall > self.window_max_ms:
            self.window_max_ms = stall
        self.total_max_ms = max(self.total_max_ms, stall)
        if gap_ms <= 2 * self.interval_ms:
            if self.quiet_run == 0:
                self.quiet_since = self.last
            self.quiet_run += 1
        else:
            self.quiet_run = 0
        if self.sampler is not None and stall >= self.stack_threshold_ms:
            self.stalls.append((stall, self.action, self.last, now))
        self.last = now

    @property
    def quiet(self) -> bool:
        return self.quiet_run >= self.quiet_ticks

    @property
    def stall_reports(self) -> list[str]:
        """Each long stall with the frames and per-thread CPU time seen while it lasted (made
        afterwards: the CPU times need a sample from after the stall)."""
        lines: list[str] = []
        for stall, action, start, end in self.stalls:
            lines.append(f"  {stall:7.0f} ms stall during '{action}':")
            if self.sampler is not None:
                lines.extend(self.sampler.during(start, end))
        return lines


class PaintWatch:
    """Whether each of some widgets has painted since ``arm()`` (an event filter on each)."""

    def __init__(self, widgets: list) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        watch = self

        class Filter(QObject):
            def eventFilter(self, watched, event) -> bool:  # noqa: N802, ANN001
                if event.type() == paint:
                    watch.painted.add(id(watched))
                return False

        self.widgets = widgets
        self.painted: set[int] = set()
        self._filter = Filter()
        for widget in widgets:
            widget.installEventFilter(self._filter)

    def arm(self) -> None:
        self.painted.clear()

    def done(self) -> bool:
        return all(id(w) in self.painted for w in self.widgets)


# --------------------------------------------------------------------------- driving the window


@dataclass
class Row:
    action: str
    wall_s: float
    stall_ms: float
    note: str = ""
    rss_mb: float = 0.0  # resident memory when the action had finished
    peak_mb: float = 0.0  # the highest resident memory seen while it ran (0 without a sampler)
    gc_ms: float = 0.0  # the longest garbage collection while it ran


@dataclass
class Driver:
    """Runs actions on the window and records (wall seconds, worst stall) for each."""

    app: object
    probe: StallProbe
    timeout_s: float
    rows: list[Row] = field(default_factory=list)
    memory: RssSampler | None = None
    profiler: ActionProfiler | None = None
    collections: GcWatch | None = None

    def wait(self, predicate: Callable[[], bool], timeout_s: float | None = None, what: str = "") -> float:
        """Run the event loop until ``predicate()`` holds (checked every probe tick); the time it held."""
        from PySide6.QtCore import QEventLoop, QTimer

        deadline = time.perf_counter() + (timeout_s or self.timeout_s)
        if predicate():
            return time.perf_counter()
        loop = QEventLoop()
        box = {"at": None, "timeout": False}

        def check() -> None:
            if predicate():
                box["at"] = time.perf_counter()
                loop.quit()
            elif time.perf_counter() > deadline:
                box["timeout"] = True
                loop.quit()

        timer = QTimer()
        timer.setInterval(self.probe.interval_ms)
        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        if box["timeout"]:
            raise TimeoutError(f"timed out after {timeout_s or self.timeout_s:.0f} s waiting for {what or 'the app'}")
        return box["at"]  # type: ignore[return-value]

    def settle(self) -> float:
        """Wait until the interface is idle (``quiet_ticks`` regular ticks); when it became idle."""
        self.probe.quiet_run = 0
        self.wait(lambda: self.probe.quiet, what="the interface to become idle")
        return self.probe.quiet_since

    def run(self, action: str, trigger: Callable[[], object], done: Callable[[], bool] = lambda: True,
            note: Callable[[], str] | None = None, *, until_idle: bool = True, settle_first: bool = True) -> Row:
        """Trigger ``action``, wait until ``done()`` and the interface is idle; record the row.

        ``until_idle=False``: the row ends when ``done()`` holds (what the user waits for is on
        screen), and the next row, run with ``settle_first=False``, takes the work that follows
        in the background and its stalls."""
        if settle_first:
            self.settle()
        self.probe.reset_window(action)
        if self.memory is not None:
            self.memory.reset_window()
        if self.collections is not None:
            self.collections.reset_window()
        if self.profiler is not None:
            self.profiler.begin(action)
        start = time.perf_counter()
        trigger()
        finished = self.wait(done, what=action)
        idle = self.settle() if until_idle else finished
        if self.profiler is not None:
            self.profiler.end(action)
        row = Row(action, max(finished, idle) - start, self.probe.window_max_ms, note() if note else "", rss_mb(),
                  self.memory.window_peak_mb if self.memory is not None else 0.0,
                  self.collections.window_max_ms if self.collections is not None else 0.0)
        self.rows.append(row)
        print(f"  {row.action:<34} {row.wall_s:8.2f} s {row.stall_ms:9.0f} ms {row.rss_mb:7.0f} MB "
              f"{row.peak_mb:7.0f} MB {row.gc_ms:6.0f} ms gc  {row.note}", flush=True)
        return row


@contextlib.contextmanager
def isolated_environment(home: Path) -> Iterator[None]:
    """Offscreen Qt, and settings, data folders and the run history under ``home`` (restored after)."""
    keys = ("QT_QPA_PLATFORM", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "SASREC_STUDIO_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                      XDG_CACHE_HOME=str(home / "cache"), SASREC_STUDIO_HOME=str(home / "studio"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    """The process's resident memory now (MB; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def drive(folder: Path, checkpoint: Path, args: argparse.Namespace, home: Path) -> tuple[list[Row], dict]:
    """Start the window and run every action; (rows, figures)."""
    from PySide6.QtWidgets import QApplication

    from core.filters import FilterConfig
    from sasrec_gui import PAGES
    from sasrec_gui.__main__ import create_application
    from sasrec_gui.app import MainWindow
    from sasrec_gui.logic.threads import enable_freezing
    from sasrec_gui.services.settings import Settings
    from sasrec_gui.services.workers import wait_for_workers

    app = create_application()
    enable_freezing(not args.no_gc_freeze)  # as sasrec_gui.__main__ does
    sampler = StackSampler() if args.stacks else None
    probe = StallProbe(args.probe_ms, args.quiet_ticks, sampler, args.stack_threshold_ms)
    memory = RssSampler()
    profiler = ActionProfiler(args.profile) if args.profile else None
    collections_ = GcWatch()
    driver = Driver(app, probe, args.timeout, memory=memory, profiler=profiler, collections=collections_)
    window = MainWindow(Settings.from_file(home / "settings.ini"), interactive=False)
    window.resize(1360, 860)
    window.show()
    if sampler is not None:
        sampler.start()
    memory.start()
    collections_.start()
    probe.start()
    figures: dict[str, float] = {}
    try:
        _drive_window(window, driver, folder, checkpoint, args, figures, PAGES, FilterConfig)
    finally:
        probe.stop()
        memory.stop()
        collections_.stop()
        if sampler is not None:
            sampler.stop()
        window.close()
        window.shutdown()
        window.deleteLater()
        QApplication.processEvents()
        wait_for_workers()  # as sasrec_gui.__main__ does: no chart's draw outlives the window
        enable_freezing(False)
    if probe.stall_reports:
        print("\nStalls and the frames seen while they lasted:")
        print("\n".join(probe.stall_reports))
    if profiler is not None and profiler.reports:
        print("\n".join(profiler.reports))
    figures["max_stall_ms"] = round(max((r.stall_ms for r in driver.rows), default=0.0), 1)
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if driver.rows and memory.total_peak_mb:
        worst = max(driver.rows, key=lambda r: r.peak_mb)
        print(f"\nPeak resident memory {figures['peak_rss_mb']:.0f} MB; the sampled peak "
              f"{worst.peak_mb:.0f} MB was during '{worst.action}'")
    return driver.rows, figures


def _drive_window(window, d: Driver, folder: Path, checkpoint: Path, args, figures: dict, pages, FilterConfig) -> None:  # noqa: ANN001, N803, PLR0915
    state, runner = window.state, window.runner
    # the real app warms torch up at start (MainWindow(interactive=True)); a user then picks a folder
    d.run("start-up (torch warm-up)", window.controller.warm_up, lambda: not runner.is_busy())

    def filters_applied() -> bool:
        return (state.filtered is not None and not runner.is_busy("filter")
                and not window.data_page._debounce.isActive() and state.filtered.config == window.data_page.filters.config())

    row = d.run("open folder (summary shown)", lambda: window.open_folder(folder), lambda: state.loaded is not None,
                note=lambda: f"{state.loaded.summary.n_interactions:,} interactions")
    figures["open_s"] = round(row.wall_s, 3)
    row = d.run("first filters applied", lambda: None, filters_applied,
                note=lambda: f"{state.filtered.summary.n_interactions:,} left")
    figures["open_filtered_s"] = round(figures["open_s"] + row.wall_s, 3)

    form = window.data_page.filters
    defaults = FilterConfig()
    changes = {
        "weight_threshold": 50.0, "weight_above": 2.0, "weight_below": 0.5, "min_total_dur": 600.0,
        "min_item_freq": 50, "min_user_interactions": 2, "weight_by": "",
    }
    first, last = state.loaded.summary.date_min, state.loaded.summary.date_max
    if first is not None and last is not None:
        middle = first + (last - first) / 2
        changes["date_from"] = f"{middle:%Y-%m-%d}"
        changes["date_to"] = f"{last:%Y-%m-%d}"
    filter_walls = []
    for name, value in changes.items():
        if name not in form.widgets:
            continue
        row = d.run(f"filter: {name}", lambda n=name, v=value: form.set_values({n: v}), filters_applied,
                    note=lambda: f"{state.filtered.summary.n_interactions:,} left")
        filter_walls.append(row.wall_s)
    row = d.run("filters: reset to defaults", lambda: form.set_values(defaults.to_dict()), filters_applied)
    filter_walls.append(row.wall_s)
    figures["filter_s"] = round(max(filter_walls), 3)

    row = d.run("open checkpoint", lambda: window.open_checkpoint(checkpoint),
                lambda: state.model is not None and state.model_has_data and not runner.is_busy(),
                note=lambda: f"{len(state.users):,} users")
    figures["checkpoint_s"] = round(row.wall_s, 3)

    page = window.recommend_page
    window.show_page("recommendations")
    d.settle()
    user = state.users.ids[len(state.users) // 2] if len(state.users) else None
    user = int(user) if user is not None and not state.users.text else user
    def panels_done() -> bool:  # "why this recommendation" and the charts finish in the background
        return not runner.is_busy() and not page.profile.chart.rendering and not page.why.chart.rendering

    # a user is shown once the history, the top-k and the item card are painted; "why this
    # recommendation" and the charts follow in the background (the next row, stalls included)
    painted = PaintWatch([page.history_view.viewport(), page.recs_view.viewport(), page.card])
    row = d.run("show a user (tables, card painted)", lambda: (painted.arm(), page.show_user(user)), painted.done,
                note=lambda: f"user {user}", until_idle=False)
    figures["show_user_s"] = round(row.wall_s, 3)
    row = d.run("  then why + charts (background)", lambda: None, panels_done, settle_first=False)
    figures["show_user_panels_s"] = round(figures["show_user_s"] + row.wall_s, 3)
    row = d.run("random user (tables, card painted)", lambda: (painted.arm(), page.show_random_user()), painted.done,
                until_idle=False)
    figures["random_user_s"] = round(row.wall_s, 3)
    d.run("  then why + charts (background)", lambda: None, panels_done, settle_first=False)

    similar = window.similar_page
    window.show_page("similar")
    d.settle()
    row = d.run("search titles ('the')", lambda: similar.search_edit.setText("the"),
                lambda: not similar._debounce.isActive(), note=lambda: f"{similar.matches_model.rowCount()} matches")
    figures["search_s"] = round(row.wall_s, 3)
    item = similar.matches_model.value(0, "item_id") if similar.matches_model.rowCount() else None
    if item is None and state.model is not None:
        item = state.model_item_ids()[0]
    row = d.run("similar items", lambda: similar.show_item(item), lambda: not runner.is_busy())
    figures["similar_s"] = round(row.wall_s, 3)

    emb = window.embedding_page
    row = d.run("item map", lambda: window.show_page("embedding"),
                lambda: emb.frame is not None and not emb.computing and not emb.chart.dirty and not emb.chart.rendering)
    figures["item_map_s"] = round(row.wall_s, 3)

    walls = []
    for name in [*pages, "data"]:
        walls.append(d.run(f"page: {name}", lambda n=name: window.show_page(n)).wall_s)
    figures["page_switch_s"] = round(max(walls), 3)
    # pages start background work when shown (the popularity baseline, beyond-accuracy measures):
    # let it finish, so that what follows is measured on its own (its cost is this row)
    row = d.run("background jobs of the pages", lambda: None, lambda: not runner.is_busy())
    figures["page_jobs_s"] = round(row.wall_s, 3)

    modes = window.view_modes
    theme_walls = []
    for name in ("dark", "light"):
        theme_walls.append(d.run(f"theme: {name}", lambda n=name: modes.set_theme(n)).wall_s)
    window.show_page("training")
    for name in ("dark", "light"):
        theme_walls.append(d.run(f"theme: {name} (training page)", lambda n=name: modes.set_theme(n)).wall_s)
    figures["theme_s"] = round(max(theme_walls), 3)
    pres_walls = []
    for on in (True, False):
        pres_walls.append(d.run(f"presentation: {'on' if on else 'off'}", lambda o=on: modes.set_presentation(o)).wall_s)
    figures["presentation_s"] = round(max(pres_walls), 3)

    # training: Train, the first step, a few more, Stop
    training = window.training
    first_step = {"at": None}

    def on_progress(_report: object) -> None:
        if first_step["at"] is None:
            first_step["at"] = time.perf_counter()

    training.progress.connect(on_progress)
    window.show_page("training")
    d.settle()
    start = time.perf_counter()
    row = d.run("train: until the first step", window.start_training, lambda: first_step["at"] is not None)
    figures["first_step_s"] = round(first_step["at"] - start if first_step["at"] else row.wall_s, 3)

    def steps_done() -> int:
        p = training.session.last_progress
        return p.done_steps if p is not None else 0

    d.run(f"train: {args.train_steps} steps", lambda: None, lambda: steps_done() >= args.train_steps or not training.running,
          note=lambda: f"{steps_done()} steps")
    row = d.run("stop training", training.stop, lambda: not training.running)
    figures["stop_s"] = round(row.wall_s, 3)
    training.progress.disconnect(on_progress)
    d.run("record the run", lambda: None, lambda: not window.run_history.runner.is_busy())


def print_table(rows: list[Row]) -> None:
    print(f"\n{'action':<34} {'wall s':>8} {'worst stall ms':>16} {'RSS MB':>8} {'peak MB':>8} {'GC ms':>6}  note")
    print("-" * 106)
    for r in rows:
        print(f"{r.action:<34} {r.wall_s:8.2f} {r.stall_ms:16.0f} {r.rss_mb:8.0f} {r.peak_mb:8.0f} {r.gc_ms:6.0f}  {r.note}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=960_000, help="demo users (KION: 960000)")
    p.add_argument("--items", type=int, default=None, help="demo items (default: KION's ratio, 15700 for 960000 users)")
    p.add_argument("--seed", type=int, default=42, help="demo data seed (core.demo's default)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where data and checkpoint are kept (default {DEFAULT_CACHE})")
    p.add_argument("--checkpoint-users", type=int, default=CHECKPOINT_USERS, help="users the checkpoint is trained on")
    p.add_argument("--prepare-here", action="store_true",
                   help="make missing data and checkpoint in this process (quicker for tiny sizes; the peak memory then includes it)")
    p.add_argument("--train-steps", type=int, default=20, help="training steps reported before Stop")
    p.add_argument("--probe-ms", type=int, default=10, help="probe interval (ms)")
    p.add_argument("--quiet-ticks", type=int, default=5, help="regular probe ticks in a row that count as idle")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for any one action")
    p.add_argument("--stacks", action="store_true", help="print the stacks seen during each long stall")
    p.add_argument("--stack-threshold-ms", type=float, default=100.0, help="stalls at least this long get --stacks")
    p.add_argument("--profile", action="append", default=[], metavar="TEXT",
                   help="cProfile the interface thread during the actions whose name contains TEXT (repeatable)")
    p.add_argument("--json", type=Path, default=None, help="also write the JSON figures to this file")
    p.add_argument("--no-gc-freeze", action="store_true", help="leave the start-up objects to the garbage collector")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    items = args.items or default_items(args.users)
    load = os.getloadavg()
    print(f"ui_stalls: {args.users:,} users, {items:,} items; {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    t0 = time.perf_counter()
    if args.prepare_here:
        folder = ensure_data(args.cache_dir, args.users, items, args.seed)
        checkpoint = ensure_checkpoint(folder, args.checkpoint_users)
    else:
        folder, checkpoint = prepare(args.cache_dir, args.users, items, args.seed, args.checkpoint_users)
    print(f"data {folder}, checkpoint {checkpoint.name} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="sasrec-ui-stalls-") as tmp, isolated_environment(Path(tmp)):
        rows, figures = drive(folder, checkpoint, args, Path(tmp))
    print_table(rows)
    load = os.getloadavg()
    figures.update(users=args.users, items=items, load_avg_1m=round(load[0], 2))
    line = json.dumps(figures, sort_keys=True)
    if args.json is not None:
        args.json.write_text(line + "\n", encoding="utf-8")
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
