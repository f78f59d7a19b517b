"""DBOS Transact: a workflow of 20 steps, each a @DBOS.step returning x + 1.

Usage: python dbos_steps.py SYSTEM_DATABASE_URL INSTANCES
Prints {"per_step_ms": [...]} (one figure per workflow, the first one left out as
warm-up) as JSON on stdout.
"""
import json
import sys
import time

from dbos import DBOS

STEPS = 20


@DBOS.step()
def inc(x: int) -> int:
    return x + 1


@DBOS.workflow()
def steps() -> int:
    x = 0
    for _ in range(STEPS):
        x = inc(x)
    return x


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    DBOS(config={"name": "peers", "system_database_url": url, "run_admin_server": False})
    DBOS.launch()
    figures = []
    for i in range(count + 1):
        start = time.perf_counter()
        assert steps() == STEPS
        elapsed = time.perf_counter() - start
        if i > 0:
            figures.append(elapsed * 1000 / STEPS)
    DBOS.destroy()
    print(json.dumps({"per_step_ms": figures}))


if __name__ == "__main__":
    main()
