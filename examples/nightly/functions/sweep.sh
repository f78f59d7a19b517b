#!/bin/sh
# Deletes the regular files under the folder named by `folder` (relative to the
# project's root) last modified more than `olderThanDays` days ago, and answers how
# many it removed and kept. POSIX sh and find only.
#
# Input: {"folder": "scratch", "olderThanDays": 30}

read -r line
folder=$(printf '%s' "$line" | sed -n 's/.*"folder": *"\([^"]*\)".*/\1/p')
days=$(printf '%s' "$line" | sed -n 's/.*"olderThanDays": *\([0-9][0-9]*\).*/\1/p')
case $folder in
    "" | /* | *..*)
        echo "refusing folder '$folder': give a folder inside the project" >&2
        exit 2
        ;;
esac
if [ -z "$days" ]; then
    echo "olderThanDays is missing" >&2
    exit 2
fi
mkdir -p "$folder"
removed=$(find "$folder" -type f -mtime +"$days" -print -exec rm -f {} + | wc -l | tr -d ' ')
kept=$(find "$folder" -type f | wc -l | tr -d ' ')
printf '{"removed": %s, "kept": %s}\n' "$removed" "$kept"
