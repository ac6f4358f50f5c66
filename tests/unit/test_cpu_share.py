"""local.cpu_share: make bench's Lambda CPU share holds a process to at most its share."""

import subprocess
import sys
import time

import pytest

from local.cpu_share import CpuShare, share_of

BUSY = "while True: pass"


def cpu_seconds(pid: int) -> float:
    import os
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def held_fraction(share: float, monkeypatch=None, duty_cycle: bool = False) -> tuple[float, str]:
    """The CPU a busy process got per second of wall time while held to ``share``."""
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        if duty_cycle:  # no cgroup to be had: the SIGSTOP/SIGCONT fallback
            monkeypatch.setattr(CpuShare, "_cgroup_v2", lambda self: (_ for _ in ()).throw(OSError))
            monkeypatch.setattr(CpuShare, "_cgroup_v1", lambda self: (_ for _ in ()).throw(OSError))
        with CpuShare(child.pid, share) as held:
            time.sleep(0.2)
            cpu, started = cpu_seconds(child.pid), time.monotonic()
            time.sleep(1.0)
            used = cpu_seconds(child.pid) - cpu
            return used / (time.monotonic() - started), held.mechanism
    finally:
        child.kill()
        child.wait()


def test_the_share_of_a_memory_size():
    assert share_of(1769) == 1.0
    assert share_of(256) == pytest.approx(0.1447, abs=1e-4)


def test_a_held_process_gets_no_more_than_its_share():
    fraction, mechanism = held_fraction(0.25)
    # at most the share (the clock tick's resolution on top); a busy machine may give it less
    assert fraction <= 0.25 + 0.08, (fraction, mechanism)


def test_the_duty_cycle_holds_where_no_cgroup_can_be_made(monkeypatch):
    fraction, mechanism = held_fraction(0.2, monkeypatch, duty_cycle=True)
    assert mechanism.startswith("SIGSTOP/SIGCONT")
    # coarser than the kernel's quota: a busy machine may let the stop signal come late
    assert fraction <= 0.2 + 0.2, fraction


def test_an_unheld_busy_process_takes_more():
    """The check above can fail: a process that is not held uses more than the share."""
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.2)
        cpu, started = cpu_seconds(child.pid), time.monotonic()
        time.sleep(1.0)
        fraction = (cpu_seconds(child.pid) - cpu) / (time.monotonic() - started)
    finally:
        child.kill()
        child.wait()
    assert fraction > 0.2 + 0.2
