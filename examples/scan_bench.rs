//! Times the Dockerfile scanner on a large generated Dockerfile.
//!
//! `cargo run --release --example scan_bench` generates a ~5,000-line Dockerfile with 200 stages
//! (global ARGs, `--platform` flags, line continuations, heredocs, `COPY --from` of stages and
//! images, `RUN --mount from=`), scans it 100 times and prints the mean time per scan.

use taskrun::deps;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

const STAGES: usize = 200;
const RUNS: u32 = 100;

fn generate() -> String {
    let mut d = String::new();
    d.push_str("# syntax=docker/dockerfile:1.7\n# check=error=true\n\n");
    for i in 0..20 {
        let _ = writeln!(d, "ARG V{i}=\"{i}.0\"");
    }
    d.push_str("ARG REGISTRY=mcr.microsoft.com\nARG TAG=8.0\n\n");
    for i in 0..STAGES {
        match i % 4 {
            0 => {
                let _ = writeln!(
                    d,
                    "FROM --platform=$BUILDPLATFORM \\\n    ${{REGISTRY}}/dotnet/sdk:${{TAG:-8.0}} \\\n    AS s{i}"
                );
            }
            1 => {
                let _ = writeln!(d, "FROM s{} AS s{i}", i - 1);
            }
            2 => {
                let _ = writeln!(d, "from node:${{V{}}}-alpine as S{i}", i % 20);
            }
            _ => {
                let _ = writeln!(d, "FROM example.azurecr.io/team/app{i}:1.$V3 AS s{i}");
            }
        }
        d.push_str("# build steps\nWORKDIR /src\nENV A=1 \\\n    B=2\n");
        d.push_str("RUN apt-get update \\\n    # comment inside\n    && apt-get install -y \\\n        curl \\\n        git \\\n        make \\\n    && rm -rf /var/lib/apt/lists/*\n");
        d.push_str("RUN --mount=type=cache,target=/root/.cache \\\n    --mount=type=bind,from=busybox:1.36,source=/bin,target=/b \\\n    make build\n");
        d.push_str("COPY <<EOF /etc/config\nFROM not-a-stage\nkey=value\nEOF\n");
        if i > 0 {
            let _ = writeln!(d, "COPY --from=s{} /out /in", i - 1);
            let _ = writeln!(d, "COPY --from={} /out2 /in2", i - 1);
        }
        let _ = writeln!(d, "COPY --from=golang:1.{} /usr/local/go /go", i % 10);
        d.push_str("ARG LOCAL=1\nEXPOSE 80\n\n");
    }
    d
}

fn main() {
    let text = generate();
    let lines = text.lines().count();
    let opts = deps::ScanOptions {
        build_args: vec![("TAG".into(), Some("9.0".into()))],
        target: None,
        platform: Some("linux/arm64".into()),
    };
    let first = match deps::scan(&text, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scan failed: {e} at {:?}", e.span);
            std::process::exit(1);
        }
    };
    let mut total = Duration::ZERO;
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let scan = deps::scan(black_box(&text), black_box(&opts));
        let took = start.elapsed();
        black_box(scan.is_ok());
        total += took;
        best = best.min(took);
    }
    println!(
        "{lines} lines, {} bytes, {} stages, {} build-time deps, runtime {:?}",
        text.len(),
        first.stages.len(),
        first.buildtime.len(),
        first.runtime.as_ref().map(|u| u.name.as_str())
    );
    println!(
        "{RUNS} scans: mean {:.3} ms, best {:.3} ms",
        total.as_secs_f64() * 1000.0 / f64::from(RUNS),
        best.as_secs_f64() * 1000.0
    );
}
