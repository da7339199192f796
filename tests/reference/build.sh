#!/usr/bin/env bash
# Builds the Clever reference server offline (Go GOPATH mode, Debian's Go
# libraries) into tests/reference/.build/clever-reference and prints its path.
# Skips the build when the binary is newer than every source. Exits non-zero
# with a message naming what is missing when Go or a library is absent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="$here/.build"
bin="$out_dir/clever-reference"
debian_gopath="/usr/share/gocode"

# Debian package -> import path the build needs.
required_libs=(
  "golang-github-gorilla-mux-dev:github.com/gorilla/mux"
  "golang-github-gorilla-handlers-dev:github.com/gorilla/handlers"
  "golang-github-go-openapi-errors-dev:github.com/go-openapi/errors"
  "golang-github-go-openapi-strfmt-dev:github.com/go-openapi/strfmt"
  "golang-github-go-openapi-swag-dev:github.com/go-openapi/swag"
  "golang-github-go-openapi-validate-dev:github.com/go-openapi/validate"
)

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain is missing (apt-get install golang-go)" >&2
  exit 3
fi
missing=()
for entry in "${required_libs[@]}"; do
  pkg="${entry%%:*}"
  path="${entry#*:}"
  if [ ! -d "$debian_gopath/src/$path" ]; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build.sh: missing Debian Go libraries: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 4
fi

mkdir -p "$out_dir"

# Up to date: the binary exists and no source is newer than it.
up_to_date() {
  [ -x "$bin" ] && [ -z "$(find "$here" -path "$out_dir" -prune -o \
    \( -name '*.go' -o -name 'build.sh' \) -newer "$bin" -print | head -n 1)" ]
}
if up_to_date; then
  echo "$bin"
  exit 0
fi

# Serialise concurrent builds (e.g. parallel test sessions); another one may
# have finished while we waited.
exec 9>"$out_dir/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if up_to_date; then
  echo "$bin"
  exit 0
fi

gopath="$(mktemp -d "${TMPDIR:-/tmp}/clever-reference-gopath.XXXXXX")"
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src"
# The import path "cleverref/models" resolves through this symlink.
ln -s "$here" "$gopath/src/cleverref"

tmp_bin="$out_dir/clever-reference.tmp.$$"
if ! (cd "$gopath/src/cleverref" &&
      GO111MODULE=off GOFLAGS= GOPATH="$gopath:$debian_gopath" \
      GOCACHE="${GOCACHE:-$out_dir/gocache}" CGO_ENABLED=0 \
      go build -o "$tmp_bin" cleverref) >&2; then
  rm -f "$tmp_bin"
  echo "build.sh: go build failed" >&2
  exit 5
fi
mv -f "$tmp_bin" "$bin"
echo "$bin"
