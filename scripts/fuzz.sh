#!/usr/bin/env bash
# Runs every fuzz target of the repository (every `func FuzzX(f *testing.F)`
# in a _test.go file, in any module of the repository) for FUZZTIME each.
#
#   make fuzz                  # 1m per target
#   make fuzz FUZZTIME=10m     # before a release
#   FUZZ='Cookie|Ticket' make fuzz   # only the targets whose name matches
#
# The seed corpora (f.Add in the tests, and testdata/fuzz/<Target>/ for inputs
# that once failed) live in the repository; `go test` (make test) runs them.
# A failing input is written to testdata/fuzz/<Target>/ in the target's
# package: commit it with the fix, as a regression test. What the fuzzer
# learns otherwise stays in Go's cache ($(go env GOCACHE)/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzztime=${FUZZTIME:-1m}
# Minimizing a new input derived from a large seed (config.example.toml) can
# otherwise stall the run for minutes.
minimize=${FUZZMINIMIZETIME:-10s}
filter=${FUZZ:-.}

mapfile -t targets < <(git grep -n -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' -- '*_test.go' |
	sed -E 's/^([^:]*):[0-9]+:func (Fuzz[A-Za-z0-9_]*).*/\1 \2/' | sort)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

failed=()
ran=0
for t in "${targets[@]}"; do
	file=${t% *}
	name=${t#* }
	echo "$name" | grep -Eq "$filter" || continue
	dir=$(dirname "$file")
	# The module holding the package: the nearest go.mod above it.
	mod=$dir
	while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
	rel=${dir#"$mod"}
	echo "== $name (./$dir, $fuzztime)"
	ran=$((ran + 1))
	if ! (cd "$root/$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "./${rel#/}"); then
		failed+=("$name (./$dir)")
	fi
done

echo "fuzz: ran $ran targets for $fuzztime each"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
