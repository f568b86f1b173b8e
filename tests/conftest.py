"""Session fixtures: the real adb server, simulated phones behind it, and the service on free ports."""

from __future__ import annotations

import json
from dataclasses import dataclass
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from simulator.farm import SimulatedFarm
from worker.prefect_compat import share_tls_contexts
from api.rest import answers
from tests import prefect_template, scheduling
from tests.harness import free_port, small_disk, start_adb_server
from tests.inprocess import AppClient, wired_app
from tests.receivers import ChatEndpoint
from tests.service import OWNED_TOKEN, REPO, Service, WorkerPc, task_rows, tomorrow

PHONES = 2
# Tests that need no Prefect database: tests/unit starts no process, tests/devices drives phones only.
WITHOUT_PREFECT = [Path(__file__).parent / "unit", Path(__file__).parent / "devices"]


def _without_prefect(arg: str, invocation_dir: Path) -> bool:
    path = Path(invocation_dir, arg.split("::", 1)[0]).resolve()
    return any(path.is_relative_to(folder) for folder in WITHOUT_PREFECT)


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: a test of PostgreSQL's own process, run by ./run tests --postgresql")
    answers.STRICT = True  # an answer that drifted from its model fails the in-process tests
    share_tls_contexts()  # the tests' own Prefect clients, as the service's processes do
    # The first process (xdist's controller, or pytest without it) chooses the folder of the session's
    # migrated Prefect database; the workers are told where (pytest_configure_node). The migration
    # itself starts only in a session whose tests need it (prefect_template.Template.start).
    if not hasattr(config, "workerinput"):
        config.prefect_template = prefect_template.Template(Path(tempfile.mkdtemp(prefix="phonefarm-prefect-template-")))
        # xdist's controller collects no test: the command line tells whether tests that may need
        # it will run. Started now, it migrates while the workers start and collect; otherwise the
        # prefect_database fixture starts it if a test needs it after all.
        if (getattr(config.option, "dist", "no") != "no" and not config.option.collectonly
                and not all(_without_prefect(arg, config.invocation_params.dir) for arg in config.args)):
            config.prefect_template.start()


