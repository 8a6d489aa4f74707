"""One progress display (:class:`linparity._progress.Progress`) for every library function that
reports progress: ``progress=True`` writes to stderr, ``progress=False`` writes nothing, and
stdout never gets progress text."""
from __future__ import annotations

import io

import numpy as np
import pytest

from linparity._progress import Progress


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def _pretrain(progress):
    from linparity.simulate import pretrain
    pretrain(3, 0.5, 20, 0.2, rng=0, replicates=2, progress=progress)


def _train_exact(progress):
    from linparity.exact import train_exact
    from linparity.model import LinearAR
    train_exact(LinearAR.zeros(3), 0.5, 0.1, 5, progress=progress)


def _route_star(progress):
    from linparity.simulate import api
    s = api.start(3, 0.5, 0.1, 20, replicates=2, rng=0)
    api.star(3, 0.5, 0.1, 2, s, samples=20, rng=1, progress=progress)


def _search_budget(progress):
    from linparity.experiments.samples import search_budget
    search_budget(lambda B, gens: {"success": np.full(len(gens), B >= 16)}, np.random.default_rng(0), 2,
                  b0=8, cap=64, progress=progress)


def _samples_search(progress):
    from linparity.experiments.samples import samples_search
    samples_search(3, 0.5, "stats", replicates=2, rng=0, b0=8, cap=16, progress=progress)


def _run_sweep(progress, tmp_path):
    from linparity.sweep import SweepSpec, run_sweep
    run_sweep(SweepSpec(task="demo", grid={"n": [2]}, replicates=1, seed=1,
                        out=tmp_path / f"p{progress}"), progress=progress)


@pytest.mark.parametrize("call,shows", [
    (_pretrain, "pretrain d=3"), (_train_exact, "exact NTP d=3"), (_route_star, "2/2 rounds"),
    (_search_budget, "samples ["), (_samples_search, "samples ["), (_run_sweep, "sweep demo"),
])
def test_each_function_shows_progress_on_a_terminal_only_when_asked(call, shows, tmp_path, monkeypatch, capsys):
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    args = (tmp_path,) if call is _run_sweep else ()
    call(True, *args)
    assert shows in err.getvalue() and "\r" in err.getvalue()
    assert capsys.readouterr().out == ""
    err.seek(0), err.truncate()
    call(False, *args)
    assert err.getvalue() == "" and capsys.readouterr().out == ""


@pytest.mark.parametrize("tty", [True, False])
def test_a_bar_on_a_terminal_else_a_last_plain_line(tty):
    stream = _Terminal() if tty else io.StringIO()
    with Progress(4, "work", "steps", stream=stream, initial=1) as bar:
        for _ in range(3):
            bar.update(loss=0.5)
    text = stream.getvalue()
    assert "4/4 steps" in text and "loss=0.5" in text
    assert text.count("\r") == (4 if tty else 0) and text.count("\n") == 1


def test_disabled_writes_nothing():
    stream = _Terminal()
    with Progress(3, "work", enabled=False, stream=stream) as bar:
        bar.update()
    assert stream.getvalue() == ""


@pytest.mark.parametrize("estimate, enabled, tty, shown", [
    (10.0, True, True, True),      # long work on a terminal: a heartbeat
    (2.0, True, True, False),      # work estimated under 3 s: none
    (10.0, False, True, False),    # --no-progress
    (10.0, True, False, False),    # stderr not a terminal (a log file): none
])
def test_heartbeat_ticks_only_for_long_work_on_a_terminal(estimate, enabled, tty, shown, monkeypatch):
    import time

    from linparity.cli.output import Heartbeat
    err = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with Heartbeat("pg", estimate, enabled) as hb:
        # the thread ticks once a second; wait (at most 10 s, a bound, not a timing assertion) for a tick
        deadline = time.monotonic() + (10.0 if shown else 1.5)
        while "s estimated" not in err.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    out = err.getvalue()
    assert hb.enabled is shown
    if shown:
        assert "pg [" in out and f"/{int(estimate)} s estimated" in out and out.endswith("\r\033[K")  # erased at exit
    else:
        assert out == ""
