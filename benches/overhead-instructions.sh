#!/usr/bin/env bash
# Instructions per request of the SDK and of the hand-written client (benches/overhead.rs), counted
# by valgrind's callgrind: repeatable whatever else the machine is doing, unlike CPU time.
#
# Each side runs alone at two sizes; the difference in instructions divided by the difference in
# requests is the cost of one request, free of start-up (runtime, server, TLS roots).
#
# Usage: benches/overhead-instructions.sh ["get c=1" "list c=1" ...]   (needs valgrind)
#        OBSERVED=1 benches/overhead-instructions.sh ...   # SDK with audit sink + metrics vs plain SDK
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
observed=()
features=()
if [[ -n "${OBSERVED:-}" ]]; then
  observed=(--observed)
  features=(--features metrics)
fi
bench="$(cargo bench --bench overhead "${features[@]}" --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "overhead" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench" ]] || { echo "could not build benches/overhead.rs" >&2; exit 1; }

cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=("get c=1" "get c=64" "list c=1" "create c=1")

count() { # side scale case -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" "${observed[@]}" --only "$1" --scale "$2" "$3" 2>&1 |
    grep -Eo 'Collected : [0-9]+' | grep -Eo '[0-9]+'
}
requests() { # case scale -> requests sent by one measurement
  "$bench" --scale "$2" "$1" --dry-run-requests | awk '{ print $1; exit }'
}

if [[ -n "${OBSERVED:-}" ]]; then
  printf '%-12s %14s %14s %8s\n' case "observed/req" "plain SDK/req" ratio
else
  printf '%-12s %14s %14s %8s\n' case "SDK instr/req" "hand instr/req" ratio
fi
for case in "${cases[@]}"; do
  extra=$(( $(requests "$case" 0.75) - $(requests "$case" 0.25) ))
  sdk=$(( ($(count sdk 0.75 "$case") - $(count sdk 0.25 "$case")) / extra ))
  hand=$(( ($(count hand 0.75 "$case") - $(count hand 0.25 "$case")) / extra ))
  printf '%-12s %14d %14d %8s\n' "$case" "$sdk" "$hand" "$(python3 -c "print(f'{$sdk/$hand:.3f}')")"
done
