"""The Ray side of ``curate run``: the checks made before any work (``--workers``, Ray not
installed, a ``--ray-address`` or $RAY_ADDRESS where nothing or no Ray head answers), the local
session a run starts (its temp dir under OUT, without Ray's token-authentication notice), one
task per source (absolute paths: a cluster's workers run in folders of their own), the sources
whose part did not reach OUT, and SIGTERM taken as Ctrl-C.

The unit of work is a source path: Ray tasks receive paths and return row counts; frames are
decoded inside the task and never enter Ray's object store (FIELD-NOTES: decoded frames are
~10x the compressed size). The task function is passed in (``engine.process_source``): Ray
pickles it by its module path, which a worker imports, and this module needs nothing of the
engine's.
"""

from __future__ import annotations

import _thread
import itertools
import logging
import os
import re
import shutil
import signal
import socket
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

from data_curation.manifest import part_path
from data_curation.recipe import Recipe, absolute_models

# Ray's longest socket path below its temp dir: "/session_<date>_<time>_<usec>_<pid>/sockets/plasma_store"
# with a 7-digit pid; AF_UNIX paths hold at most 107 bytes on Linux.
_RAY_SOCKET_TAIL = len("/session_2026-01-01_00-00-00_000000_1234567/sockets/plasma_store")
_UNIX_PATH_MAX = 107


def ray_temp_dir(out: Path) -> str | None:
    """Where a local Ray we start keeps its session (logs, sockets, spilled objects): under OUT,
    so that a run writes nothing elsewhere. None, with one warning, when OUT's path is too long for
    Ray's Unix sockets; Ray then uses its default (``/tmp/ray``)."""
    d = str(Path(out).resolve() / ".ray")
    if len(d.encode()) + _RAY_SOCKET_TAIL > _UNIX_PATH_MAX:
        warnings.warn(f"OUT's path is too long for Ray's sockets ({len(d.encode())} > "
                      f"{_UNIX_PATH_MAX - _RAY_SOCKET_TAIL} bytes): Ray's session goes to its default temp dir",
                      stacklevel=2)
        return None
    return d


def check_workers(workers: int | None) -> None:
    """``workers`` is None (all cores), 0 (no Ray: this process scores) or a number of Ray CPUs;
    anything else is a ValueError before any work (Ray took ``-1``, made ``OUT/.ray`` and failed
    with its own internal error)."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"--workers must be 0 (no Ray: score in this process) or a number of Ray CPUs, "
                         f"1 or more; got {workers}")


class RayNotInstalled(ImportError):
    """No ``ray`` to import for a run that uses it: one line naming the two ways out (the CLI
    maps it to exit 2), not a ModuleNotFoundError traceback."""


def require_ray() -> None:
    """A :class:`RayNotInstalled` when ``import ray`` fails; asked before OUT is made, so a run
    that cannot start Ray leaves nothing behind."""
    try:
        import ray  # noqa: F401
    except ImportError as e:
        why = "Ray is not installed" if e.name == "ray" else f"Ray cannot be imported ({type(e).__name__}: {(str(e).splitlines() or [''])[0]})"
        raise RayNotInstalled(f'{why} (pip install -e ".[curate]"), or run without Ray: --workers 0') from None


def resolve_ray_address(given: str | None) -> tuple[str | None, str | None]:
    """(the Ray address a run joins, None to start a local session; how the user gave it, for
    messages: ``--ray-address ADDR`` or ``$RAY_ADDRESS=ADDR``). ray.init reads $RAY_ADDRESS when
    given no address: taken here so that it is checked too, and so that the local session's
    options (num_cpus, the temp dir under OUT) are not passed to a cluster. ``local`` is Ray's
    word for "start a new one here": as no address."""
    address = given or os.environ.get("RAY_ADDRESS") or None
    if address is None or address == "local":
        return None, None
    return address, (f"--ray-address {address}" if given else f"$RAY_ADDRESS={address}")


RAY_CONNECT_TIMEOUT_S = 3.0  # a reachable head answers a TCP connect in milliseconds, even across a network
# An explicit Ray address: HOST:PORT (the GCS) or ray://HOST:PORT (Ray Client); [v6 address]:PORT too
_HOST_PORT = re.compile(r"(?:ray://)?(?P<host>\[[0-9A-Fa-f:.%\w]+\]|[^\s:/\[\]]+):(?P<port>\d+)/?")


def ray_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of an explicit Ray address (``HOST:PORT``, ``ray://HOST:PORT``); None for what
    Ray resolves itself (``auto``: the cluster started on this machine, ``local``: a new one)."""
    m = _HOST_PORT.fullmatch(address.strip())
    return (m["host"].strip("[]"), int(m["port"])) if m else None


