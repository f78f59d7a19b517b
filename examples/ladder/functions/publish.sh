#!/bin/sh
# Publishes a rendition to the CDN: one JSON object {"location", "height"} on stdin,
# one Published on stdout. The CDN takes nothing under 480p: those calls exit 2.
args=$(cat)
height=$(printf '%s' "$args" | sed -n 's/.*"height"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
if [ -z "$height" ]; then
    echo "expected {\"location\": string, \"height\": integer}, got: $args" >&2
    exit 2
fi
if [ "$height" -lt 480 ]; then
    echo "the CDN takes no rendition under 480p, and this one is ${height}p" >&2
    exit 2
fi
printf '{"height": %s, "url": "https://cdn.example/%sp.mp4"}\n' "$height" "$height"
