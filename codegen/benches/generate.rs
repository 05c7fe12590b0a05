//! How long the generator takes: every stage (parse, model, emit, format) on the bundled contract
//! and on the 493-operation fixture, as the build script runs it.
//!
//! `cargo bench -p marketing-api-codegen --bench generate [-- RUNS]` prints the median and range
//! of RUNS runs (default 7) per spec.
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7)
        .max(1);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for (name, path) in [
        (
            "openapi.yaml (bundled contract)",
            format!("{root}/openapi.yaml"),
        ),
        (
            "fixtures/large.yaml (493 operations, 1,050 schemas)",
            format!("{root}/codegen/tests/fixtures/large.yaml"),
        ),
    ] {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let started = Instant::now();
            match marketing_api_codegen::generate(&text) {
                Ok(generated) => {
                    bytes = generated.models.len() + generated.api.len() + generated.events.len();
                }
                Err(e) => {
                    eprintln!("{path}: {e}");
                    std::process::exit(1);
                }
            }
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{name}: median {:.0} ms (min {:.0}, max {:.0}) over {runs} runs; {:.1} MiB of Rust",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
}
