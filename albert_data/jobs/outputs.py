"""Every command's outputs, in one place: claimed, staged, published.

* :class:`Claim` / :func:`claimed`: an exclusive, expiring claim on one output (a
  directory, a file or a file-name prefix) held for the whole run. The claim is a small
  JSON file beside or in the output — the owner's host, process, start time and last
  heartbeat — renewed by a heartbeat thread. A second run meets it before doing any work
  and stops with one line naming the live run; a claim that was not renewed for a lease
  (``ALBERT_DATA_CLAIM_LEASE`` seconds, default 60), or whose process is certainly gone
  (same host, same boot, same process namespace, no such process), is taken over,
  saying so; ``--take-over`` takes over a live one. It works through Beam's
  ``FileSystems`` on ``gs://`` and the like, and with hard links (atomic on local disks
  and NFS) locally; it never looks at another host's processes.
* :class:`WorkDir`: the hidden work directory beside the outputs where a run writes
  them under temporary names; its owner file names the claim, so that what a dead run
  left is recognised and removed by the next one.
* :func:`publish`: the temporary outputs renamed to their final names, once the run has
  succeeded and still holds its claim: all or nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.jobs.interrupts import HeldInterrupts, raise_if_terminated

WORK_PREFIX = ".albert-data-"
OWNER_FILE = "owner.json"
CLAIM_PREFIX = ".albert-data-claim"
LEASE_ENV = "ALBERT_DATA_CLAIM_LEASE"
DEFAULT_LEASE = 60.0
# After writing a claim, wait this long and read it back: of two runs that wrote it at
# once, the one whose record is there won (an object store keeps the last write).
SETTLE_SECONDS = 0.3


def lease_seconds() -> float:
    """How long a claim lives without a heartbeat (``ALBERT_DATA_CLAIM_LEASE``)."""
    text = os.environ.get(LEASE_ENV, "")
    if not text:
        return DEFAULT_LEASE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= 1 and value < 1e7):
        raise UserError(
            f"{LEASE_ENV}={text!r} is not a number of seconds from 1 up; unset it (default {DEFAULT_LEASE:g})"
        )
    return value


# --- who runs here ------------------------------------------------------------------------


def _read_small(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """The start time of ``pid`` on this host (clock ticks since boot), to tell a reused
    pid apart."""
    text = _read_small(f"/proc/{pid}/stat")
    try:
        return text.rsplit(")", 1)[1].split()[19] if text else None
    except IndexError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


@dataclass(frozen=True)
class Owner:
    """The run holding a claim, as its claim file records it."""

    run: str
    command: str
    output: str
    host: str
    pid: int
    started: float  # seconds since the epoch
    heartbeat: float
    lease: float
    boot: str | None = None  # this host's boot id: a pid means something only within it
    pid_ns: str | None = None
    process_start: str | None = None

    @classmethod
    def me(cls, command: str, output: str, lease: float) -> Owner:
        now = time.time()
        pid = os.getpid()
        return cls(
            run=uuid.uuid4().hex,
            command=command,
            output=output,
            host=socket.gethostname(),
            pid=pid,
            started=_STARTED,
            heartbeat=now,
            lease=lease,
            boot=_read_small("/proc/sys/kernel/random/boot_id"),
            pid_ns=_pid_namespace(),
            process_start=_process_start(pid),
        )

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        try:
            data = json.loads(text)
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (ValueError, TypeError, KeyError):
            return None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    def renewed(self) -> Owner:
        return Owner(**{**asdict(self), "heartbeat": time.time()})

    def silent_for(self) -> float:
        return max(0.0, time.time() - self.heartbeat)

    def expired(self) -> bool:
        return self.silent_for() > self.lease

    def gone(self) -> bool:
        """Whether the owner is certainly dead: a process of this very host (same boot,
        same process namespace) that no longer exists. Another host's processes are
        never looked at: only the lease tells those."""
        here = Owner.me(self.command, self.output, self.lease)
        if (self.host, self.boot, self.pid_ns) != (here.host, here.boot, here.pid_ns):
            return False
        if self.boot is None or self.pid_ns is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return self.process_start is not None and _process_start(self.pid) != self.process_start

    def describe(self) -> str:
        """``albert-data make-pretraining run on host h (process 12, started …, last
        heartbeat 3 s ago)``."""
        started = datetime.datetime.fromtimestamp(self.started, datetime.timezone.utc)
        return (
            f"albert-data {self.command} run on host {self.host} (process {self.pid}, started "
            f"{started:%Y-%m-%d %H:%M:%S} UTC, last heartbeat {self.silent_for():.0f} s ago)"
        )


_STARTED = time.time()


# --- claims -------------------------------------------------------------------------------


def claim_path(output: str, *, directory: bool) -> str:
    """The claim file of ``output``: ``DIR/.albert-data-claim.json`` for a directory,
    ``PARENT/.albert-data-claim-NAME.json`` beside a file or a file-name prefix."""
    if directory:
        return f"{output.rstrip('/')}/{CLAIM_PREFIX}.json"
    head, name = fileio.parent_dir(output), output.rsplit("/", 1)[-1]
    if len(name.encode()) > 180:  # the claim's name must fit where the output's does
        name = hashlib.sha256(name.encode()).hexdigest()[:32]
    return f"{head.rstrip('/')}/{CLAIM_PREFIX}-{name}.json"


def is_claim_file(path: str) -> bool:
    return path.rstrip("/").rsplit("/", 1)[-1].startswith(CLAIM_PREFIX)


def _read(path: str) -> tuple[bool, Owner | None]:
    """(whether a claim file is there, its owner if it can be read)."""
    try:
        if fileio.is_remote(path):
            from apache_beam.io.filesystems import CompressionTypes, FileSystems

            if not FileSystems.exists(path):
                return False, None
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
                text = fh.read().decode("utf-8", "replace")
        else:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
    except FileNotFoundError:
        return False, None
    except Exception:  # noqa: BLE001 - a file system's own "not there" or a read error
        if fileio.is_remote(path):
            return False, None
        raise
    return True, Owner.parse(text)


def _write(path: str, owner: Owner, *, exclusive: bool) -> bool:
    """Write the claim; ``exclusive``: only if no claim is there (``False`` if one is).
    Locally the record is written whole under a temporary name, then hard-linked
    (exclusive: fails if the name exists, atomically, on local disks and NFS) or renamed
    into place, so a reader never sees half a record."""
    data = owner.to_json()
    if fileio.is_remote(path):
        from apache_beam.io.filesystems import CompressionTypes, FileSystems

        if exclusive and FileSystems.exists(path):
            return False
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            fh.write(data)
        return True
    tmp = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if not exclusive:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _missing_dirs(path: str) -> tuple[str, ...]:
    """The local directories on the way to ``path`` that do not exist yet, deepest first."""
    if fileio.is_remote(path):
        return ()
    missing = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return tuple(missing)


def _remove_empty(directories: tuple[str, ...]) -> None:
    for directory in directories:
        with contextlib.suppress(OSError):
            os.rmdir(directory)


@dataclass
class Claim:
    """This run's claim on one output, renewed by a heartbeat thread until released."""

    output: str
    path: str
    owner: Owner
    created: tuple[str, ...] = ()  # local directories made for the claim, deepest first
    lost_to: str | None = None  # who took the claim over, once this run has lost it
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _renewed_at: float = field(default_factory=time.monotonic)

    @classmethod
    def acquire(
        cls,
        output: str,
        *,
        directory: bool,
        command: str,
        take_over: bool = False,
        say: Callable[[str], None] = lambda _: None,
        public: str | None = None,
    ) -> Claim:
        """Claim ``output`` for this run, or raise a one-line :class:`UserError`
        naming the live run that holds it; an ``OSError`` (a full disk) names
        ``public`` (default: ``output``)."""
        lease = lease_seconds()
        path = claim_path(output, directory=directory)
        created = _missing_dirs(output if directory else fileio.parent_dir(output))
        if created:
            os.makedirs(created[0], exist_ok=True)
        claim = cls(output, path, Owner.me(command, output, lease), created)
        try:
            claim._take(take_over=take_over, say=say)
        except BaseException as err:
            claim._drop()
            if isinstance(err, OSError):  # a full disk, a forbidden place: the output's
                raise OSError(err.errno, err.strerror, public or output) from err
            raise
        claim._start_heartbeat()
        return claim

    def _take(self, *, take_over: bool, say: Callable[[str], None]) -> None:
        for _attempt in range(3):
            there, held = _read(self.path)
            if there:
                self._may_take(held, take_over=take_over, say=say)
                _write(self.path, self.owner, exclusive=False)
            elif not _write(self.path, self.owner, exclusive=True):
                continue  # another run claimed it between the look and the write
            elif not fileio.is_remote(self.path):
                return  # a local exclusive create (a hard link) cannot be raced: ours
            # A take-over (two runs may replace the same claim) or an object store (no
            # exclusive create): the last writer wins, so wait, then read back who did.
            time.sleep(SETTLE_SECONDS)
            _, now = _read(self.path)
            if now is not None and now.run == self.owner.run:
                return
            if now is not None:
                raise self._held_error(now)
        raise UserError(
            f"{self.output}: could not claim it ({self.path} keeps changing); another albert-data run is starting on it — wait, or choose another output"
        )

    def _may_take(self, held: Owner | None, *, take_over: bool, say) -> None:
        if held is None:
            say(f"taking over the claim on {self.output}: its claim file {self.path} is unreadable")
            return
        if held.run == self.owner.run:
            return
        if held.expired():
            why = f"no heartbeat for {held.silent_for():.0f} s (lease {held.lease:g} s)"
        elif held.gone():
            why = f"process {held.pid} is gone"
        elif take_over:
            why = "--take-over given"
        else:
            raise self._held_error(held)
        say(f"taking over the claim on {self.output} of the {held.describe()}: {why}")

    def _held_error(self, held: Owner) -> UserError:
        return UserError(
            f"{self.output} is claimed by the {held.describe()}; wait for it to end, or, if that run is gone, wait {max(0, held.lease - held.silent_for()):.0f} s for its claim to expire or pass --take-over (claim file {self.path})"
        )

    # --- the heartbeat ---------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        interval = max(0.2, self.owner.lease / 4)

        def beat() -> None:
            while not self._stop.wait(interval):
                self.renew()

        self._thread = threading.Thread(target=beat, name="albert-data-claim", daemon=True)
        self._thread.start()

    def renew(self) -> None:
        """Write a new heartbeat, unless another run has taken the claim over."""
        if self.lost_to is not None:
            return
        try:
            there, held = _read(self.path)
            if not there:
                self.lost_to = f"another run (this run's claim file {self.path} was removed)"
                return
            if held is not None and held.run != self.owner.run:
                self.lost_to = f"the {held.describe()}"
                return
            self.owner = self.owner.renewed()
            _write(self.path, self.owner, exclusive=False)
            self._renewed_at = time.monotonic()
        except Exception:  # noqa: BLE001 - a storage hiccup: the next beat tries again
            return

    def check_held(self) -> None:
        """Raise a one-line :class:`UserError` unless this run still holds the claim
        (read from storage now): nothing is published by a run whose claim was taken."""
        _there, held = _read(self.path)
        if held is None:
            self.lost_to = (
                self.lost_to or f"another run (this run's claim file {self.path} was removed)"
            )
        elif held.run != self.owner.run:
            self.lost_to = f"the {held.describe()}"
        if time.monotonic() - self._renewed_at > self.owner.lease and self.lost_to is None:
            self.renew()
        if self.lost_to is not None:
            raise self.lost_error()

    def lost_error(self) -> UserError:
        return UserError(
            f"{self.output}: this run's claim was taken over by {self.lost_to} (no heartbeat was written for longer than the lease, or --take-over); nothing was published — re-run when that run has ended"
        )

    def release(self) -> None:
        """Stop the heartbeat and remove the claim file (if it is still this run's)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._drop()

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            _there, held = _read(self.path)
            if held is not None and held.run == self.owner.run:
                fileio.delete([self.path])
        _remove_empty(self.created)


@contextlib.contextmanager
def claimed(
    output: str,
    *,
    directory: bool,
    command: str,
    take_over: bool = False,
    say: Callable[[str], None] = lambda _: None,
    enabled: bool = True,
    public: str | None = None,
):
    """Hold a :class:`Claim` on ``output`` while the block runs (``None`` when not
    ``enabled``, e.g. a dry run). A failure inside a run that lost its claim is told as
    the lost claim (the other run may have removed this one's work directory)."""
    if not enabled:
        yield None
        return
    # A signal between the claim file's creation and the try below would leave the file
    # and the directory made for it: held meanwhile. Not for a remote output, whose
    # claim takes network round trips (and retries) that Ctrl-C must be able to cut
    # short; a claim left there expires with its lease.
    held = HeldInterrupts(enabled=not fileio.is_remote(output))
    try:
        claim = Claim.acquire(
            output,
            directory=directory,
            command=command,
            take_over=take_over,
            say=say,
            public=public,
        )
    except BaseException:
        held.release()
        raise
    try:
        held.release()
        yield claim
    except Exception:
        with contextlib.suppress(OSError):
            claim.check_held()  # raises the lost claim, the cause of whatever failed
        raise
    finally:
        claim.release()


def claim_is_live(path: str, run: str) -> bool:
    """Whether the claim file at ``path`` is held by ``run``, and alive."""
    try:
        _there, held = _read(path)
    except OSError:
        return False
    return held is not None and held.run == run and not held.expired() and not held.gone()


# --- the work directory -----------------------------------------------------------------


def _legacy_dead(owner: dict) -> bool:
    """An owner file without a claim (written by an earlier version, which renewed
    nothing): dead unless it names a live process of this host."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return owner.get("start") is not None and _process_start(pid) != owner.get("start")


@dataclass
class WorkDir:
    """``DIR/.albert-data-<kind>-<id>/``: temporary outputs, run files, progress."""

    path: str
    created: tuple[str, ...] = ()  # local output directories this run made, deepest first
    dry_run: bool = False  # nothing was written: nothing to remove (no storage call)

    @classmethod
    def create(
        cls, parent: str, kind: str, *, dry_run: bool = False, claim: Claim | None = None
    ) -> WorkDir:
        """A new work directory under ``parent`` holding an owner file naming the
        run's claim (nothing is written in a dry run)."""
        work = cls(
            f"{parent.rstrip('/')}/{WORK_PREFIX}{kind}-{uuid.uuid4().hex[:12]}",
            created=() if dry_run else _missing_dirs(parent),
            dry_run=dry_run,
        )
        if not dry_run:
            pid = os.getpid()
            owner = {"pid": pid, "host": socket.gethostname(), "start": _process_start(pid)}
            if claim is not None:
                owner.update(run=claim.owner.run, claim=claim.path)
            try:
                with fileio.open_write(f"{work.path}/{OWNER_FILE}", compress=False) as fh:
                    fh.write(json.dumps(owner).encode())
            except BaseException:
                work.discard()
                raise
        return work

    def file(self, name: str) -> str:
        return f"{self.path}/{name}"

    def progress_dir(self, settings) -> str | None:
        """Where local workers report finished ranges (``None``: no progress files, on
        a remote runner or a remote work directory)."""
        if settings.local and not fileio.is_remote(self.path):
            return self.file("progress")
        return None

    def remove(self) -> None:
        """Delete the work directory (a dry run wrote none: no call to its storage, which
        for a ``gs://`` path would wait minutes on retries without credentials)."""
        if not self.dry_run:
            fileio.remove_tree(self.path)

    @contextlib.contextmanager
    def removed_at_end(self):
        """Remove the work directory when the block ends, whatever happens; on failure
        also the output directories the run created (when empty). A full disk met
        inside is told how many bytes the run had written here (the ``bytes_written``
        of the ``OSError``), measured before they are removed."""
        try:
            yield self
        except BaseException as err:
            space = isinstance(err, OSError) and err.errno in fileio.SPACE_ERRNOS
            if space and not fileio.is_remote(self.path):
                err.bytes_written = _tree_bytes(self.path)
            self.discard()
            raise
        self.remove()

    def discard(self) -> None:
        """After a failure: the work directory and the (empty) output directories this
        run created are removed."""
        self.remove()
        _remove_empty(self.created)


def _tree_bytes(path: str) -> int:
    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _owner_of(path: str) -> dict:
    try:
        if fileio.is_remote(path):
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(f"{path}/{OWNER_FILE}") as fh:
                return json.loads(fh.read())
        with open(os.path.join(path, OWNER_FILE)) as fh:
            return json.load(fh)
    except Exception:  # noqa: BLE001 - killed before its owner file was complete
        return {}


def _work_dirs(parent: str) -> list[str]:
    if fileio.is_remote(parent):
        from apache_beam.io.filesystems import FileSystems

        try:
            found = FileSystems.match([f"{parent.rstrip('/')}/{WORK_PREFIX}*/{OWNER_FILE}"])
        except Exception:  # noqa: BLE001 - nothing there
            return []
        return sorted({m.path.rsplit("/", 1)[0] for m in found[0].metadata_list})
    if not os.path.isdir(parent):
        return []
    return [
        os.path.join(parent, name)
        for name in sorted(os.listdir(parent))
        if name.startswith(WORK_PREFIX) and os.path.isdir(os.path.join(parent, name))
    ]


def leftover_work_dirs(parent: str) -> tuple[list[str], list[str]]:
    """(dead, live) work directories of earlier runs under ``parent``: a work directory
    is live while the claim its owner file names is held by that run and renewed."""
    dead, live = [], []
    for path in _work_dirs(parent):
        owner = _owner_of(path)
        if "claim" in owner:
            alive = claim_is_live(owner["claim"], owner.get("run", ""))
        else:
            alive = bool(owner) and not _legacy_dead(owner)
        (live if alive else dead).append(path)
    return dead, live


def clear_leftovers(parent: str, *, say: Callable[[str], None]) -> None:
    """Remove what dead runs left under ``parent``. A live run's work directory is left
    alone: it belongs to another output (this run holds the claim on its own); one of an
    earlier version, which made no claims, is refused."""
    dead, live = leftover_work_dirs(parent)
    unclaimed = [p for p in live if "claim" not in _owner_of(p)]
    if unclaimed:
        raise UserError(
            f"another albert-data run is writing to {parent} (work directory {unclaimed[0]}); wait for it, or choose another output"
        )
    for path in dead:
        fileio.remove_tree(path)
        say(f"removed the leftovers of an interrupted run: {path}")


def publish(temps: list[str], finals: list[str], *, claims: list[Claim | None] = ()) -> None:
    """Rename every temporary output to its final name (the run has succeeded), once
    every claim is confirmed to be still this run's. A final name that is a local
    directory (``export``'s formats) is replaced whole. A run that was sent SIGTERM
    publishes nothing, even if the signal's interrupt was lost on the way
    (:func:`albert_data.jobs.interrupts.raise_if_terminated`)."""
    raise_if_terminated()
    for claim in claims:
        if claim is not None:
            claim.check_held()
    for tmp, final in zip(temps, finals):
        if not fileio.is_remote(final) and os.path.isdir(final) and not os.path.islink(final):
            import shutil

            shutil.rmtree(final)
        fileio.rename(tmp, final)


def is_own_entry(path: str) -> bool:
    """A claim file or work directory of albert-data inside an output directory."""
    return path.rstrip("/").rsplit("/", 1)[-1].startswith(WORK_PREFIX)
