"""A process held to a Lambda function's CPU share: MemorySize / 1,769 vCPU (``make bench``).

Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB. A held
process gets that share of one core and no more, whatever the machine has free, as a CFS quota:

- cgroup v2 (``cpu.max``) or v1 (``cpu.cfs_quota_us``) where this process may create a cgroup
  (root, a writable hierarchy): the kernel enforces it, thread by thread of the whole process;
- otherwise SIGSTOP / SIGCONT duty-cycling at a 20 ms period: the process runs for its share
  of each period and is stopped for the rest (coarser: a process that waits on I/O in its
  running slice gives that time away).

Only the held process is held: in the bench, moto (DynamoDB) and the Twilio emulator run beside
it unheld, as DynamoDB and Twilio are not in the function's share.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from pathlib import Path

#: Lambda's memory for one full vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
FULL_VCPU_MB = 1769
#: The quota's period (and the duty cycle's).
PERIOD_US = 20_000


def share_of(memory_mb: int) -> float:
    """The vCPU share of a function with ``memory_mb`` (1.0 at 1,769 MB)."""
    return memory_mb / FULL_VCPU_MB


class CpuShare:
    """Holds one process (all its threads) to ``share`` of a core; :meth:`set` changes it."""

    def __init__(self, pid: int, share: float) -> None:
        self.pid, self.share = pid, share
        self.mechanism = "none"
        self._group: Path | None = None
        self._stop = threading.Event()
        self._cycler: threading.Thread | None = None
        for attach in (self._cgroup_v2, self._cgroup_v1):
            with contextlib.suppress(OSError):
                attach()
                return
        self.mechanism = "SIGSTOP/SIGCONT duty cycle, 20 ms period"
        self._cycler = threading.Thread(target=self._cycle, daemon=True)
        self._cycler.start()

    # --- cgroups ---------------------------------------------------------------------------------
    def _cgroup_v2(self) -> None:
        root = Path("/sys/fs/cgroup")
        if not (root / "cgroup.controllers").exists():
            root = Path("/sys/fs/cgroup/unified")
        if "cpu" not in (root / "cgroup.subtree_control").read_text().split():
            raise OSError("cgroup v2 without the cpu controller")
        group = root / f"bench-{uuid.uuid4().hex[:8]}"
        group.mkdir()
        self._group = group
        self._write_quota()
        (group / "cgroup.procs").write_text(str(self.pid))
        self.mechanism = "cgroup v2 cpu.max, 20 ms period"

    def _cgroup_v1(self) -> None:
        group = Path("/sys/fs/cgroup/cpu") / f"bench-{uuid.uuid4().hex[:8]}"
        group.mkdir()
        self._group = group
        try:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            self._write_quota()
            (group / "cgroup.procs").write_text(str(self.pid))
        except OSError:
            group.rmdir()
            self._group = None
            raise
        self.mechanism = "cgroup v1 cpu.cfs_quota_us, 20 ms period"

    def _write_quota(self) -> None:
        assert self._group is not None
        quota = max(int(PERIOD_US * self.share), 1000)  # the kernel's minimum quota is 1 ms
        if (self._group / "cpu.max").exists():
            (self._group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self._group / "cpu.cfs_quota_us").write_text(str(quota))

    # --- the fallback ----------------------------------------------------------------------------
    def _cycle(self) -> None:
        period = PERIOD_US / 1e6
        while not self._stop.is_set():
            share = min(self.share, 1.0)
            if share >= 1.0:
                self._stop.wait(period)
                continue
            try:
                os.kill(self.pid, signal.SIGCONT)
                self._stop.wait(period * share)
                os.kill(self.pid, signal.SIGSTOP)
                self._stop.wait(period * (1 - share))
            except ProcessLookupError:
                return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)

    # --- use -------------------------------------------------------------------------------------
    def set(self, share: float) -> None:
        self.share = share
        if self._group is not None:
            self._write_quota()

    def release(self) -> None:
        """The process runs unheld again (and the cgroup is removed once it has left it)."""
        self._stop.set()
        if self._cycler is not None:
            self._cycler.join()
        if self._group is None:
            return
        parent = self._group.parent
        with contextlib.suppress(OSError):
            (parent / "cgroup.procs").write_text(str(self.pid))
        with contextlib.suppress(OSError):
            self._group.rmdir()
        self._group = None

    def __enter__(self) -> CpuShare:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
