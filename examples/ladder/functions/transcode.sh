#!/bin/sh
# Makes a Rendition from the call's arguments: one JSON object {"source", "height"} on
# stdin, one Rendition on stdout. POSIX sh and utilities only.
#
# A source whose name contains "flaky" fails its 720 rung once: the first such call
# leaves a marker file (in $TMPDIR, named after the source) and exits 1; the next call
# finds the marker and succeeds. That is what the ladder's `error` block retries.
args=$(cat)
source=$(printf '%s' "$args" | sed -n 's/.*"source"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
height=$(printf '%s' "$args" | sed -n 's/.*"height"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
if [ -z "$source" ] || [ -z "$height" ]; then
    echo "expected {\"source\": string, \"height\": integer}, got: $args" >&2
    exit 2
fi
case "$source" in
    *flaky*)
        if [ "$height" = 720 ]; then
            marker="${TMPDIR:-/tmp}/cosmos-ladder-$(printf '%s' "$source" | cksum | cut -d' ' -f1)-720"
            if [ ! -e "$marker" ]; then
                : > "$marker"
                echo "the encoder crashed on the 720 rung of $source" >&2
                exit 1
            fi
        fi
        ;;
esac
printf '{"height": %s, "location": "%s/%sp.mp4", "bytes": %s}\n' \
    "$height" "$source" "$height" "$((height * 1000))"
