#!/usr/bin/env bash
# taskrun's benchmarks (run by hand, never in CI): speed and memory goals are measured here, not
# asserted in tests. Results and method: docs/benchmarks.md.
#
#   scripts/bench.sh                 # build release, run everything, print a markdown table
#   TASKRUN_BIN=path [BENCH_LABEL=text] scripts/bench.sh  # use this binary (no build)
#   RUNS=5 VALIDATE_RUNS=10 SKIP_DOCKER=1 scripts/bench.sh
#   ONLY=context CONTEXT_RUNS=3 scripts/bench.sh   # only the build-context rows
#   ONLY=steps RUNS=3 scripts/bench.sh             # everything but the build-context rows
#
# Needs: python3, /usr/bin/time (package `time`); hyperfine is used for `validate` when present
# (else repeated runs timed with `date +%s%N`). The docker rows need the test environment
# (scripts/test-env.sh: a running engine and the local image `taskrun-busybox:latest`).
# Generated task files (the 10,000-step one is ~1.7 MB) go to a temp dir that is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

RUNS=${RUNS:-5}                    # runs of each docker benchmark (median reported)
VALIDATE_RUNS=${VALIDATE_RUNS:-10} # runs of each validate benchmark
CONTEXT_RUNS=${CONTEXT_RUNS:-3}    # runs of each build-context benchmark
ONLY=${ONLY:-}                     # `context`: only the build-context rows; `steps`: all but them
IMAGE=taskrun-busybox:latest

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
command -v python3 >/dev/null || die "python3 is missing"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/taskrun-bench.XXXXXX")
extra_net=""
extra_vols=()
cleanup() {
  set +e
  if [ -n "$extra_net" ]; then docker network rm "$extra_net" >/dev/null 2>&1; fi
  for v in "${extra_vols[@]}"; do docker volume rm "$v" >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the binary ---------------------------------------------------------------------------------
if [ -n "${TASKRUN_BIN:-}" ]; then
  src_bin=$TASKRUN_BIN
  built_from="${BENCH_LABEL:-the binary $TASKRUN_BIN}"
else
  built_from="work tree at $(git describe --always --dirty 2>/dev/null || echo '?')"
  log "building release (cargo build --release --locked; a few minutes on 2 cores)"
  cargo build --release --locked >&2
  src_bin=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/taskrun
fi
[ -x "$src_bin" ] || die "no binary at $src_bin"
# A private copy: others may rebuild target/ while we measure.
bin=$tmp/taskrun
cp "$src_bin" "$bin"

# --- task files -----------------------------------------------------------------------------------
python3 "$repo/benches/gen_tasks.py" "$tmp" --steps 10000
python3 "$repo/benches/gen_tasks.py" "$tmp/s1000" --steps 1000
python3 "$repo/benches/gen_tasks.py" "$tmp/s20000" --steps 20000
mkdir -p "$tmp/ctx"
echo "benchmark context" >"$tmp/ctx/README"

# --- helpers --------------------------------------------------------------------------------------
now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "NaN"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -n | tail -1; }
# times_ms N CMD...: runs CMD N times (output discarded), prints one wall time in ms per line.
times_ms() {
  local n=$1 s e
  shift
  for _ in $(seq "$n"); do
    s=$(now_ns)
    "$@" >/dev/null 2>&1 || die "failed: $*"
    e=$(now_ns)
    echo $(((e - s) / 1000000))
  done
}
# peak_kb N CMD...: the largest peak RSS (KiB) of N runs of CMD.
peak_kb() {
  local n=$1
  shift
  for _ in $(seq "$n"); do
    /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || die "failed: $*"
    tail -1 "$tmp/rss"
  done | max
}
# median_ms_hyperfine N CMD...: hyperfine's median (ms), no shell in between.
median_ms_hyperfine() {
  local n=$1 cmd
  shift
  printf -v cmd '%q ' "$@"
  hyperfine -N --style none --warmup 1 --runs "$n" --export-json "$tmp/hf.json" "$cmd" >/dev/null 2>&1 \
    || die "hyperfine failed: $cmd"
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$tmp/hf.json"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k/1024}'; }
secs() { awk -v m="$1" 'BEGIN {printf "%.2f s", m/1000}'; }
yesno() { if [ "$1" = 1 ]; then echo "yes"; else echo "**no**"; fi; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

# --- 1. validate ----------------------------------------------------------------------------------
if [ "$ONLY" != context ]; then
vargs=(--values "$tmp/values.yaml" --registry bench.azurecr.io --run-id bench1 --color never)
"$bin" validate -f "$tmp/validate-10000.yaml" "${vargs[@]}" >/dev/null 2>&1 \
  || { "$bin" validate -f "$tmp/validate-10000.yaml" "${vargs[@]}" | tail -20; die "the 10,000-step file does not validate"; }

if command -v hyperfine >/dev/null; then
  timer="hyperfine median"
  v_time() { median_ms_hyperfine "$VALIDATE_RUNS" "$bin" validate -f "$1" "${vargs[@]}"; }
else
  timer="median of date +%s%N runs"
  v_time() { times_ms "$VALIDATE_RUNS" "$bin" validate -f "$1" "${vargs[@]}" | median; }
fi
for n in 1000 10000 20000; do
  case $n in
    10000) f=$tmp/validate-10000.yaml ;;
    *) f=$tmp/s$n/validate-$n.yaml ;;
  esac
  log "validate, $n steps"
  ms=$(v_time "$f")
  kb=$(peak_kb 3 "$bin" validate -f "$f" "${vargs[@]}")
  if [ "$n" = 10000 ]; then
    row "validate, 10,000 steps: wall ($timer of $VALIDATE_RUNS)" "$(secs "$ms")" "< 1 s" "$(yesno "$(lt "$ms" 1000 && echo 1 || echo 0)")"
    row "validate, 10,000 steps: peak RSS (max of 3)" "$(mb "$kb")" "< 200 MB" "$(yesno "$(lt "$kb" 204800 && echo 1 || echo 0)")"
  else
    row "validate, $(echo "$n" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') steps: wall / peak RSS (scaling)" "$(secs "$ms") / $(mb "$kb")" "info" "–"
  fi
