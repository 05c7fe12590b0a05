//! Peak memory of a creative asset upload: a 50 MB file streamed from disk through the SDK
//! into the sandbox, against the same file read into memory first.
//!
//! The sandbox runs in a child process (this binary, started again with `--serve`), so the
//! peak resident set (`VmHWM` of `/proc/self/status`) measured here is the client's alone.
//!
//! ```text
//! cargo bench --bench upload_rss
//! cargo bench --bench upload_rss -- --mb 50 --in-memory   # the comparison: the file in a Vec
//! ```

use std::io::Write;
use std::time::Instant;

use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::NewCreativeAsset;
use marketing_api::multipart::Multipart;

#[path = "support/process.rs"]
mod process;

fn serve() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let sandbox = marketing_api_sandbox::Sandbox::start()
            .await
            .expect("the sandbox starts");
        println!("{} {}", sandbox.base_url(), sandbox.api_key());
        std::io::stdout().flush().ok();
        // Serve until the parent closes our stdin.
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        sandbox.shutdown().await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return serve();
    }
    let mb: u64 = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let in_memory = args.iter().any(|a| a == "--in-memory");
    let _ = rustls::crypto::ring::default_provider().install_default();

    let path =
        std::env::temp_dir().join(format!("marketing-api-upload-{}.mp4", std::process::id()));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..mb {
            file.write_all(&block).expect("temp file written");
        }
    }
    let process::ServingChild {
        mut child,
        base_url,
        key,
    } = process::serve_in_child(&["--serve"]);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let before = process::peak_rss_kib();
    let started = Instant::now();
    let asset = runtime.block_on(async {
        let client = Client::builder(&base_url)
            .auth(ApiKey::new(&key).expect("the sandbox key"))
            .build()
            .expect("a client");
        let metadata = NewCreativeAsset::builder().name("Teaser").build();
        let form = Multipart::new().json("metadata", &metadata).expect("JSON");
        let form = if in_memory {
            form.file(
                "file",
                "teaser.mp4",
                "video/mp4",
                std::fs::read(&path).expect("read"),
            )
        } else {
            form.file_path("file", &path, "video/mp4")
        };
        client.creatives().upload_creative_asset(form).send().await
    });
    let elapsed = started.elapsed();
    let after = process::peak_rss_kib();
    drop(child.stdin.take());
    let _ = child.wait();
    std::fs::remove_file(&path).ok();
    let asset = asset.expect("the upload succeeds");
    assert_eq!(u64::try_from(asset.size_bytes).ok(), Some(mb * 1024 * 1024));
    println!(
        "upload of {mb} MiB ({}): {:.0} MiB/s; client peak RSS {:.1} MiB (before the upload {:.1} MiB), {:.0}% of the file",
        if in_memory {
            "file read into memory"
        } else {
            "streamed from disk"
        },
        mb as f64 / elapsed.as_secs_f64(),
        after as f64 / 1024.0,
        before as f64 / 1024.0,
        100.0 * after as f64 / 1024.0 / mb as f64,
    );
}
