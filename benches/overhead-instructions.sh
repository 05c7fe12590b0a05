#!/usr/bin/env bash
# Instructions per request of the SDK and of the reference clients of benches/overhead.rs — the
# careful hand-written one and the lean one — counted by valgrind's callgrind: repeatable whatever
# else the machine is doing, unlike CPU time.
#
# Each side runs alone at two sizes; the difference in instructions divided by the difference in
# requests is the cost of one request, free of start-up (runtime, server, TLS roots). With
# several runs, the sides take turns within each run and the figures are medians over the runs
# (at concurrency 64 the runtime's scheduling moves counts by a few hundred instructions).
#
# Usage: benches/overhead-instructions.sh [--reference hand|lean|both] [--runs N] ["get c=1" ...]
#   --reference  which reference client(s) the SDK is compared with (default: both)
#   --runs       side-by-side runs per case, medians reported (default: 1)
#   cases        default: "get c=1" "get c=64" "list c=1" "create c=1"
#   OBSERVED=1   (environment) the SDK with an audit sink and metrics against the plain SDK, which
#                takes the `hand` side's place (builds with `--features metrics`)
#
# Needs valgrind (Linux): `sudo apt-get install valgrind` (Debian, Ubuntu) or
# `sudo dnf install valgrind` (Fedora).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

reference=both
runs=1
cases=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reference) reference="${2:-}"; shift 2 ;;
    --runs) runs="${2:-}"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) cases+=("$1"); shift ;;
  esac
done
case "$reference" in
  hand) references=(hand) ;;
  lean) references=(lean) ;;
  both) references=(hand lean) ;;
  *) echo "--reference needs hand, lean or both" >&2; exit 2 ;;
esac
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
[[ ${#cases[@]} -gt 0 ]] || cases=("get c=1" "get c=64" "list c=1" "create c=1")

command -v valgrind >/dev/null || {
  echo "needs valgrind: install it with \`sudo apt-get install valgrind\` (Debian, Ubuntu) or \`sudo dnf install valgrind\` (Fedora)" >&2
  exit 1
}
observed=()
features=()
if [[ -n "${OBSERVED:-}" ]]; then
  observed=(--observed)
  features=(--features metrics)
  references=(hand)
fi
bench="$(cargo bench --bench overhead "${features[@]}" --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "overhead" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench" ]] || { echo "could not build benches/overhead.rs" >&2; exit 1; }

count() { # side scale case -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" "${observed[@]}" --only "$1" --scale "$2" "$3" 2>&1 |
    grep -Eo 'Collected : [0-9]+' | grep -Eo '[0-9]+'
}
requests() { # case scale -> requests sent by one measurement
  "$bench" --scale "$2" "$1" --dry-run-requests | awk '{ print $1; exit }'
}
per_request() { # side case extra-requests -> instructions per request
  echo $(( ($(count "$1" 0.75 "$2") - $(count "$1" 0.25 "$2")) / $3 ))
}
median() { # numbers... -> their median (mean of the middle two for an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

header=$(printf '%-12s %14s' case "SDK instr/req")
for r in "${references[@]}"; do header+=$(printf ' %14s %9s' "$r instr/req" "SDK/$r"); done
echo "$header"
for case in "${cases[@]}"; do
  extra=$(( $(requests "$case" 0.75) - $(requests "$case" 0.25) ))
  declare -A counts=() ratios=()
  for ((run = 0; run < runs; run++)); do
    sdk=$(per_request sdk "$case" "$extra")
    counts[sdk]+="$sdk "
    for r in "${references[@]}"; do
      other=$(per_request "$r" "$case" "$extra")
      counts[$r]+="$other "
      ratios[$r]+="$(python3 -c "print($sdk/$other)") "
    done
  done
  # shellcheck disable=SC2086 # the lists are space-separated numbers
  line=$(printf '%-12s %14.0f' "$case" "$(median ${counts[sdk]})")
  for r in "${references[@]}"; do
    # shellcheck disable=SC2086
    line+=$(printf ' %14.0f %9.3f' "$(median ${counts[$r]})" "$(median ${ratios[$r]})")
  done
  echo "$line"
  unset counts ratios
done
