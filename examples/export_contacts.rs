//! A resumable export of every contact to JSON lines, with a progress line.
//!
//! ```text
//! cargo run --example export_contacts
//! cargo run --example export_contacts -- --out contacts.jsonl --contacts 5000
//! ```
//!
//! Without `--base-url` the example starts a sandbox in this process, seeds it with contacts,
//! and shows the interesting part: the first export is interrupted part-way (as if the process
//! were killed), the second run with resume picks up at the saved cursor, and the result is
//! checked to hold every contact exactly once.
//!
//! Against a running server (e.g. `cargo run -p marketing-api-sandbox -- --port 8080`) it does
//! one export; run it again with `--resume` after interrupting it:
//!
//! ```text
//! cargo run --example export_contacts -- --base-url http://127.0.0.1:8080/v1 \
//!     --api-key <key> --out contacts.jsonl [--resume] [--stop-after-pages 3]
//! ```
//!
//! After every page the lines are flushed to disk and then a checkpoint file (`<out>.checkpoint`)
//! records the cursor of the next page and the length of the output at that point. Resuming
//! truncates the output to that length first, so a crash between writing lines and writing the
//! checkpoint cannot leave a page in the file twice.

use std::collections::HashSet;
use std::error::Error;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{ContactStatus, NewContact};
use marketing_api_sandbox::{RateTier, Sandbox};
use serde::{Deserialize, Serialize};

/// Contacts per page; 100 is the API's maximum.
const PAGE_SIZE: i32 = 100;

/// Where an export stands, saved after every page.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    /// The cursor of the next page; `None` before the first page and after the last.
    cursor: Option<String>,
    /// Length of the output file when this checkpoint was taken.
    bytes: u64,
    /// Contacts written so far.
    exported: u64,
    /// The export reached the last page.
    done: bool,
}

#[derive(Debug)]
struct Options {
    out: PathBuf,
    resume: bool,
    stop_after_pages: Option<usize>,
    base_url: Option<String>,
    api_key: Option<String>,
    contacts: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_args()?;
    match &options.base_url {
        Some(base_url) => {
            let key = options
                .api_key
                .clone()
                .or_else(|| std::env::var("MARKETING_API_KEY").ok())
                .ok_or("pass --api-key or set MARKETING_API_KEY")?;
            let client = Client::builder(base_url).auth(ApiKey::new(key)?).build()?;
            let run = export(
                &client,
                &options.out,
                options.resume,
                options.stop_after_pages,
            )
            .await?;
            println!("{run}");
            Ok(())
        }
        None => demo(options).await,
    }
}

/// Seeds an in-process sandbox, exports with an interruption, resumes, and checks the file.
async fn demo(options: Options) -> Result<(), Box<dyn Error>> {
    // A generous rate limit so seeding takes a moment, not half a minute.
    let sandbox = Sandbox::builder()
        .standard_tier(RateTier::new(20_000, Duration::from_secs(1)))
        .start()
        .await?;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key())?)
        .build()?;
    println!("Sandbox listening on {}", sandbox.base_url());

    let seeding = Instant::now();
    seed(&client, options.contacts).await?;
    println!(
        "1. Seeded {} contacts in {:.1} s",
        sandbox.contact_count(),
        seeding.elapsed().as_secs_f64()
    );

    let pages_before_stop = options
        .stop_after_pages
        .unwrap_or_else(|| (options.contacts / PAGE_SIZE as usize / 2).max(1));
    println!(
        "2. Export to {}, stopping after {pages_before_stop} pages (simulated crash)",
        options.out.display()
    );
    let first = export(&client, &options.out, false, Some(pages_before_stop)).await?;
    println!("   {first}");

    println!("3. Run again with resume");
    let second = export(&client, &options.out, true, None).await?;
    println!("   {second}");

    println!("4. Check the file");
    let (lines, unique) = count_lines(&options.out)?;
    println!(
        "   {lines} lines, {unique} distinct contact ids, {} contacts on the server: {}",
        sandbox.contact_count(),
        if lines == unique && unique == sandbox.contact_count() {
            "complete, no duplicates"
        } else {
            "MISMATCH"
        }
    );
    sandbox.shutdown().await;
    if lines != unique {
        return Err("the export holds duplicates".into());
    }
    Ok(())
}

/// What one run of [`export`] did.
struct Run {
    resumed_at: u64,
    written: u64,
    pages: usize,
    checkpoint: Checkpoint,
    elapsed: Duration,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.resumed_at > 0 {
            write!(f, "resumed after {} contacts; ", self.resumed_at)?;
        }
        write!(
            f,
            "wrote {} contacts in {} pages ({:.2} s); {} in total, {}",
            self.written,
            self.pages,
            self.elapsed.as_secs_f64(),
            self.checkpoint.exported,
            if self.checkpoint.done {
                "finished"
            } else {
                "checkpoint saved, resume to continue"
            }
        )
    }
}