done
fi

# --- docker benchmarks ----------------------------------------------------------------------------
docker_ok=0
if [ -z "${SKIP_DOCKER:-}" ] && docker version >/dev/null 2>&1 && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  docker_ok=1
else
  log "docker rows skipped (SKIP_DOCKER set, no engine, or no $IMAGE: run scripts/test-env.sh)"
fi

if [ "$docker_ok" = 1 ]; then
  run_task() { "$bin" run -f "$1" --output plain --color never "$tmp/ctx"; }
  run_task "$tmp/empty.yaml" >/dev/null 2>&1 || die "taskrun cannot run a one-step task; is the test environment up?"
fi
if [ "$docker_ok" = 1 ] && [ "$ONLY" != context ]; then

  # 2. 20 sequential cmd steps vs a docker run loop.
  docker_loop() { for _ in $(seq 20); do docker run --rm "$IMAGE" true; done; }
  # The same containers with what taskrun gives each step: run network (with alias), workspace
  # and home volumes, engine socket, HOME and working dir.
  extra_net=taskrun-bench-net-$$
  extra_vols=("taskrun-bench-ws-$$" "taskrun-bench-home-$$")
  docker network create "$extra_net" >/dev/null
  for v in "${extra_vols[@]}"; do docker volume create "$v" >/dev/null; done
  docker_loop_equiv() {
    for i in $(seq 20); do
      docker run --rm --network "$extra_net" --network-alias "s$i" \
        -v "${extra_vols[0]}:/workspace" -v "${extra_vols[1]}:/acb/home" \
        -v /var/run/docker.sock:/var/run/docker.sock -e HOME=/acb/home -w /workspace \
        "$IMAGE" true
    done
  }
  # Interleaved (one round of every benchmark per run) so that background load hits all alike.
  # chain_cli SECONDS: the critical path of the parallel task with steps of SECONDS.
  chain_cli() { docker run --rm "$IMAGE" sleep "$1" && docker run --rm "$IMAGE" true; }
  par_cli() {
    local pids=() p
    for _ in 1 2 3 4; do docker run --rm "$IMAGE" sleep 2 & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p"; done
    docker run --rm "$IMAGE" true
  }
  names=(seq_tr seq_loop seq_equiv par_tr crit chain_tr zero_tr par_docker par5_tr crit5)
  for i in $(seq "$RUNS"); do
    log "docker round $i/$RUNS: 20 sequential steps (taskrun, loop, loop with mounts), parallel (taskrun, critical path, chain, 0-step, CLI, 5 s steps)"
    times_ms 1 run_task "$tmp/seq20.yaml" >>"$tmp/seq_tr"
    times_ms 1 docker_loop >>"$tmp/seq_loop"
    times_ms 1 docker_loop_equiv >>"$tmp/seq_equiv"
    times_ms 1 run_task "$tmp/par4.yaml" >>"$tmp/par_tr"
    times_ms 1 chain_cli 2 >>"$tmp/crit"
    times_ms 1 run_task "$tmp/chain.yaml" >>"$tmp/chain_tr"
    times_ms 1 run_task "$tmp/zero.yaml" >>"$tmp/zero_tr"
    times_ms 1 par_cli >>"$tmp/par_docker"
    times_ms 1 run_task "$tmp/par4-5s.yaml" >>"$tmp/par5_tr"
    times_ms 1 chain_cli 5 >>"$tmp/crit5"
  done
  declare -A med rng
  for n in "${names[@]}"; do
    med[$n]=$(median <"$tmp/$n")
    rng[$n]=$(sort -n "$tmp/$n" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f–%.2f s", lo/1000, hi/1000}')
  done
  res() { echo "$(secs "${med[$1]}") (${rng[$1]})"; } # median (min–max)
  ratio() { awk -v a="${med[$1]}" -v b="${med[$2]}" 'BEGIN {printf "%.2f", a/b}'; } # of medians
  row "20 sequential \`cmd\` steps (\`taskrun-busybox true\`): taskrun" "$(res seq_tr)" "< docker loop" "$(yesno "$(lt "${med[seq_tr]}" "${med[seq_loop]}" && echo 1 || echo 0)")"
  row "20 × \`docker run --rm taskrun-busybox true\` (shell loop)" "$(res seq_loop)" "baseline" "–"
  row "the same loop with taskrun's per-step network, volumes and socket mount" "$(res seq_equiv)" "info" "–"
  ratio=$(ratio par_tr crit)
  row "4 parallel \`sleep 2\` steps + join step: taskrun" "$(res par_tr), ${ratio}× critical path" "≤ 1.15× critical path" "$(yesno "$(awk -v r="$ratio" 'BEGIN {print (r <= 1.15) ? 1 : 0}')")"
  row "critical path: \`docker run --rm … sleep 2\`, then \`docker run --rm … true\`" "$(res crit)" "baseline" "–"
  row "that chain as a 2-step task run by taskrun" "$(res chain_tr); the parallel task is $(ratio par_tr chain_tr)× it" "info" "–"
  row "4 × \`docker run --rm … sleep 2\` in parallel (shell \`&\`), then \`docker run --rm … true\`" "$(res par_docker)" "info" "–"
  row "the parallel task with \`sleep 5\` steps: taskrun" "$(res par5_tr), $(ratio par5_tr crit5)× critical path" "info" "–"
  row "its critical path: \`docker run --rm … sleep 5\`, then \`docker run --rm … true\`" "$(res crit5)" "info" "–"
  row "taskrun's per-run setup and cleanup: a 0-step task (network, volumes, seeding, removal)" "$(res zero_tr)" "info" "–"

  # Bounded memory under 200 MB of output.
  log "200 MB of output"
  s=$(now_ns)
  /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" run -f "$tmp/bigout.yaml" --output plain --color never "$tmp/ctx" >/dev/null 2>&1 \
    || die "the 200 MB output task failed"
  e=$(now_ns)
  big_kb=$(tail -1 "$tmp/rss")
  row "a step printing 200 MB, \`--output plain > /dev/null\`: peak RSS (wall)" "$(mb "$big_kb") ($(secs $(((e - s) / 1000000))))" "bounded (≪ 200 MB)" "$(yesno "$(lt "$big_kb" 65536 && echo 1 || echo 0)")"
fi

# --- build contexts: one build step against `docker build` of the same directory ---------------
# Each context gets a trivial Dockerfile (`RUN true`, cached after the first run), so the engine's
# own receiving and unpacking of the context counts the same for both. The classic builder on
# both sides: acb's default, and `DOCKER_BUILDKIT=0` for the CLI.
if [ "$docker_ok" = 1 ] && [ "$ONLY" != steps ]; then
  log "build contexts: generating 900 MB of large files and 20,000 small files in $tmp"
  mkdir -p "$tmp/c900" "$tmp/c600" "$tmp/c300" "$tmp/csmall"
  for i in 1 2 3 4 5 6 7 8 9; do
    head -c 100000000 /dev/urandom >"$tmp/c900/f$i"
    # Hard links, one name per context: the same bytes on disk, regular files to both walkers.
    if [ "$i" -le 6 ]; then ln "$tmp/c900/f$i" "$tmp/c600/f$i"; fi
    if [ "$i" -le 3 ]; then ln "$tmp/c900/f$i" "$tmp/c300/f$i"; fi
  done
  python3 - "$tmp/csmall" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/d{d:03}/f{f:03}.txt", "wb") as out:
            out.write(os.urandom(1024))
PY
  ctx_names=(c300 c600 c900 csmall)
  for c in "${ctx_names[@]}"; do
    printf 'FROM %s\nRUN true\n' "$IMAGE" >"$tmp/$c/Dockerfile"
    printf 'steps:\n  - build: -t taskrun-bench-ctx-%s:tr .\n' "$c" >"$tmp/build-$c.yaml"
  done
  build_tr() { "$bin" run -f "$tmp/build-$1.yaml" --output plain --color never "$tmp/$1"; }
  build_old() { TASKRUN_HOST_CONTEXT=0 build_tr "$1"; }
  build_cli() { DOCKER_BUILDKIT=0 docker build -q -t "taskrun-bench-ctx-$1:cli" "$tmp/$1"; }
  for c in "${ctx_names[@]}"; do build_cli "$c" >/dev/null 2>&1 || die "docker build of $c failed"; done
  for i in $(seq "$CONTEXT_RUNS"); do
    log "context round $i/$CONTEXT_RUNS: 300, 600, 900 MB, 20,000 files (taskrun, taskrun with TASKRUN_HOST_CONTEXT=0, docker build)"
    for c in "${ctx_names[@]}"; do
      times_ms 1 build_tr "$c" >>"$tmp/ctx_tr_$c"
      times_ms 1 build_old "$c" >>"$tmp/ctx_old_$c"
      times_ms 1 build_cli "$c" >>"$tmp/ctx_cli_$c"
    done
  done
  /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" run -f "$tmp/build-c900.yaml" --output plain --color never "$tmp/c900" >/dev/null 2>&1 \
    || die "the 900 MB build failed"
  ctx_kb=$(tail -1 "$tmp/rss")
  cres() { echo "$(secs "$(median <"$tmp/$1")") ($(sort -n "$tmp/$1" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f–%.2f s", lo/1000, hi/1000}'))"; }
  cratio() { awk -v a="$(median <"$tmp/$1")" -v b="$(median <"$tmp/$2")" 'BEGIN {printf "%.2f", a/b}'; }
  for c in "${ctx_names[@]}"; do
    case $c in
      c300) what="one build over 300 MB (3 × 100 MB files)" ;;
      c600) what="one build over 600 MB (6 × 100 MB files)" ;;
      c900) what="one build over 900 MB (9 × 100 MB files)" ;;
      csmall) what="one build over 20,000 files of 1 KB (100 directories)" ;;
    esac
    r=$(cratio "ctx_tr_$c" "ctx_cli_$c")
    row "$what: taskrun" "$(cres "ctx_tr_$c"), ${r}× \`docker build\`" "≤ 1.0× (goal), ≤ 1.2×" "$(awk -v r="$r" 'BEGIN {print (r <= 1.0) ? "yes" : (r <= 1.2) ? "within 1.2×" : "**no**"}')"
    row "the same with \`TASKRUN_HOST_CONTEXT=0\` (seeded workspace read back, as before)" "$(cres "ctx_old_$c"), $(cratio "ctx_old_$c" "ctx_cli_$c")×" "info" "–"
    row "\`DOCKER_BUILDKIT=0 docker build -q\` of the same directory" "$(cres "ctx_cli_$c")" "baseline" "–"
  done
  row "one build over 900 MB: taskrun's peak RSS" "$(mb "$ctx_kb")" "bounded (≪ 200 MB)" "$(yesno "$(lt "$ctx_kb" 65536 && echo 1 || echo 0)")"
  for c in "${ctx_names[@]}"; do
    docker image rm "taskrun-bench-ctx-$c:tr" "taskrun-bench-ctx-$c:cli" >/dev/null 2>&1 || true
  done
fi

# --- the table -----------------------------------------------------------------------------------
cores=$(nproc)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
engine=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo "none")
echo
echo "taskrun $("$bin" --version | awk '{print $2}') ($built_from), $(date -u +%Y-%m-%d), $cores cores, $mem, Docker $engine, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Docker rows: median (min–max) of $RUNS interleaved runs; build contexts: $CONTEXT_RUNS interleaved runs; validate: $VALIDATE_RUNS runs."
echo
echo "| Benchmark | Result | Target | Met |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
