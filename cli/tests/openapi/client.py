"""Drives `examples/encode` on a running `cosmosc serve` through the client that
openapi-python-client generated from the server's own /v1/openapi.json: starts a
Transcode instance with a long source, waits until it stalls for a reviewer, sends
the `review` signal and waits until it completes. Run by cli/tests/openapi_client.rs
with the generated package `cosmos_client` on PYTHONPATH and COSMOS_BASE and
COSMOS_TOKEN in the environment."""

import os
import sys
import time

from cosmos_client import AuthenticatedClient
from cosmos_client.api.default import get_instance, list_workflows, signal_review, start_transcode
from cosmos_client.models import Codec, Instance, Status, TranscodeInput, TranscodeSignalsReview

client = AuthenticatedClient(base_url=os.environ["COSMOS_BASE"], token=os.environ["COSMOS_TOKEN"])


def wait_for(instance_id, status):
    deadline = time.monotonic() + 120
    while True:
        instance = get_instance.sync(instance_id, client=client)
        assert isinstance(instance, Instance), instance
        if instance.status == status:
            return instance
        assert instance.status in (Status.RUNNING, Status.STALLED), instance
        assert time.monotonic() < deadline, f"instance {instance_id} is {instance.status}, not {status}"
        time.sleep(0.1)


workflows = list_workflows.sync(client=client)
assert [w.name for w in workflows.workflows] == ["Transcode"], workflows

started = start_transcode.sync(
    client=client,
    body=TranscodeInput(source="s3://media/long.mov", codecs=[Codec.H264, Codec.HEVC]),
)
assert isinstance(started, Instance), started
assert started.workflow == "Transcode" and started.bundle == workflows.bundle.hash_, started

stalled = wait_for(started.id, Status.STALLED)
assert stalled.facts.to_dict()["reviewer"] is None, stalled

signalled = signal_review.sync(started.id, client=client, body=TranscodeSignalsReview(by="mei"))
assert isinstance(signalled, Instance), signalled
assert signalled.facts.to_dict()["reviewer"] == "mei", signalled

completed = wait_for(started.id, Status.COMPLETED)
assert completed.output["reviewer"] == "mei", completed.output
assert completed.output["renditions"] > 0, completed.output
print(f"generated client: {started.id} completed with {completed.output}")
sys.exit(0)
