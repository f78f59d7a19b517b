#!/bin/sh
# Reads {"url": ...} on stdin and writes a Probe on stdout, made up from the URL.
# POSIX sh and utilities only (awk, cksum, printf): no bash, python or jq needed.
#
# The numbers come from the cksum of "<url>/geometry", so they are the same on every
# run. With that key s3://media/d.mov is 2160p and 71 s long (no reviewer needed) and
# s3://media/long.mov runs 3906 s (the workflow waits for a reviewer).

# The string value of "url" in the (flat) JSON object on stdin, quotes removed.
url=$(awk '
    { text = text $0 "\n" }
    END {
        if (match(text, /"url"[ \t\r\n]*:[ \t\r\n]*"[^"]*"/)) {
            value = substr(text, RSTART, RLENGTH)
            sub(/^"url"[ \t\r\n]*:[ \t\r\n]*"/, "", value)
            print substr(value, 1, length(value) - 1)
        } else {
            exit 1
        }
    }')
if [ $? -ne 0 ]; then
    echo 'expected {"url": "..."} on stdin' >&2
    exit 2
fi

case $url in
    s3://* | file://* | https://*) ;;
    *)
        printf 'unsupported scheme in %s\n' "$url" >&2
        exit 2
        ;;
esac

# awk's arithmetic is exact for cksum's 32-bit values, on any word size.
printf '%s/geometry' "$url" | cksum | awk '{
    seed = $1
    height = (seed % 3 == 0) ? 2160 : (seed % 3 == 1) ? 1080 : 720
    printf "{\"width\": %d, \"height\": %d, \"seconds\": %d.0, \"hdr\": %s}\n",
        int(height * 16 / 9), height, 30 + seed % 4000, (seed % 5 == 0) ? "true" : "false"
}'
