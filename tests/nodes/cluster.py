"""Several Anclora nodes on one machine, as a multi-node deployment runs them: `anclora serve` processes that only
queue, `anclora worker` processes that run the conversions, one nginx in front (the site rendered from
config/nginx/anclora.conf.j2), all on one database, one Redis and one storage."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import yaml
from server_process import ServerProcess, free_port, stop_process
from waiting import eventually

REPO = Path(__file__).resolve().parents[2]
# the free plan is the one the tests' signed-in users have: its upload limit is the one counted across nodes
UPLOADS_PER_MINUTE = 3
PLAN_LIMITS = {"free": {"uploads_per_minute": UPLOADS_PER_MINUTE},
               "anonymous": {"uploads_per_minute": 1000, "conversions_per_day": 1000, "concurrent_jobs": 10}}
UPSTREAM = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) \d+ upstream=(?P<upstream>\S+)')



class WorkerProcess:
    """`anclora worker` as a process; ready once it has announced its slots."""

    def __init__(self, folder: Path, env: dict[str, str]):
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / "worker.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "anclora", "worker"], env=env, cwd=folder,
                                            stdout=subprocess.DEVNULL, stderr=log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, f"worker exited: {self.log.read_text()}"
            return "slot(s)" in self.log.read_text()
        eventually(ready, timeout, "the worker to start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        stop_process(self.process)


class Nginx:
    """nginx in the foreground with a main config of its own around the site rendered from the template, one
    worker process (so its round-robin alternates between the upstreams request by request)."""

    def __init__(self, folder: Path, upstreams: list[str], upload_folder: str, storage_url: str):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / "anclora_access.log"
        folder.mkdir(parents=True, exist_ok=True)
        values = yaml.safe_load((REPO / "config/nginx/compose.yml").read_text())
        values.update({"anclora_upstreams": upstreams, "anclora_http_port": f"127.0.0.1:{self.port}",
                       "anclora_upload_folder": upload_folder, "anclora_storage_url": storage_url,
                       "nginx_log_dir": str(folder),
                       "nginx_acme_root": str(folder / "acme"), "nginx_api_rate": "1000r/s",
                       "nginx_upload_rate": "1000r/s"})
        template = jinja2.Template((REPO / "config/nginx/anclora.conf.j2").read_text())
        (folder / "site.conf").write_text(template.render(**values))
        temp = folder / "temp"
        temp.mkdir()
        (folder / "nginx.conf").write_text(f"""daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/site.conf;
}}
""")
        self.process = subprocess.Popen(["nginx", "-p", str(folder), "-e", str(folder / "error.log"),
                                         "-c", str(folder / "nginx.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self) -> None:
        import socket

        def listening() -> bool:
            assert self.process.poll() is None, f"nginx exited: {self.process.stderr.read().decode()}"
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0
        eventually(listening, 20, "nginx to listen")

    def answered(self) -> list[tuple[str, int, str]]:
        """(request line, status, upstream) of each request nginx has finished, in order."""
        if not self.access_log.exists():
            return []
        return [(m["request"], int(m["status"]), m["upstream"])
                for m in map(UPSTREAM.search, self.access_log.read_text().splitlines()) if m]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.process.stderr.close()


class Cluster:
    """Two serve nodes and a worker behind nginx. `send` makes one request through nginx and says which node
    answered it."""

    def __init__(self, folder: Path, env: dict[str, str], storage: dict[str, str]):
        self.folder, self.env = folder, {**env, **storage}
        self.nodes: list[ServerProcess] = []
        self.worker: WorkerProcess | None = None
        self.nginx: Nginx | None = None
        try:
            self._start(storage)
        except BaseException:
            self.stop()
            raise
        self.url = self.nginx.url

    def _start(self, storage: dict[str, str]) -> None:
        for index in (1, 2):  # one after the other: the first migrates the database
            home = self.folder / f"node{index}"
            home.mkdir()
            # the serve nodes only queue: every conversion runs on a worker
            self.nodes.append(ServerProcess(home, self.env["DATABASE_URL"], "--no-jobs", **self.env))
            self.nodes[-1].wait_ready()
        self.worker = self.start_worker()
        self.nginx = Nginx(self.folder / "nginx", [f"127.0.0.1:{node.port}" for node in self.nodes],
                           storage.get("UPLOAD_FOLDER", str(self.folder / "no-local-folder")),
                           storage.get("ANCLORA_STORAGE_URL", ""))
        self.nginx.wait_ready()

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.folder / f"worker-{time.monotonic_ns()}", self.env)
        try:
            worker.wait_ready()
        except BaseException:
            worker.stop()
            raise
        return worker

    def node_of(self, upstream: str) -> int:
        """1 or 2: which serve node an upstream address is."""
        return 1 + [f"127.0.0.1:{node.port}" for node in self.nodes].index(upstream)

    async def send(self, client, method: str, path: str, **kwargs):
        """(the response, the node that answered it) for a request through nginx; requests sent this way go one
        at a time."""
        before = len(self.nginx.answered())
        response = await client.request(method, path, **kwargs)
        # (a request sent beside these, such as a sign-in, may be logged late: the line is looked for by its path)
        line = eventually(lambda: [line for line in self.nginx.answered()[before:] if path in line[0]], 10,
                          "nginx's access log")[0]
        return response, self.node_of(line[2])

    def stop(self) -> None:
        for process in [self.nginx, self.worker, *self.nodes]:
            if process is not None:
                process.stop()
