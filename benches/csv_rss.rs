//! Bulk CSV through the SDK: export and import of many contacts, rows per second and the peak
//! memory of the client, which must stay flat (the body is streamed both ways).
//!
//! The sandbox runs in a child process (this binary, started again with `--serve`), seeded in
//! memory, so the peak resident set (`VmHWM`) measured is the client's alone. Each size runs in
//! a client process of its own (started again with `--rows`), because a peak cannot be reset.
//!
//! ```text
//! cargo bench --bench csv_rss                          # 10,000 then 1,000,000 rows, compared
//! cargo bench --bench csv_rss -- --rows 50000          # one size
//! ```
//!
//! Per size: the export is streamed to a file (bytes as they arrive), exported again and parsed
//! row by row (`csv_rows`), then the file is imported (`Upload::file`, upsert by email: every
//! row updates its contact) and the job followed to completion.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::ContactImportStatus;
use marketing_api::upload::Upload;
use tokio::io::AsyncWriteExt;

#[path = "support/process.rs"]
mod process;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn serve(rows: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let unlimited = || marketing_api_sandbox::RateTier::new(1_000_000, Duration::from_secs(1));
        let sandbox = marketing_api_sandbox::Sandbox::builder()
            .standard_tier(unlimited())
            .premium_tier(unlimited())
            .start()
            .await
            .expect("the sandbox starts");
        sandbox.seed_contacts(rows);
        println!("{} {}", sandbox.base_url(), sandbox.api_key());
        std::io::stdout().flush().ok();
        // Serve until the parent closes our stdin.
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        sandbox.shutdown().await;
    });
}

/// One size, in this process: prints one line of figures and returns the peak RSS in KiB.
fn measure(rows: usize) -> u64 {
    let process::ServingChild {
        mut child,
        base_url,
        key,
    } = process::serve_in_child(&["--serve", &rows.to_string()]);
    let path =
        std::env::temp_dir().join(format!("marketing-api-export-{}.csv", std::process::id()));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let before = process::peak_rss_kib();
    let figures = runtime.block_on(async {
        let client = Client::builder(&base_url)
            .auth(ApiKey::new(&key).expect("the sandbox key"))
            // A million rows take longer than the default 30 s per attempt.
            .timeout(Duration::from_secs(1800))
            .build()
            .expect("a client");

        let started = Instant::now();
        let mut file = tokio::fs::File::create(&path).await.expect("a temp file");
        let mut body = client.contacts().export_csv().send().await.expect("export");
        let mut bytes = 0u64;
        while let Some(chunk) = body.try_next().await.expect("a chunk") {
            bytes += chunk.len() as u64;
            file.write_all(&chunk).await.expect("written");
        }
        file.flush().await.expect("flushed");
        let to_file = started.elapsed();

        let started = Instant::now();
        let mut parsed = client
            .contacts()
            .export_csv()
            .send()
            .await
            .expect("export")
            .csv_rows();
        let mut count = 0usize;
        while let Some(row) = parsed.try_next().await.expect("a row") {
            count += usize::from(row.get("email").is_some_and(|e| !e.is_empty()));
        }
        assert_eq!(count, rows, "every row parsed");
        let as_rows = started.elapsed();

        let started = Instant::now();
        let job = client
            .contacts()
            .import_csv(Upload::file(&path))
            .send()
            .await
            .expect("import accepted");
        let job = loop {
            let job = client
                .contacts()
                .get_import(&job.id)
                .send()
                .await
                .expect("the job");
            if job.status == ContactImportStatus::Completed {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let import = started.elapsed();
        assert_eq!(usize::try_from(job.updated).ok(), Some(rows), "{job:?}");
        assert_eq!(job.rejected, 0, "{:?}", job.rejected_rows);
        (bytes, to_file, as_rows, import)
    });
    let peak = process::peak_rss_kib();
    drop(child.stdin.take());
    let _ = child.wait();
    std::fs::remove_file(&path).ok();
    let (bytes, to_file, as_rows, import) = figures;
    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "{rows} rows ({:.1} MiB of CSV): export to file {:.0} rows/s, export parsed as rows {:.0} rows/s, import (upload + job) {:.0} rows/s; client peak RSS {:.1} MiB (before {:.1} MiB)",
        bytes as f64 / 1048576.0,
        per_s(to_file),
        per_s(as_rows),
        per_s(import),
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    peak
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(rows) = arg::<usize>(&args, "--serve") {
        return serve(rows);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(rows) = arg::<usize>(&args, "--rows") {
        let peak = measure(rows);
        println!("peak-kib {peak}");
        return;
    }
    // Each size in a fresh client process; then the comparison.
    let mut peaks = Vec::new();
    for rows in [10_000usize, 1_000_000] {
        let output = Command::new(std::env::current_exe().expect("this binary"))
            .args(["--rows", &rows.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("the client process runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{rows} rows failed: {text}");
        for line in text.lines().filter(|l| !l.starts_with("peak-kib ")) {
            println!("{line}");
        }
        let peak: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("peak-kib "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the peak");
        peaks.push(peak);
    }
    let ratio = peaks[1] as f64 / peaks[0].max(1) as f64;
    println!("client peak RSS at 1,000,000 rows / at 10,000 rows: {ratio:.2} (flat: at most 1.20)");
    assert!(
        ratio <= 1.2,
        "the client's memory grew with the export size"
    );
}