/// Exports every contact to `out` as JSON lines, page by page, checkpointing after each page.
async fn export(
    client: &Client,
    out: &Path,
    resume: bool,
    stop_after_pages: Option<usize>,
) -> Result<Run, Box<dyn Error>> {
    let started = Instant::now();
    let checkpoint_path = checkpoint_path(out);
    let mut checkpoint = if resume && checkpoint_path.exists() {
        serde_json::from_slice::<Checkpoint>(&fs::read(&checkpoint_path)?)?
    } else {
        Checkpoint::default()
    };
    let resumed_at = checkpoint.exported;
    if checkpoint.done {
        return Ok(Run {
            resumed_at,
            written: 0,
            pages: 0,
            checkpoint,
            elapsed: started.elapsed(),
        });
    }
    // Drop whatever was written after the checkpoint: it belongs to a page not yet recorded.
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(out)?
        .set_len(checkpoint.bytes)?;
    let mut file = OpenOptions::new().append(true).open(out)?;

    let mut list = client.contacts().list().limit(PAGE_SIZE);
    if let Some(cursor) = &checkpoint.cursor {
        list = list.cursor(cursor.clone());
    }
    let mut pages = list.pages();
    let (mut written, mut page_count) = (0u64, 0usize);
    while let Some(page) = pages.try_next().await? {
        let mut lines = Vec::with_capacity(page.items.len() * 256);
        for contact in &page.items {
            serde_json::to_writer(&mut lines, contact)?;
            lines.push(b'\n');
        }
        file.write_all(&lines)?;
        file.sync_data()?;
        written += page.items.len() as u64;
        page_count += 1;
        checkpoint = Checkpoint {
            cursor: page.resume_cursor().map(str::to_owned),
            bytes: file.metadata()?.len(),
            exported: checkpoint.exported + page.items.len() as u64,
            done: page.resume_cursor().is_none(),
        };
        save_checkpoint(&checkpoint_path, &checkpoint)?;
        print!("\r   exported {:>6} contacts", checkpoint.exported);
        std::io::stdout().flush()?;
        if stop_after_pages.is_some_and(|stop| page_count >= stop) {
            break;
        }
    }
    println!();
    Ok(Run {
        resumed_at,
        written,
        pages: page_count,
        checkpoint,
        elapsed: started.elapsed(),
    })
}

fn checkpoint_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// Writes the checkpoint to a temporary file and renames it over the old one, so a crash leaves
/// either the old or the new checkpoint, never half of one.
fn save_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<(), Box<dyn Error>> {
    let tmp = path.with_extension("checkpoint.tmp");
    let mut file = File::create(&tmp)?;
    serde_json::to_writer(&mut file, checkpoint)?;
    file.sync_data()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Lines in the export and distinct contact ids among them.
fn count_lines(out: &Path) -> Result<(usize, usize), Box<dyn Error>> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    let mut ids = HashSet::new();
    let mut lines = 0;
    for line in BufReader::new(File::open(out)?).lines() {
        let line = line?;
        ids.insert(serde_json::from_str::<IdOnly>(&line)?.id);
        lines += 1;
    }
    Ok((lines, ids.len()))
}

/// Creates `count` contacts, 16 requests at a time.
async fn seed(client: &Client, count: usize) -> Result<(), marketing_api::Error> {
    stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            async move {
                let status = if i % 7 == 0 {
                    ContactStatus::Unsubscribed
                } else {
                    ContactStatus::Subscribed
                };
                let contact = NewContact::builder()
                    .email(format!("person{i:05}@example.com"))
                    .build()
                    .with_first_name(format!("Person {i}"))
                    .with_status(status);
                client.contacts().create(&contact).send().await.map(drop)
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

fn parse_args() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        out: std::env::temp_dir().join("marketing-api-contacts.jsonl"),
        resume: false,
        stop_after_pages: None,
        base_url: None,
        api_key: None,
        contacts: 2_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => options.out = PathBuf::from(value()?),
            "--resume" => options.resume = true,
            "--stop-after-pages" => options.stop_after_pages = Some(value()?.parse()?),
            "--base-url" => options.base_url = Some(value()?),
            "--api-key" => options.api_key = Some(value()?),
            "--contacts" => options.contacts = value()?.parse()?,
            "-h" | "--help" => {
                println!(
                    "usage: export_contacts [--out PATH] [--contacts N] [--stop-after-pages N]\n       \
                     export_contacts --base-url URL [--api-key KEY] [--out PATH] [--resume] \
                     [--stop-after-pages N]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    Ok(options)
}
