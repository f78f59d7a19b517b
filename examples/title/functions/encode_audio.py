"""Encodes one language's audio track of a title (made up: it writes nothing).

Reads {"title", "language", "fail_first"} on stdin and prints a Track as JSON. With
fail_first, the first attempt for a title and language fails (exit 1): it leaves a
marker under .cosmos/title/, named by the root instance (the id in
COSMOS_IDEMPOTENCY_KEY up to its first dot, the parent Title's id) and the language.
"""

import json
import os
import sys

args = json.load(sys.stdin)
title, language = args["title"], args["language"]
if args.get("fail_first"):
    key = os.environ.get("COSMOS_IDEMPOTENCY_KEY", "")
    root = key.split("/", 1)[0].split(".", 1)[0]
    if not root:
        print("COSMOS_IDEMPOTENCY_KEY is not set", file=sys.stderr)
        sys.exit(2)
    os.makedirs(".cosmos/title", exist_ok=True)
    marker = os.path.join(".cosmos/title", f"{root}-{language}")
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(key + "\n")
        print(f"encoder for {language} crashed on its first try", file=sys.stderr)
        sys.exit(1)
print(json.dumps({
    "language": language,
    "location": f"s3://audio/{title}/{language}.aac",
    "bytes": 1000 + len(language) * 10,
}))
