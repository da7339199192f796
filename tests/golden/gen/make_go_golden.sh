#!/usr/bin/env bash
# Regenerates the Go-derived data of proxy/gocompat from the real Go 1.19 toolchain and Debian's Go
# libraries, offline (GOPATH mode, no module downloads):
#   tests/golden/timeparse.jsonl   <- tests/golden/gen/timeparse.go   (time.Parse, strfmt.ParseDateTime)
#   tests/golden/strconv.jsonl     <- tests/golden/gen/strconv.go     (strconv.ParseInt, strconv.Quote)
#   tests/golden/urlparse.jsonl    <- tests/golden/gen/urlparse.go    (net/url unescape, ParseQuery)
#   proxy/gocompat/_isprint_table.py <- tests/golden/gen/isprint_table.go (strconv.IsPrint ranges)
# Usage: bash tests/golden/gen/make_go_golden.sh [timeparse|strconv|urlparse|isprint_table ...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= TZ=UTC

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(timeparse strconv urlparse isprint_table)
fi

for t in "${targets[@]}"; do
    case "$t" in
        isprint_table) out=proxy/gocompat/_isprint_table.py ;;
        timeparse | strconv | urlparse) out="tests/golden/$t.jsonl" ;;
        *) echo "unknown target: $t" >&2; exit 2 ;;
    esac
    go run "tests/golden/gen/$t.go" > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "wrote $out ($(wc -l < "$out") lines) with $(go version)"
done