def pytest_collection_finish(session):
    # pytest without xdist: the migration starts once the collected tests show that one needs it,
    # and runs while the tests before the first service run.
    config = session.config
    if (not hasattr(config, "workerinput") and not config.option.collectonly
            and any("prefect_database" in item.fixturenames for item in session.items)):
        config.prefect_template.start()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["prefect_template"] = str(node.config.prefect_template.folder)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        config.prefect_template.stop()
        shutil.rmtree(config.prefect_template.folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    # A test of PostgreSQL's own process (marked postgresql) has no counterpart on SQLite, whose
    # database no process of its own holds: it runs in the PostgreSQL step, deselected elsewhere.
    if config.getoption("farm_database") != "postgresql":
        deselected = [item for item in items if item.get_closest_marker("postgresql")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item not in deselected]
    scheduling.order(items)


def pytest_xdist_make_scheduler(config, log):
    return scheduling.make_scheduler(config, log)


@pytest.fixture(scope="session")
def prefect_database(request) -> prefect_template.Template:
    """The session's migrated Prefect database (maybe still migrating), to copy into a service's data
    directory: its migration is started here if no process of the session started it yet."""
    workerinput = getattr(request.config, "workerinput", None)
    template = prefect_template.Template(Path(workerinput["prefect_template"])) if workerinput else request.config.prefect_template
    template.start()
    return template


@pytest.fixture(scope="session")
def adb(tmp_path_factory):
    handle = start_adb_server(tmp_path_factory.mktemp("adb"))
    yield handle.server
    handle.stop()


@pytest.fixture(scope="session")
def session_farm(adb):
    """The session service's phones (tests/devices has a fresh one-phone farm per test instead)."""
    farm = SimulatedFarm(adb, PHONES, auto_reconnect=True)
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def chat_endpoint():
    """A local OpenAI-compatible endpoint: no network at test time. Allowed by the session service."""
    with ChatEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def other_chat_endpoint():
    """Allowed too: a key stored for the first one must still never reach it."""
    with ChatEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def launched_service(tmp_path_factory, adb, session_farm, chat_endpoint, other_chat_endpoint, prefect_database):
    """The session's service, on the tests' adb server and phones; launched, maybe not ready yet."""
    endpoints = json.dumps([chat_endpoint.url, other_chat_endpoint.url])
    # A limit of 100 tasks a request (the default is 1,000): the load tests check the limit without
    # making Prefect create a thousand runs (about a minute of its CPU here).
    service = Service(tmp_path_factory.mktemp("service"), adb.port, prefect_template=prefect_database,
                      env={"PHONEFARM_COMMENT_ENDPOINTS": endpoints, "PHONEFARM_MAX_TASKS_PER_REQUEST": "100",
                           "PHONEFARM_COMMENT_MODELS": '["gpt-4o-mini", "m"]', "PHONEFARM_MIN_REPEAT_SECONDS": "5"})
    service.launch()
    yield service
    service.stop()


def pytest_addoption(parser):
    parser.addoption("--farm-database", choices=("sqlite", "postgresql"), default="sqlite",
                     help="the Prefect database of test_destructive.py's own service (./run tests --postgresql)")


@pytest.fixture(scope="session")
def farm_database(request) -> str:
    """The Prefect database of test_destructive.py's own service: sqlite, or postgresql (its CI step)."""
    return request.config.getoption("farm_database")


@pytest.fixture(scope="session")
def launched_owned(request, tmp_path_factory, farm_database):
    """A service of test_destructive.py's own: it starts its own adb server and one simulated phone,
    listens on 0.0.0.0 with a token, keeps its data on a 256 MB disk, and is killed piece by piece there."""
    if farm_database == "postgresql":
        # Under /tmp itself: PostgreSQL runs as its own user, which cannot pass through pytest's 0700
        # folders (the launcher lets it through the mount, its data directory: postgres.py). Its
        # Prefect database is made by the server's own migration (the template is SQLite's).
        mount, template = Path(tempfile.mkdtemp(prefix="phonefarm-owned-")), None
    else:
        mount, template = tmp_path_factory.mktemp("owned"), request.getfixturevalue("prefect_database")
    # Its data directory has a disk of its own, which a test fills up.
    try:
        with small_disk(mount, 256) as data_dir:
            owned = Service(data_dir, free_port(), extra_args=["--simulate", "1", "--host", "0.0.0.0",
                                                               "--database", farm_database],
                            token=OWNED_TOKEN, env={"PHONEFARM_SIMULATOR_FIRST_PORT": str(free_port()),
                                                    # its frozen children are restarted within seconds
                                                    "PHONEFARM_HUNG_AFTER_SECONDS": "5"},
                            prefect_template=template)
            owned.launch()
            yield owned
            owned.stop()
    finally:
        if template is None:
            shutil.rmtree(mount, ignore_errors=True)


@dataclass
class ThreePcs:
    api: Service
    workers: list[WorkerPc]
    tls_port: int  # the API PC's Prefect server through TLS; the second worker PC goes that way


@dataclass
class MovedPc:
    api: Service
    before_migration: list[tuple]  # its tasks on SQLite, before it moved to PostgreSQL


def sqlite_farm_with_tasks(data_dir: Path, adb_port: int, prefect_port: int, template) -> list[tuple]:
    """The API PC's first life, on SQLite with one simulated phone: a completed, a pending and a stopped task."""
    farm = Service(data_dir, adb_port, extra_args=["--simulate", "1", "--pc-name", "pc-api"],
                   env={"PHONEFARM_SIMULATOR_FIRST_PORT": str(free_port())}, prefect_template=template)
    farm.prefect_port = prefect_port  # the same server address in both lives: its deployments are not made again
    farm.start()
    try:
        [serial] = [d["serial"] for d in farm.ok("GET", "/device")["devices"]]
        [done] = farm.create([serial], ["alice"])
        waiting = farm.create([serial], ["later", "stopped"], start_time=tomorrow())
        farm.ok("POST", f"/task/{waiting[1]}/stop")
        farm.wait_for(done)
        farm.wait_for(waiting[1])
        return task_rows(farm)
    finally:
        farm.stop()


def postgresql_data_dir(prefix: str) -> Path:
    # Under /tmp itself: PostgreSQL runs as its own user, which cannot pass through pytest's 0700 folders.
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="module")
def moved_pc(prefect_database):
    """test_migration.py's PC: on SQLite first (a few tasks), moved to PostgreSQL by
    `--migrate-to-postgresql` and started on it. Stopped once the module is done."""
    data_dir = postgresql_data_dir("phonefarm-moved-pc-")
    adb_port = free_port()
    api = Service(data_dir, adb_port, extra_args=["--database", "postgresql", "--pc-name", "pc-api"])
    try:
        before = sqlite_farm_with_tasks(data_dir, adb_port, api.prefect_port, prefect_database)
        moved = subprocess.run([sys.executable, "-m", "api", "--data-dir", str(data_dir), "--migrate-to-postgresql"],
                               cwd=REPO, capture_output=True, text=True, timeout=180)
        assert moved.returncode == 0, moved.stdout + moved.stderr
        api.start(timeout=180)
        yield MovedPc(api, before)
    finally:
        api.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def three_pcs(tmp_path_factory):
    """test_pcs.py's farm: the API's PC on PostgreSQL with no phones, its Prefect server also behind
    TLS (forced on over loopback), and two worker PCs with three phones each: pc-b over plain HTTP on
    loopback, pc-c through TLS signed by the farm's CA. Stopped once the module is done (idle farms
    cost CPU)."""
    data_dir = postgresql_data_dir("phonefarm-api-pc-")
    tls_port = free_port()
    # A PC is gone after 15 s of silence (30 by default): the dead-PC test waits for it; a frozen
    # PostgreSQL is restarted after 10 s.
    api = Service(data_dir, free_port(), extra_args=["--database", "postgresql", "--pc-name", "pc-api"],
                  env={"PHONEFARM_PC_SILENCE_SECONDS": "15", "PHONEFARM_HUNG_AFTER_SECONDS": "10",
                       "PHONEFARM_PREFECT_TLS": "on", "PHONEFARM_PREFECT_TLS_PORT": str(tls_port)})
    workers: list[WorkerPc] = []
    try:
        api.start(timeout=180)
        workers = [WorkerPc(name, tmp_path_factory.mktemp(name), api, phones=3) for name in ("pc-b", "pc-c")]
        workers[1].extra_env.update({"PHONEFARM_PREFECT_API_URL": f"https://127.0.0.1:{tls_port}/api",
                                     "PHONEFARM_PREFECT_CA_FILE": str(data_dir / "prefect" / "tls" / "ca.pem")})
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        yield ThreePcs(api, workers, tls_port)
    finally:
        for worker in workers:
            worker.close()
        api.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def launch_services_early(request):
    """A service takes 10 to 30 s to start: they all start at once, while the device tests, which
    need none, run first. Only those the collected tests use are started."""
    wanted = {name for item in request.session.items for name in item.fixturenames}
    if wanted & {"service", "api"}:
        request.getfixturevalue("launched_service")
    # Under pytest-xdist every worker collects every test but runs only some: test_destructive.py
    # always goes to the same one (tests/scheduling.py).
    if "owned" in wanted and scheduling.runs_pinned_module(request.config, "test_destructive.py"):
        request.getfixturevalue("launched_owned")


