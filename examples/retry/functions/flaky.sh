#!/bin/sh
# Fails on the first two attempts of an instance and succeeds on the third, answering
# how many attempts it took. POSIX sh only.
#
# Each attempt appends its idempotency key (instance/rule/firing/index/attempt) to a
# marker file of its instance under .cosmos/flaky/, so the attempts can be counted
# across processes, and a test can see that each attempt had a key of its own.

cat > /dev/null
instance=${COSMOS_IDEMPOTENCY_KEY%%/*}
if [ -z "$instance" ]; then
    echo 'COSMOS_IDEMPOTENCY_KEY is not set' >&2
    exit 2
fi
mkdir -p .cosmos/flaky
marker=.cosmos/flaky/$instance
printf '%s\n' "$COSMOS_IDEMPOTENCY_KEY" >> "$marker"
attempts=$(wc -l < "$marker" | tr -d ' ')
if [ "$attempts" -lt 3 ]; then
    echo "attempt $attempts: not yet" >&2
    exit 1
fi
echo "$attempts"
