#!/bin/sh
# A Cosmos function: one JSON object {"name": "..."} on stdin, one JSON value on stdout.
# Exit 0 with the result, or non-zero with a message on stderr to fail the call.
name=$(sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
if [ -z "$name" ]; then
    echo 'expected {"name": "..."} on stdin' >&2
    exit 2
fi
printf '"Hello, %s!"\n' "$name"
