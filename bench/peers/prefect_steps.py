"""Prefect in local mode: a flow of 20 tasks in sequence, each returning x + 1.

Usage: python prefect_steps.py INSTANCES
Prints {"per_step_ms": [...]} (one figure per flow run, the first left out as
warm-up) as JSON on stdout.
"""
import json
import sys
import time

from prefect import flow, task

STEPS = 20


@task
def inc(x: int) -> int:
    return x + 1


@flow
def steps() -> int:
    x = 0
    for _ in range(STEPS):
        x = inc(x)
    return x


def main() -> None:
    count = int(sys.argv[1])
    figures = []
    for i in range(count + 1):
        start = time.perf_counter()
        assert steps() == STEPS
        elapsed = time.perf_counter() - start
        if i > 0:
            figures.append(elapsed * 1000 / STEPS)
    print(json.dumps({"per_step_ms": figures}))


if __name__ == "__main__":
    main()
