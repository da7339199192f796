#!/bin/sh
# Builds the Go golden generator for proxy/gocompat's JSON decoding and runs it.
#
#   make_json_golden.sh                 regenerate tests/golden/json_decode.jsonl
#   make_json_golden.sh generate OUT    write the built-in cases to OUT ("-" for stdout)
#   make_json_golden.sh build OUTBIN    only build the generator binary (used by the tests)
#   make_json_golden.sh stdin           decode {"model","body_b64"} lines from stdin
#
# Needs go (1.19 was used for the committed data) and the Debian Go libraries under
# /usr/share/gocode (golang-github-go-openapi-strfmt-dev). GOPATH mode, no network.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
golden="$here/../json_decode.jsonl"
mode=${1:-golden}

work=$(mktemp -d "${TMPDIR:-/tmp}/json_golden.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The generator is package "models" (so types print as models.X); a two-line main calls it.
mkdir -p "$work/src/models" "$work/src/json_decode_golden"
cp "$here/json_decode_golden.go" "$work/src/models/"
cat >"$work/src/json_decode_golden/main.go" <<'EOF'
package main

import "models"

func main() { models.Main() }
EOF

# Go's build cache lives under $HOME; without a HOME, use a throw-away one.
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ]; then
	export GOCACHE="$work/cache"
fi

bin="$work/json_decode_golden"
(cd "$work/src/json_decode_golden" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" go build -o "$bin" .)

case "$mode" in
golden)
	"$bin" generate >"$golden.tmp"
	mv "$golden.tmp" "$golden"
	echo "wrote $golden ($(wc -l <"$golden") records, $(go version))" >&2
	;;
generate)
	out=${2:--}
	if [ "$out" = "-" ]; then "$bin" generate; else "$bin" generate >"$out"; fi
	;;
build)
	cp "$bin" "$2"
	;;
stdin)
	"$bin" stdin
	;;
*)
	echo "usage: $0 [golden | generate OUT | build OUTBIN | stdin]" >&2
	exit 2
	;;
esac
