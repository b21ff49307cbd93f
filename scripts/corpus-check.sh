#!/usr/bin/env bash
# Compatibility measure: `taskrun validate` on every task file of the shared corpus, compared
# with what ACR's runner does (EXPECT.tsv: accept → exit 0; reject → exit 2 with a diagnostic);
# then `taskrun run --dry-run` on every accept file (see below).
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
    # (A pattern test, not `printf | grep -q`: grep stopping early would SIGPIPE printf, and
    # pipefail would then fail the check.)
    if [ "$code" -eq 2 ] && [[ $err == *taskrun::* ]]; then rej_ok=$((rej_ok + 1)); else failures+=("reject $file: exit $code"); fi
  fi
done < "$corpus/EXPECT.tsv"

for f in "${failures[@]}"; do echo "  $f"; done
echo "corpus: $acc_ok/$acc_all accept, $rej_ok/$rej_all reject"

# `run --dry-run` of every accept file, with stand-in values for the values and secrets it
# uses, an empty CONTEXT and a stand-in registry: how many files `run` would refuse where ACR
# runs them. Files ACR would fail too are listed, with the reason, in corpus-dry-run.tsv.
known=scripts/corpus-dry-run.tsv
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
dry_all=0 dry_refused=0 dry_unexpected=0
while IFS=$'\t' read -r file expect _reason; do
  [ "$expect" = accept ] || continue
  path="$corpus/$file"
  dry_all=$((dry_all + 1))
  # A commit-triggered run's `.Run.Commit` and `.Run.Branch`.
  args=(--registry registry.local --commit 0123456789abcdef0123456789abcdef01234567 --branch main)
  for v in $(grep -oE '\.Values\.[A-Za-z0-9_]+' "$path" | sort -u); do
    key=${v#.Values.}
    lower=$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]')
    # A value used as a URL's host (`https://{{.Values.KEYVAULT}}.vault…`) is a plain name.
    grep -qE "//\{\{ ?\.Values\.$key" "$path" && lower=host
    case "$lower" in
      *vault*) val=https://standin.vault.azure.net/secrets/standin ;;
      id|*clientid*) val=c72b2df0-b9d8-4ac6-9363-7c1eb06c1c86 ;;
      dockerfile) val=Dockerfile ;;
      context) val=. ;;
      *) val=standin ;;
    esac
    args+=(--set "$key=$val")
  done
  for s in $(grep -oE '\.Secrets\.[A-Za-z0-9_]+' "$path" | sort -u); do args+=(--secret "${s#.Secrets.}=standin"); done
  # Declared secrets the text never uses: taken from run's own refusal, then run again.
  for _ in 1 2; do
    err=$("$bin" run --dry-run -f "$path" "${args[@]}" --color never "$ctx" 2>&1 >/dev/null)
    code=$?
    missing=$(printf '%s' "$err" | grep -oE 'secret `[^`]+` has no local value' | sed -E 's/secret `([^`]+)`.*/\1/' | sort -u)
    [ "$code" -ne 0 ] && [ -n "$missing" ] || break
    for s in $missing; do args+=(--secret "$s=standin"); done
  done
  [ "$code" -eq 0 ] && continue
  dry_refused=$((dry_refused + 1))
  why=$(printf '%s' "$err" | grep -m1 -E 'taskrun::|Error|error' | head -c 160)
  if reason=$(grep -F "$file"$'\t' "$known" 2>/dev/null | cut -f2) && [ -n "$reason" ]; then
    echo "  dry-run refuses $file (ACR fails it too: $reason)"
  else
    dry_unexpected=$((dry_unexpected + 1))
    echo "  dry-run refuses $file: exit $code: $why"
  fi
done < "$corpus/EXPECT.tsv"
echo "corpus dry-run: $dry_refused of $dry_all accept files refused by run ($dry_unexpected not listed in $known)"

[ "$acc_ok" -eq "$acc_all" ] && [ "$rej_ok" -eq "$rej_all" ] && [ "$dry_unexpected" -eq 0 ]
