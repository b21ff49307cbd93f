#!/usr/bin/env bash
# Compatibility measure: `taskrun validate` on every task file of the shared corpus, compared
# with what ACR's runner does (EXPECT.tsv: accept → exit 0; reject → exit 2 with a diagnostic).
# Usage: scripts/corpus-check.sh [CORPUS_DIR] [TASKRUN_BIN]
set -uo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
bin=${2:-target/debug/taskrun}
[ -f "$corpus/EXPECT.tsv" ] || { echo "corpus: no EXPECT.tsv in $corpus" >&2; exit 2; }
[ -x "$bin" ] || cargo build --locked --quiet || exit 2

acc_ok=0 acc_all=0 rej_ok=0 rej_all=0
failures=()
while IFS=$'\t' read -r file expect _reason; do
  [ "$file" = "file" ] && continue
  case "$expect" in accept|reject) ;; *) continue ;; esac
  path="$corpus/$file"
  err=$("$bin" validate -f "$path" --color never 2>&1 >/dev/null)
  code=$?
  if [ "$expect" = accept ]; then
    acc_all=$((acc_all + 1))
    if [ "$code" -eq 0 ]; then acc_ok=$((acc_ok + 1)); else failures+=("accept $file: exit $code: $(printf '%s' "$err" | grep -m1 'taskrun::' | head -c 200)"); fi
  else
    rej_all=$((rej_all + 1))
    if [ "$code" -eq 2 ] && printf '%s' "$err" | grep -q 'taskrun::'; then rej_ok=$((rej_ok + 1)); else failures+=("reject $file: exit $code"); fi
  fi
done < "$corpus/EXPECT.tsv"

for f in "${failures[@]}"; do echo "  $f"; done
echo "corpus: $acc_ok/$acc_all accept, $rej_ok/$rej_all reject"
[ "$acc_ok" -eq "$acc_all" ] && [ "$rej_ok" -eq "$rej_all" ]