def check_ray_address(address: str | None, timeout: float = RAY_CONNECT_TIMEOUT_S, label: str | None = None) -> None:
    """A ConnectionError (one line) when nothing accepts a TCP connection at an explicit Ray
    address within ``timeout`` seconds: ``ray.init`` itself retries a wrong address for many
    minutes, printing "Failed to connect to GCS" lines. ``auto`` and ``local`` are left to Ray
    (``auto`` fails fast by itself). ``label`` names the address as the user gave it
    (:func:`resolve_ray_address`; default ``--ray-address ADDRESS``)."""
    hp = ray_host_port(address) if address else None
    if hp is None:
        return
    label = label or f"--ray-address {address}"
    host, port = hp
    if not 0 < port < 65536:
        raise ValueError(f"{label}: port {port} is not a TCP port (1 to 65535)")
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            speaks = os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true") or speaks_http2(conn, timeout)
    except OSError as e:
        why = f"no answer in {timeout:g} s" if isinstance(e, TimeoutError) else (e.strerror or type(e).__name__)
        raise ConnectionError(f"{label}: cannot connect to {host}:{port} ({why}); is a Ray "
                              "cluster running there? (`ray start --head` prints the address to give)") from None
    if not speaks:
        raise ConnectionError(f"{label}: something answers at {host}:{port}, but not a Ray head "
                              "(it does not speak gRPC, Ray's protocol); check the port (`ray start --head` prints "
                              "the address to give; the dashboard's 8265 is not it)")


# A client opens HTTP/2 with this preface and a SETTINGS frame; a server answers with its own
# SETTINGS frame (RFC 9113, section 3.4). Ray's GCS and its Client server are gRPC, HTTP/2 servers.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 4  # the frame type byte, after the 3-byte length


