#!/usr/bin/env python3
"""A Cosmos worker in Python, written from docs/runtime.md ("HTTP workers") alone.

It serves the functions of examples/ladder (`transcode` and `publish`, pool `default`)
through a node's API: it leases calls with a long poll, runs each in a thread while
renewing its lease, and completes it with its result or its failure. Standard library
only.

    COSMOS_URL=http://127.0.0.1:8080 COSMOS_WORKER_TOKEN=... python3 worker.py

Environment: COSMOS_URL (the node), COSMOS_WORKER_TOKEN (a worker or admin token, if the
node has tokens), COSMOS_WORKER_NAME (default python-HOST-PID), COSMOS_POOLS (comma
separated, default `default`), COSMOS_WORKER_MAX (calls at once, default 4),
COSMOS_LEASE_MS (default 30000). SIGTERM stops leasing and lets running calls finish.
"""

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request


class CallFailed(Exception):
    """A failure of the function: completed as `{"kind": "FAILED", "message": ...}`."""


def transcode(args):
    source, height = args["source"], args["height"]
    return {"height": height, "location": f"{source}/{height}p.mp4", "bytes": height * 1000}


def publish(args):
    height = args["height"]
    if height < 480:
        raise CallFailed(f"the CDN takes no rendition under 480p, and this one is {height}p")
    return {"height": height, "url": f"https://cdn.example/{height}p.mp4"}


FUNCTIONS = {"transcode": transcode, "publish": publish}

URL = os.environ.get("COSMOS_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("COSMOS_WORKER_TOKEN") or os.environ.get("COSMOS_TOKEN")
NAME = os.environ.get("COSMOS_WORKER_NAME") or f"python-{socket.gethostname()}-{os.getpid()}"
POOLS = [p for p in os.environ.get("COSMOS_POOLS", "default").split(",") if p]
MAX = int(os.environ.get("COSMOS_WORKER_MAX", "4"))
LEASE_MS = int(os.environ.get("COSMOS_LEASE_MS", "30000"))


class Conflict(Exception):
    """409 lease_lost: the call is no longer ours."""


def post(path, body, timeout=60):
    """POSTs `body` as JSON; returns the JSON answer, raises Conflict on a 409."""
    request = urllib.request.Request(
        URL + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    if TOKEN:
        request.add_header("Authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        answer = error.read().decode(errors="replace")
        if error.code == 409:
            raise Conflict(answer) from None
        raise RuntimeError(f"{path}: {error.code} {answer}") from None


def run(call, running):
    """Runs one call, renewing its lease every third of it, and completes it."""
    done = threading.Event()
    path = f"/v1/worker/calls/{call['id']}"

    def renew():
        while not done.wait(LEASE_MS / 3000):
            try:
                post(path + "/heartbeat", {"lease": call["lease"]})
            except Conflict:
                return
            except Exception as error:  # the node is unreachable for a moment
                print(f"worker {NAME}: cannot renew: {error}", flush=True)

    renewal = threading.Thread(target=renew, daemon=True)
    renewal.start()
    try:
        function = FUNCTIONS.get(call["function"])
        if function is None:
            outcome = {"error": {"kind": "FAILED", "message": f"no function {call['function']}"}}
        else:
            try:
                outcome = {"result": function(call["arguments"])}
            except CallFailed as error:
                outcome = {"error": {"kind": "FAILED", "message": str(error)}}
            except Exception as error:
                outcome = {"error": {"kind": "CRASHED", "message": repr(error)}}
        done.set()
        outcome["lease"] = call["lease"]
        try:
            post(path + "/complete", outcome)
        except Conflict:
            print(f"worker {NAME}: call {call['id']}'s lease was lost", flush=True)
    except Exception as error:
        print(f"worker {NAME}: cannot complete call {call['id']}: {error}", flush=True)
    finally:
        done.set()
        running.release()


def main():
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    running = threading.BoundedSemaphore(MAX)
    print(f"worker {NAME}: serving pools {','.join(POOLS)} of {URL}", flush=True)
    while not stopping.is_set():
        running.acquire()
        free = 1
        while free < MAX and running.acquire(blocking=False):
            free += 1
        try:
            answer = post("/v1/worker/lease", {
                "worker": NAME, "pools": POOLS, "functions": sorted(FUNCTIONS),
                "max": free, "wait_ms": 5000, "lease_ms": LEASE_MS})
            calls = answer["calls"]
        except Exception as error:
            print(f"worker {NAME}: cannot lease: {error}", flush=True)
            calls = []
            time.sleep(1)
        for call in calls:
            threading.Thread(target=run, args=(call, running), daemon=True).start()
        for _ in range(free - len(calls)):
            running.release()
    for _ in range(MAX):
        running.acquire()
    print(f"worker {NAME}: stopped", flush=True)


if __name__ == "__main__":
    main()
