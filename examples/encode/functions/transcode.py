#!/usr/bin/env python3
"""Makes a Rendition. One-shot: one JSON object on stdin, one JSON value on stdout.
Warm (COSMOS_PROTOCOL=lines): one JSON message per line,
{"id", "calls": [args, ...]} -> {"id", "results": [{"ok": value} | {"error": message}]}."""
import json
import os
import sys
import zlib


def transcode(args):
    name = f'{args["url"]}#{args["codec"]}@{args["height"]}'
    return {"codec": args["codec"], "height": args["height"],
            "location": f'{args["url"]}.{args["height"]}p.{args["codec"].lower()}.mp4',
            "bytes": 5000 + zlib.adler32(name.encode()) % 50000}


def answer(args):
    try:
        return {"ok": transcode(args)}
    except Exception as error:  # a bad call fails alone, not the whole batch
        return {"error": str(error)}


if os.environ.get("COSMOS_PROTOCOL") == "lines":
    for line in sys.stdin:
        message = json.loads(line)
        results = [answer(args) for args in message["calls"]]
        print(json.dumps({"id": message["id"], "results": results}), flush=True)
else:
    json.dump(transcode(json.load(sys.stdin)), sys.stdout)
