"""A warm worker (COSMOS_PROTOCOL=lines): answers each call with x + 1."""
import json
import sys

for line in sys.stdin:
    message = json.loads(line)
    results = [{"ok": call["x"] + 1} for call in message["calls"]]
    sys.stdout.write(json.dumps({"id": message["id"], "results": results}) + "\n")
    sys.stdout.flush()
