#!/usr/bin/env bash
# Instructions to decode a page of 100 contacts in plaintext, and to decrypt and decode the same
# page with 3 fields per contact encrypted (benches/encryption.rs), counted by valgrind's
# callgrind: repeatable whatever else the machine is doing, unlike CPU time. Each case runs at
# two iteration counts; the difference divided by the difference in pages is the cost of one
# page, free of start-up (the page is built and encrypted once per run).
#
# Usage: benches/encryption-instructions.sh    (needs valgrind)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
bench="$(cargo bench --features encryption --bench encryption --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "encryption" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench" ]] || { echo "could not build benches/encryption.rs" >&2; exit 1; }

count() { # case iterations -> instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --iterations "$2" "$1" 2>&1 |
    grep -Eo 'Collected : [0-9]+' | grep -Eo '[0-9]+'
}
per_page() { # case low high
  echo $(( ($(count "$1" "$3") - $(count "$1" "$2")) / ($3 - $2) ))
}
plain=$(per_page plaintext 20 60)
sealed=$(per_page decrypted 2 6)
printf '%-10s %16s\n' case "instr/page"
printf '%-10s %16d\n' plaintext "$plain" decrypted "$sealed"
python3 -c "print(f'ratio {$sealed/$plain:.0f}x; per encrypted field {($sealed-$plain)/300:,.0f} instructions')"