def speaks_http2(conn: socket.socket, timeout: float) -> bool:
    """Whether the server on a connected socket answers an HTTP/2 client preface with a SETTINGS
    frame, as a gRPC server does: a port that accepts TCP but is no Ray head (a web server, the
    dashboard, ssh) made ``ray.init`` wait for minutes."""
    conn.settimeout(timeout)
    try:
        conn.sendall(_H2_PREFACE)
        head = b""
        while len(head) < 4:
            chunk = conn.recv(4 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:  # no answer in time, or the peer closed
        return False
    return head[3] == _H2_SETTINGS


class ConnectInterrupted(KeyboardInterrupt):
    """Ctrl-C while ``ray.init`` waits for the cluster at ``--ray-address`` (the port answers,
    but maybe not a Ray head): nothing was scored, and rerunning the same command would wait
    again, so the CLI says so instead of "rerun to resume"."""


# ray.init with an explicit address, a cluster of ``ray start`` in recent Ray (token authentication
# on) and no token here: "Failed to get cluster ID ... InvalidAuthToken" lines for 20 s, then
# "Failed to connect to Ray cluster at ADDR"; nothing says why
AUTH_HINT = ("hint: the cluster may use token authentication (the default of `ray start` in recent Ray): set "
             "RAY_AUTH_MODE=token (the token in ~/.ray/auth_token or $RAY_AUTH_TOKEN), or use --ray-address auto "
             "on the head machine")
# how Ray's ConnectionError for ``auto`` with no cluster running says to give an address: Ray's own flag
_RAY_ADDRESS_ADVICE = "by setting `--address` flag or `RAY_ADDRESS` environment variable"


def join_error(address: str, label: str | None, e: ConnectionError) -> ConnectionError:
    """Ray's ConnectionError of joining ``address`` in this tool's words: the address as the
    user gave it (``label``) first, ``--ray-address`` where Ray names its own ``--address``, and
    for an explicit HOST:PORT the :data:`AUTH_HINT` line (the port answered gRPC, so the head
    is there: a missing token is the likely cause)."""
    text = str(e).replace(_RAY_ADDRESS_ADVICE, "with --ray-address HOST:PORT")
    hint = f"\n{AUTH_HINT}" if ray_host_port(address) else ""
    return ConnectionError(f"{label or f'--ray-address {address}'}: {text}{hint}")


def _ray_init(address: str | None, label: str | None = None, **kw) -> None:
    import ray

    try:
        ray.init(**({"address": address} if address else {}), **kw)
    except ConnectionError as e:
        if not address:
            raise
        raise join_error(address, label, e) from None
    except KeyboardInterrupt:
        if not address:
            raise
        raise connect_interrupted(address) from None


def connect_interrupted(address: str) -> ConnectInterrupted:
    """What a Ctrl-C while ``ray.init`` waits for the cluster at ``address`` says; for an
    explicit HOST:PORT with the :data:`AUTH_HINT` line (a head that refuses a driver without
    its token makes ray.init wait)."""
    hint = f"\n{AUTH_HINT}" if ray_host_port(address) else ""
    return ConnectInterrupted(f"interrupted while connecting to Ray at {address}: nothing was scored; check "
                              f"that a Ray head runs there (`ray status --address {address}`){hint}")


@contextmanager
def sigterm_interrupts(restore=None):
    """While the block runs, SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C
    does: the run ends as an interrupted one (its one line, ``ray.shutdown``, exit 130).
    ``engine.run`` holds it for the whole run; while ``ray.init`` runs, :func:`sigterm_held`.
    ``ray.init`` installs a handler that killed Ray's processes and exited under them (a C++
    crash dump, SIGABRT). Then ``restore`` (default: the handler found) is put back; a handler
    set outside Python reads as None and comes back as the default one. Off the main thread,
    where Python takes no signal handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    found = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        back = restore if restore is not None else found
        signal.signal(signal.SIGTERM, back if back is not None else signal.SIG_DFL)


@contextmanager
def sigterm_held(hold: bool = True):
    """While ``ray.init`` starts a local session: Ray's own SIGTERM handlers are not installed
    (the first exited 15 without a word, the node's killed Ray's processes under the driver:
    exit -6 and a C++ dump, or a driver hung for good), and a SIGTERM is held until the session
    is up, then raised as KeyboardInterrupt: ``ray.shutdown`` then finds every process Ray
    started (stopped halfway, its agents were left running). A second SIGTERM raises at once
    (a start that hangs). ``hold`` False (joining a cluster, which starts nothing here: a
    wait for a head that may never answer) raises at the first. Off the main thread, nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import ray._private.utils as ray_utils  # where every Ray handler is installed from (2.x)

    pending: list[int] = []

    def note(signum, frame):
        if pending or not hold:
            raise KeyboardInterrupt
        pending.append(signum)

    found = signal.signal(signal.SIGTERM, note)
    setter = getattr(ray_utils, "set_sigterm_handler", None)
    if setter is not None:
        ray_utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        if setter is not None:
            ray_utils.set_sigterm_handler = setter
        signal.signal(signal.SIGTERM, found if found is not None else signal.SIG_DFL)
    if pending:
        raise KeyboardInterrupt


@contextmanager
def sigterm_relayed():
    """While Ray runs in this process, from before ``ray.init`` to after ``ray.shutdown``: SIGTERM
    blocked in the main thread, and so in every thread started meanwhile (Ray's included), and
    taken by one thread of ours that raises it in the main thread, where the handler in place
    decides (:func:`sigterm_interrupts`, :func:`sigterm_held`). ``ray.shutdown`` sets SIGTERM back
    to the default action in C, under Python's handler (its C++ failure handler uninstalled): a
    SIGTERM then killed the run in silence (exit -15), whichever thread the kernel gave it to.
    Ray's own processes start with the mask found (they end by SIGTERM). The handler and the
    mask are put back on every path; a SIGTERM that came meanwhile is taken then. Off the main
    thread, with SIGTERM blocked already, or where Ray starts its processes some other way,
    nothing changes. A thread started before (a model's) still takes SIGTERM itself."""
    import ray._private.services as services  # where Ray starts its processes from (2.x)

    popen = getattr(services, "ConsolePopen", None)
    if threading.current_thread() is not threading.main_thread() or popen is None \
            or signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, set()):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    stop, lock = threading.Event(), threading.Lock()

    class Popen(popen):
        def __init__(self, *args, preexec_fn=None, **kw):
            def preexec():
                signal.pthread_sigmask(signal.SIG_SETMASK, before)
                if preexec_fn is not None:
                    preexec_fn()
            super().__init__(*args, preexec_fn=preexec, **kw)

    def relay():
        while not stop.is_set():
            if signal.sigtimedwait({signal.SIGTERM}, 0.1) is not None:
                with lock:
                    if not stop.is_set():
                        _thread.interrupt_main(signal.SIGTERM)
                    else:  # left pending: the mask put back delivers it
                        os.kill(os.getpid(), signal.SIGTERM)

    def end():  # every step can be done twice: a SIGTERM relayed before the stop may interrupt one
        with lock:
            stop.set()
        taker.join()
        services.ConsolePopen = popen
        handler = signal.getsignal(signal.SIGTERM)  # in C too: Ray's shutdown reset it
        signal.signal(signal.SIGTERM, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a held SIGTERM raises here

    services.ConsolePopen = Popen
    taker = threading.Thread(target=relay, name="curate-sigterm", daemon=True)
    taker.start()
    interrupted, failed = None, False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        while True:
            try:
                end()
                break
            except KeyboardInterrupt as e:
                interrupted = e
        if interrupted is not None and not failed:  # what ended the run already is the one to show
            raise interrupted


# Ray (2.5x) turns token authentication on for every new local cluster and, unless
# $RAY_AUTH_MODE was set, logs on every ``ray.init`` that it did, from this logger:
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
RAY_AUTH_NOTICE = "Token authentication is enabled for this Ray cluster"


class _DropAuthNotice(logging.Filter):
    """Drops Ray's notice that token authentication is on (the safe default, nothing to act
    on) and lets every other record of its logger through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(RAY_AUTH_NOTICE)


@contextmanager
def quiet_token_auth():
    """While a local Ray session we start comes up: without Ray's "Token authentication is
    enabled ... Set RAY_AUTH_MODE=disabled to opt out" line, printed on every run. Setting
    $RAY_AUTH_MODE ourselves does not work: Ray reads it once, when imported (set later, the
    driver and the GCS disagree and the GCS refuses the driver), and ``disabled`` would open
    the cluster to anyone on the network. Only that record goes; any other of that logger,
    and all of Ray's others, still show."""
    log, drop = logging.getLogger(RAY_AUTH_LOGGER), _DropAuthNotice()
    log.addFilter(drop)
    try:
        yield
    finally:
        log.removeFilter(drop)


def _run_ray(todo: list[str], recipe: Recipe, out: Path, workers: int | None, address: str | None,
             progress: bool, process: Callable[[str, Recipe, str], dict],
             lost: Callable[[str, Recipe, str, BaseException], dict], label: str | None = None,
             extract_only: list[str] = ()) -> list[dict]:
    """``process`` (``engine.process_source``) of every source in ``todo`` on Ray (those also in
    ``extract_only`` with ``extract_only=True``: their missing clip files only): a local
    session we start lives under OUT and ends with the run; a cluster at ``address`` is joined
    (``label``: how the user gave it, for messages). ``lost`` (``engine.record_lost_source``)
    records a source whose task failed, and one whose part is not in OUT/parts after its task
    (:func:`record_missing_parts`). Tasks get absolute paths: a worker of a cluster resolves a
    relative one against its own folder, where no source or model is. SIGTERM is an interrupt
    (:func:`sigterm_interrupts`)."""
    import ray

    term = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    started = not ray.is_initialized()
    if not recipe.cuts.threads and not address:  # sources decode side by side: share the cores out
        n = workers or os.cpu_count() or 1
        recipe = replace(recipe, cuts=replace(recipe.cuts, threads=max(1, n // len(todo))))
    sent = [os.path.abspath(p) for p in todo]
    recipe = absolute_models(recipe)  # models/clip typed here is not the worker's models/clip
    with sigterm_relayed() if started else nullcontext():  # from before Ray's first thread to after its shutdown
        if started:
            _start(address, label, out, workers, progress)
        # the handler from before ray.init, an interrupt: the one ray.init leaves is not ours
        with sigterm_interrupts(restore=term):
            try:
                results = _gather(sent, recipe, os.path.abspath(out), progress, process, lost,
                                  extract_only={os.path.abspath(p) for p in extract_only})
            finally:
                if started:  # the session lives under OUT: end it with the run
                    with sigterm_held():
                        ray.shutdown()
                    if not address:
                        prune_ray_sessions(Path(out).resolve() / ".ray")
    return results + record_missing_parts(sent, recipe, out, lost)


KEEP_RAY_SESSIONS = 3  # the newest sessions' logs under OUT/.ray, kept to look into a run's workers
_SESSION = re.compile(r"session_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d+_(?P<pid>\d+)")


def prune_ray_sessions(temp: Path, keep: int = KEEP_RAY_SESSIONS) -> list[Path]:
    """Delete all but the ``keep`` newest session folders under ``temp`` (a run's ``OUT/.ray``),
    after this process shut its session down: each run left one (~200 KB of logs) and nothing
    removed them. A session whose driver (the process id ending its name) is another live
    process is in use and stays. Returns those deleted."""
    try:
        found = [e for e in os.scandir(temp) if _SESSION.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    found.sort(key=lambda e: e.name)  # the names start with their date and time
    removed = []
    for e in found[:max(0, len(found) - keep)]:
        pid = int(_SESSION.fullmatch(e.name)["pid"])
        if pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        removed.append(Path(e.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _start(address: str | None, label: str | None, out: Path, workers: int | None, progress: bool) -> None:
    """``ray.init``: a local session under OUT (``workers`` CPUs), or the cluster at ``address``
    joined. Stopped (a Ctrl-C, a failure), a session half started is shut down, so that its
    processes end before the run removes an OUT it made."""
    import ray

    kw = {}
    if not address:
        kw = {"num_cpus": workers or os.cpu_count(), "include_dashboard": False}
        temp = ray_temp_dir(out)
        if temp:
            kw["_temp_dir"] = temp
    try:
        # a cluster we join says nothing of token authentication, and starts no process here
        with quiet_token_auth() if not address else nullcontext(), sigterm_held(hold=not address):
            _ray_init(address, label, log_to_driver=False,
                      logging_level=logging.INFO if progress else logging.WARNING, **kw)
    except BaseException:
        try:
            with sigterm_held():
                ray.shutdown()
        except (Exception, KeyboardInterrupt):  # noqa: BLE001  (what stopped ray.init is the one to show)
            pass
        raise


def missing_parts(sources: list[str], out: str | Path) -> list[str]:
    """The ``sources`` whose part file is not in ``out``/parts (here, on the driver's machine).
    The folder is listed, not each name looked up: an NFS client may answer a lookup from a
    cached "no such file" (the run looked for every part before scoring) for half a minute."""
    folder = Path(out) / "parts"
    try:
        names = {e.name for e in os.scandir(folder) if e.is_file()}
    except FileNotFoundError:
        names = set()
    return [p for p in sources if part_path(out, p).name not in names]


def record_missing_parts(sources: list[str], recipe: Recipe, out: str | Path,
                         lost: Callable[[str, Recipe, str, BaseException], dict]) -> list[dict]:
    """An error row (``lost``) for each source of a finished Ray run that has no part in OUT:
    its task ran on a worker that wrote it elsewhere (a node of a cluster that does not share
    OUT). Before, such a run wrote an empty manifest and exited 0, and each rerun did it all
    again. A FileNotFoundError: the machine's, so a rerun tries the source again. Each result
    is marked ``missing``: the summary's ``parts_missing``."""
    return [{**lost(p, recipe, str(out), FileNotFoundError(
        f"{p}: its Ray task ended but its part file is not in {Path(out) / 'parts'} on this machine; the cluster's "
        "workers must see SRC and OUT at the same absolute paths as this machine (a shared filesystem)")),
             "missing": 1} for p in missing_parts(sources, out)]


RAY_WAIT_S = 0.5  # how often the bar is brought up to date while Ray tasks run


WINDOW_FLOOR = 16  # a cluster whose head has no CPUs still shows an autoscaler demand to grow on


def _window() -> int:
    """Tasks in flight at once: twice the cluster's CPUs now (nodes an autoscaler adds count
    from the next refill), so every core has its next source queued while the driver holds
    that many task references, not one per source (100k sources were 100k tasks submitted at
    once, and each wait walked all of them)."""
    import ray

    return max(WINDOW_FLOOR, 2 * int(ray.cluster_resources().get("CPU", 0)))


def _gather(todo: list[str], recipe: Recipe, out: str, progress: bool,
            process: Callable[[str, Recipe, str], dict],
            lost: Callable[[str, Recipe, str, BaseException], dict], window: int | None = None,
            extract_only: set[str] = frozenset()) -> list[dict]:
    """``process`` (``engine.process_source``) of every source as one Ray task each (one CPU),
    their frames counted on a bar as they come back (:class:`data_curation.progress.FramesBar`),
    as ``--workers 0`` counts them. Plain tasks, not Ray Data: a map over one block per source
    gained nothing, and its own progress lines (``Map(<lambda>): 0/1``, repeated every 10 s off a terminal, and a hint to
    switch to a "new progress UI" nobody running ``curate`` can act on) hid the count. A task
    that fails (its worker died: a decoder crash on the file, the OOM killer, after Ray's own
    retries) is its source's error row (``lost``), not the end of the run: the sources still in
    flight would have been killed and decoded again by the rerun. At most ``window`` tasks
    (default :func:`_window`) are in flight; each finished one makes room for the next source.
    A source in ``extract_only`` is sent with ``extract_only=True`` (its clip files only)."""
    import ray

    from data_curation.progress import FramesBar

    task = ray.remote(num_cpus=1)(process)
    shared = ray.put(recipe)  # stored once, not once per source
    queue = iter(todo)
    source: dict = {}  # task reference -> its source, for the tasks in flight

    def refill() -> None:
        for p in itertools.islice(queue, max(0, (window or _window()) - len(source))):
            source[task.remote(p, shared, out, *((True,) if p in extract_only else ()))] = p

    results: list[dict] = []
    refill()
    with FramesBar(todo, progress) as bar:
        while source:
            done, _ = ray.wait(list(source), num_returns=len(source), timeout=RAY_WAIT_S)
            for ref in done:  # off a terminal each redraw is a line of the log: only when the count moves
                path = source.pop(ref)
                try:
                    results.append(ray.get(ref))
                except ray.exceptions.RayError as e:  # the task's exception, or its worker's death
                    results.append(lost(path, recipe, out, e))
                bar.done(path)
            refill()
    return results
