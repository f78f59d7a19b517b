"""Cosmos against DBOS and Prefect: a 20-step sequential workflow, each step one call
returning x + 1, per step end to end. Run through run.sh, which builds cosmosc and
the virtual environment first.

Usage: python peers.py COSMOSC [--runs 3] [--instances 20] [--baseline COSMOSC]
                        [--no-prefect]

With --baseline, a second cosmosc (an earlier build) is measured in the same runs,
in rows of its own marked "baseline", so that a change is compared on one machine
under one load.

Each run measures every system once, in turn (round robin), each in fresh processes
and fresh stores; a run's figure for a system is the median of its instances (the
first one of each process left out as warm-up); the table gives the median of the
runs. PostgreSQL rows are measured when COSMOS_TEST_POSTGRES names a server
(postgres://user@host:port/db); each system then gets a database of its own there,
created and dropped by this script.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cosmos(cosmosc: str, store: str, instances: int) -> list:
    """Per-step times of `instances` Steps instances started one after another
    through `cosmosc serve`'s HTTP API, each timed from its POST until the API says
    it completed."""
    work = tempfile.mkdtemp(prefix="peers-cosmos-")
    project = os.path.join(work, "project")
    shutil.copytree(os.path.join(HERE, "cosmos"), project)
    if store == "sqlite":
        store = os.path.join(work, "cosmos.db")
    port = free_port()
    server = subprocess.Popen(
        [cosmosc, "serve", project, "--listen", f"127.0.0.1:{port}", "--store", store],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in server.stderr:
            if "listening on" in line:
                break
        else:
            raise RuntimeError("cosmosc serve exited before listening")
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def call(method, path, body=None):
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return json.loads(response.read())

        figures = []
        for i in range(instances + 1):
            start = time.perf_counter()
            created = call("POST", "/v1/workflows/Steps/instances", "{}")
            # A long poll: the answer comes when the instance is no longer RUNNING. A
            # cosmosc from before `wait_ms` ignores it and answers at once, and the
            # loop polls instead.
            path = f"/v1/instances/{created['id']}?wait_ms=30000"
            while True:
                status = call("GET", path)["status"]
                if status == "COMPLETED":
                    break
                if status not in ("RUNNING",):
                    raise RuntimeError(f"instance ended {status}")
                time.sleep(0.0002)
            elapsed = time.perf_counter() - start
            if i > 0:
                figures.append(elapsed * 1000 / STEPS)
        return figures
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def python_peer(script: str, args: list) -> list:
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, script), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["per_step_ms"]


def dbos(url: str, instances: int) -> list:
    return python_peer("dbos_steps.py", [url, str(instances)])


def prefect(instances: int) -> list:
    home = tempfile.mkdtemp(prefix="peers-prefect-")
    os.environ["PREFECT_HOME"] = home
    try:
        return python_peer("prefect_steps.py", [str(instances)])
    finally:
        shutil.rmtree(home, ignore_errors=True)


class Databases:
    """A database per system on the server COSMOS_TEST_POSTGRES names."""

    def __init__(self, base: str):
        self.base = base
        self.parsed = urllib.parse.urlparse(base)
        self.made = []

    def _admin(self, sql: str):
        subprocess.run(
            ["psql", self.base, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True,
            capture_output=True,
        )

    def fresh(self, name: str, scheme: str) -> str:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {name}")
        self.made.append(name)
        return self.parsed._replace(scheme=scheme, path=f"/{name}").geturl()

    def drop_all(self):
        for name in self.made:
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cosmosc")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--baseline", help="another cosmosc, measured in the same runs")
    parser.add_argument("--no-prefect", action="store_true", help="leave Prefect out")
    args = parser.parse_args()
    pg = os.environ.get("COSMOS_TEST_POSTGRES")
    databases = Databases(pg) if pg else None
    systems = []
    if args.baseline:
        systems.append(("Cosmos baseline on SQLite",
                        lambda: cosmos(args.baseline, "sqlite", args.instances)))
    systems += [
        ("Cosmos on SQLite (`cosmosc serve`, warm Python worker)",
         lambda: cosmos(args.cosmosc, "sqlite", args.instances)),
        ("DBOS on SQLite (steps in-process)",
         lambda: dbos(f"sqlite:///{tempfile.mkdtemp(prefix='peers-dbos-')}/dbos.sqlite", args.instances)),
    ]
    if databases and args.baseline:
        systems.append(("Cosmos baseline on PostgreSQL",
                        lambda: cosmos(args.baseline, databases.fresh("peers_cosmos", "postgres"),
                                       args.instances)))
    if databases:
        systems += [
            ("Cosmos on PostgreSQL (one node)",
             lambda: cosmos(args.cosmosc, databases.fresh("peers_cosmos", "postgres"), args.instances)),
            ("DBOS on PostgreSQL",
             lambda: dbos(databases.fresh("peers_dbos", "postgresql"), args.instances)),
        ]
    if not args.no_prefect:
        systems.append(("Prefect 3.9.1, local mode", lambda: prefect(max(3, args.instances // 4))))
    runs = {name: [] for name, _ in systems}
    try:
        for run in range(args.runs):
            for name, measure in systems:
                figure = statistics.median(measure())
                runs[name].append(figure)
                print(f"run {run + 1}: {name}: {figure:.3f} ms per step", file=sys.stderr, flush=True)
    finally:
        if databases:
            databases.drop_all()
    print("| 20-step sequential workflow, each step one call returning x + 1 | per step, end to end (median of runs) | runs |")
    print("| --- | --- | --- |")
    for name, _ in systems:
        figures = runs[name]
        shown = ", ".join(f"{f:.2f}" for f in figures)
        print(f"| {name} | {statistics.median(figures):.2f} ms | {shown} |")


if __name__ == "__main__":
    main()
