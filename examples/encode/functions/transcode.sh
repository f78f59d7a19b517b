#!/bin/sh
# Makes a Rendition, made up from the call's arguments. POSIX sh and utilities only
# (awk, cksum, printf): no bash, python or jq needed.
#
# One-shot (COSMOS_PROTOCOL unset): one JSON object {"url", "codec", "height"} on
# stdin, one Rendition on stdout.
# Warm (COSMOS_PROTOCOL=lines): one JSON message per line,
#   {"id": n, "calls": [args, ...]} -> {"id": n, "results": [{"ok": value} | {"error": message}, ...]}
# one answer line per message, results in call order; a bad call fails alone.
#
# The argument objects are flat (string and integer values, no braces or quotes in
# the strings), so awk can pick the fields out by name.

# Reads JSON text on stdin and prints one record per call, its fields separated by the
# control character US (\037, which a JSON text never holds raw):
#   ok US url US codec US height US lowercased codec     or     error US message
# With mode=batch the text is a message: first comes id US n, then its calls; a
# message without an id or a calls list prints fatal US message and exits 1.
parse() {
    awk -v mode="$1" '
        function ws(s) { sub(/^[ \t\r\n]+/, "", s); return s }
        # The JSON text of the value of key in the flat object obj, or "" if absent.
        function field(obj, key,    pattern, value) {
            pattern = "\"" key "\"[ \t\r\n]*:[ \t\r\n]*(\"[^\"]*\"|-?[0-9]+[ \t\r\n]*[,}]|[^ \t\r\n,}]+)"
            if (!match(obj, pattern)) return ""
            value = substr(obj, RSTART, RLENGTH)
            sub(/^"[^"]*"[ \t\r\n]*:[ \t\r\n]*/, "", value)
            sub(/[ \t\r\n]*[,}]$/, "", value)
            return value
        }
        function string_field(obj, key,    value) {
            value = field(obj, key)
            if (value !~ /^"[^"]*"$/) { if (problem == "") problem = "field " key " must be a string"; return "" }
            return substr(value, 2, length(value) - 2)
        }
        # The record for the arguments of one call.
        function call(obj,    url, codec, height) {
            if (obj !~ /^\{.*\}$/) return "error" US "call arguments must be a JSON object"
            problem = ""
            url = string_field(obj, "url")
            codec = string_field(obj, "codec")
            height = field(obj, "height")
            if (problem == "" && height !~ /^-?[0-9]+$/) problem = "field height must be an integer"
            if (problem != "") return "error" US problem
            return "ok" US url US codec US height US tolower(codec)
        }
        BEGIN { US = "\037" }
        { text = text $0 "\n" }
        END {
            text = ws(text)
            sub(/[ \t\r\n]+$/, "", text)
            if (mode != "batch") { print call(text); exit 0 }
            if (!match(text, /"calls"[ \t\r\n]*:[ \t\r\n]*\[/)) {
                print "fatal" US "message has no calls list"; exit 1
            }
            outside = substr(text, 1, RSTART - 1)
            rest = ws(substr(text, RSTART + RLENGTH))
            # The elements of the calls list, in order.
            for (records = ""; substr(rest, 1, 1) != "]"; rest = ws(rest)) {
                first = substr(rest, 1, 1)
                if (first == "{") end = index(rest, "}")
                else if (first == "\"") end = index(substr(rest, 2), "\"") ? index(substr(rest, 2), "\"") + 1 : 0
                else if (match(rest, /[],]/)) end = RSTART - 1
                else end = 0
                if (end < 1) { print "fatal" US "unterminated calls list"; exit 1 }
                records = records call(ws(substr(rest, 1, end))) "\n"
                rest = ws(substr(rest, end + 1))
                if (substr(rest, 1, 1) == ",") rest = substr(rest, 2)
                else if (substr(rest, 1, 1) != "]") { print "fatal" US "malformed calls list"; exit 1 }
            }
            # The id, looked for outside the calls list.
            id = field(outside substr(rest, 2), "id")
            if (id !~ /^[0-9]+$/) { print "fatal" US "message has no numeric id"; exit 1 }
            printf "%s", "id" US id "\n" records
        }'
}

# The Rendition for one parsed call, as JSON.
rendition() { # url codec height lowercased-codec
    bytes=$(printf '%s#%s@%s' "$1" "$2" "$3" | cksum | awk '{ print 5000 + $1 % 50000 }')
    printf '{"codec": "%s", "height": %s, "location": "%s.%sp.%s.mp4", "bytes": %s}' \
        "$2" "$3" "$1" "$3" "$4" "$bytes"
}

us=$(printf '\037')

if [ "${COSMOS_PROTOCOL:-}" != lines ]; then
    record=$(parse one) || exit 1
    IFS=$us read -r kind a b c d <<END
$record
END
    if [ "$kind" != ok ]; then
        printf '%s\n' "$a" >&2
        exit 1
    fi
    rendition "$a" "$b" "$c" "$d"
    echo
    exit 0
fi

while IFS= read -r line || [ -n "$line" ]; do
    case $line in *[![:space:]]*) ;; *) continue ;; esac
    records=$(printf '%s\n' "$line" | parse batch)
    answer=
    while IFS=$us read -r kind a b c d; do
        case $kind in
            id) answer="{\"id\": $a, \"results\": [" sep= ;;
            ok) answer="$answer$sep{\"ok\": $(rendition "$a" "$b" "$c" "$d")}" sep=', ' ;;
            error) answer="$answer$sep{\"error\": \"$a\"}" sep=', ' ;;
            fatal)
                printf 'bad message: %s\n' "$a" >&2
                exit 1
                ;;
        esac
    done <<END
$records
END
    printf '%s]}\n' "$answer"
done
