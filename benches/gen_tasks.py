#!/usr/bin/env python3
"""Generates the task files that scripts/bench.sh measures (into a directory it is given).

    python3 benches/gen_tasks.py OUT_DIR [--steps N]

Writes:
  validate-N.yaml   N steps with templates, sprig calls, `when` lists, env and build steps
                    (for `taskrun validate`; never run)
  values.yaml       the `.Values` the validate file uses
  seq20.yaml        20 sequential `cmd` steps, each `taskrun-busybox true`
  par4.yaml         4 parallel steps (`when: ["-"]`) sleeping 2 s, then a join step
  chain.yaml        the critical path of par4.yaml as a sequence: `sleep 2`, then the join step
  par4-5s.yaml      par4.yaml with steps sleeping 5 s (the fixed costs weigh less)
  zero.yaml         a task with no steps (taskrun's per-run setup and cleanup alone)
  empty.yaml        a task with one no-op step
  bigout.yaml       one step printing 200 MB of output
"""

import argparse
import os
import random


def validate_file(n: int) -> str:
    rnd = random.Random(42)  # deterministic: same file every run
    out = [
        "version: v1.1.0",
        "env:",
        "  - GLOBAL_FLAG=on",
        "steps:",
    ]
    for i in range(n):
        sid = f"s{i:05d}"
        out.append(f"  - id: {sid}")
        kind = i % 10
        if kind == 3:
            # a build step: tag with registry, a template-computed name and the run id
            out.append(
                f"    build: -t {{{{.Run.Registry}}}}/app{{{{ printf \"%05d\" {i} }}}}:{{{{.Run.ID}}}}"
                f" --build-arg V={{{{.Values.version}}}} -f Dockerfile ."
            )
        elif kind == 7:
            out.append(
                f"    cmd: {{{{.Run.Registry}}}}/tools:{{{{.Values.tag}}}} sh -c"
                f" 'echo {{{{ .Values.name | upper }}}} {{{{ .Run.ID }}}} {i}'"
            )
        else:
            out.append(
                f"    cmd: {{{{.Run.Registry}}}}/busybox:{{{{ .Values.tag | lower }}}}"
                f" echo step {i} {{{{ upper .Values.name }}}} {{{{ .Values.x }}}}"
            )
        if i > 0:
            if i % 5 == 0:
                out.append('    when: ["-"]')
            else:
                k = rnd.randint(1, min(3, i))
                lo = max(0, i - 50)
                deps = sorted(rnd.sample(range(lo, i), min(k, i - lo)))
                out.append("    when: [" + ", ".join(f"s{d:05d}" for d in deps) + "]")
        if i % 4 == 0:
            out.append("    env:")
            out.append(f"      - STEP_INDEX={i}")
            out.append("      - STEP_NAME={{ .Values.name | upper }}")
        if i % 20 == 0:
            out.append("    timeout: 600")
    out.append("")
    return "\n".join(out)


VALUES = """\
name: benchmark
tag: latest
version: "1.2.3"
x: some-value
"""


def seq_file(n: int) -> str:
    lines = ["version: v1.1.0", "steps:"]
    for i in range(n):
        lines += [f"  - id: s{i:02d}", "    cmd: taskrun-busybox true"]
    return "\n".join(lines) + "\n"


PAR4 = """\
version: v1.1.0
steps:
  - id: p1
    when: ["-"]
    cmd: taskrun-busybox sleep 2
  - id: p2
    when: ["-"]
    cmd: taskrun-busybox sleep 2
  - id: p3
    when: ["-"]
    cmd: taskrun-busybox sleep 2
  - id: p4
    when: ["-"]
    cmd: taskrun-busybox sleep 2
  - id: join
    when: [p1, p2, p3, p4]
    cmd: taskrun-busybox true
"""

JOIN_ONLY = """\
version: v1.1.0
steps:
  - id: p1
    cmd: taskrun-busybox sleep 2
  - id: join
    cmd: taskrun-busybox true
"""

ZERO = """\
version: v1.1.0
steps: []
"""

EMPTY = """\
version: v1.1.0
steps:
  - id: noop
    cmd: taskrun-busybox true
"""

BIGOUT = """\
version: v1.1.0
steps:
  - id: big
    cmd: taskrun-busybox sh -c 'yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 200000000'
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=10_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    def write(name: str, text: str) -> None:
        with open(os.path.join(a.out, name), "w") as f:
            f.write(text)

    write(f"validate-{a.steps}.yaml", validate_file(a.steps))
    write("values.yaml", VALUES)
    write("seq20.yaml", seq_file(20))
    write("par4.yaml", PAR4)
    write("chain.yaml", JOIN_ONLY)
    write("par4-5s.yaml", PAR4.replace("sleep 2", "sleep 5"))
    write("zero.yaml", ZERO)
    write("empty.yaml", EMPTY)
    write("bigout.yaml", BIGOUT)


if __name__ == "__main__":
    main()
