#!/bin/sh
# Two passes of made-up work, each reported as one JSON line on the descriptor named
# by COSMOS_PROGRESS_FD (opened through /proc, so any descriptor number works in sh).
# When CRUNCH_HOLD names a file, the second pass waits until that file exists (tests
# use it to look at the progress while the call runs). POSIX sh only.

cat > /dev/null
report() {
    if [ -n "$COSMOS_PROGRESS_FD" ]; then
        printf '%s\n' "$1" > "/proc/self/fd/$COSMOS_PROGRESS_FD"
    fi
}
report '{"progress": 0.0, "detail": "pass 1 of 2"}'
sleep 0.2
report '{"progress": 0.5, "detail": "pass 2 of 2"}'
if [ -n "$CRUNCH_HOLD" ]; then
    waited=0
    while [ ! -e "$CRUNCH_HOLD" ] && [ "$waited" -lt 600 ]; do
        # Within the heartbeat: still alive, still at pass 2.
        report '{"progress": 0.5, "detail": "pass 2 of 2"}'
        sleep 0.1
        waited=$((waited + 1))
    done
fi
sleep 0.2
report '{"progress": 1.0, "detail": "done"}'
echo 2