@pytest.fixture(scope="session")
def service(launched_service):
    launched_service.wait_ready()
    return launched_service


@pytest.fixture(scope="session")
def owned(launched_owned):
    launched_owned.wait_ready()
    return launched_owned


@pytest.fixture(scope="session")
def api(service, adb, tmp_path_factory):
    """The real app in the test process (falcon.testing), wired to the session's Prefect server and
    phones with an index of its own: for HTTP-contract tests, which need no socket."""
    with wired_app(service, adb, tmp_path_factory.mktemp("api"), max_tasks_per_request=200) as wired:
        yield AppClient(wired)


class PhonePool:
    """Hands each test phones of its own, so tests do not see each other's tasks or faults."""

    def __init__(self, farm: SimulatedFarm):
        self.farm = farm

    def take(self, count: int = 1) -> list[str]:
        return [self.farm.add_phone() for _ in range(count)]

    def __getitem__(self, serial: str):
        return self.farm.phones[serial]


@pytest.fixture
def phones(session_farm, service):
    return PhonePool(session_farm)


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
def video(service, request):
    """A video in the service's material library: files elsewhere on the server are refused."""
    path = service.data_dir / "materials" / "uploads" / f"{request.node.name}.mp4"
    # As the service's own user would (its umask is 077): the data directory is that user's alone.
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in (path.parent.parent, path.parent):
        folder.chmod(0o700)
    path.touch(mode=0o600)
    path.write_bytes(MP4)
    return path
