//! Streams contacts from a loopback server through `client.contacts().list().limit(100).stream()`.
//!
//! Reports items/s and peak RSS (`VmHWM`) when streaming 10,000 and 1,000,000 items, then items/s
//! with and without prefetch when the server takes 5 ms per page and the consumer spends 5 ms on
//! each page. Each case runs in a fresh child process (this binary re-executed with
//! `--case ...`), so every peak RSS belongs to that case alone.
//!
//! Run with `cargo bench --bench pagination`.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::TryStreamExt;
use marketing_api::Client;
use serde::Deserialize;

// Only the peak-RSS reader is used here, not the serving child.
#[allow(dead_code)]
#[path = "support/process.rs"]
mod process;

/// Items per page, the API's maximum.
const PAGE_SIZE: usize = 100;
/// Distinct pre-serialized page bodies the server cycles through: enough to be realistic JSON,
/// few enough that the server's memory does not grow with the number of items served.
const DISTINCT_PAGES: usize = 64;
/// Pages streamed in the prefetch comparison.
const DELAYED_PAGES: usize = 150;
const SERVER_DELAY: Duration = Duration::from_millis(5);
const CONSUMER_DELAY: Duration = Duration::from_millis(5);

/// One measured case, run in its own process.
#[derive(Debug, Clone, Copy)]
struct Case {
    items: usize,
    delayed: bool,
    prefetch: bool,
}

impl Case {
    fn args(self) -> [String; 4] {
        [
            "--case".to_owned(),
            self.items.to_string(),
            self.delayed.to_string(),
            self.prefetch.to_string(),
        ]
    }

    fn parse(args: &[String]) -> Option<Self> {
        let at = args.iter().position(|a| a == "--case")?;
        Some(Self {
            items: args.get(at + 1)?.parse().ok()?,
            delayed: args.get(at + 2)?.parse().ok()?,
            prefetch: args.get(at + 3)?.parse().ok()?,
        })
    }

    fn label(self) -> String {
        let mode = if self.prefetch {
            "prefetch"
        } else {
            "sequential"
        };
        if self.delayed {
            format!(
                "{} items, {} ms/page server + {} ms/page consumer, {mode}",
                self.items,
                SERVER_DELAY.as_millis(),
                CONSUMER_DELAY.as_millis()
            )
        } else {
            format!("{} items, no delay, {mode}", self.items)
        }
    }
}

/// What a child reports back.
struct Measured {
    items: usize,
    seconds: f64,
    peak_rss_kib: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match Case::parse(&args) {
        Some(case) => run_child(case),
        None => run_parent(),
    }
}

fn run_parent() {
    let started = Instant::now();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this benchmark's executable: {e}");
            std::process::exit(1);
        }
    };
    let delayed_items = DELAYED_PAGES * PAGE_SIZE;
    let cases = [
        Case {
            items: 10_000,
            delayed: false,
            prefetch: false,
        },
        Case {
            items: 1_000_000,
            delayed: false,
            prefetch: false,
        },
        Case {
            items: delayed_items,
            delayed: true,
            prefetch: false,
        },
        Case {
            items: delayed_items,
            delayed: true,
            prefetch: true,
        },
    ];
    println!(
        "{:<62} {:>10} {:>9} {:>12} {:>14}",
        "case", "items", "secs", "items/s", "peak RSS MiB"
    );
    let mut rates = Vec::new();
    for case in cases {
        let output = Command::new(&exe).args(case.args()).output();
        let measured = match output {
            Ok(out) if out.status.success() => parse_report(&String::from_utf8_lossy(&out.stdout)),
            Ok(out) => {
                eprintln!(
                    "case `{}` failed: {}\n{}",
                    case.label(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                None
            }
            Err(e) => {
                eprintln!("cannot run case `{}`: {e}", case.label());
                None
            }
        };
        let Some(m) = measured else {
            std::process::exit(1);
        };
        let rate = m.items as f64 / m.seconds;
        rates.push(rate);
        println!(
            "{:<62} {:>10} {:>9.3} {:>12.0} {:>14.1}",
            case.label(),
            m.items,
            m.seconds,
            rate,
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    println!(
        "prefetch speed-up with {} ms server + {} ms consumer per page: {:.2}x",
        SERVER_DELAY.as_millis(),
        CONSUMER_DELAY.as_millis(),
        rates[3] / rates[2]
    );
    println!(
        "total benchmark time: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn parse_report(stdout: &str) -> Option<Measured> {
    let line = stdout.lines().find(|l| l.starts_with("RESULT "))?;
    let mut items = None;
    let mut seconds = None;
    let mut peak = None;
    for field in line.split_whitespace().skip(1) {
        let (name, value) = field.split_once('=')?;
        match name {
            "items" => items = value.parse().ok(),
            "seconds" => seconds = value.parse().ok(),
            "peak_rss_kib" => peak = value.parse().ok(),
            _ => {}
        }
    }
    Some(Measured {
        items: items?,
        seconds: seconds?,
        peak_rss_kib: peak?,
    })
}

fn run_child(case: Case) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (items, seconds) = runtime.block_on(stream_case(case));
    drop(runtime);
    println!(
        "RESULT items={items} seconds={seconds} peak_rss_kib={}",
        process::peak_rss_kib()
    );
}

/// Serves `total` contacts in pages of 100 and streams them all; returns the count and seconds.
async fn stream_case(case: Case) -> (usize, f64) {
    let pages = case.items.div_ceil(PAGE_SIZE);
    let server = Arc::new(PageServer::new(pages, case.delayed.then_some(SERVER_DELAY)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("the bound address");
    let app = Router::new()
        .route("/v1/contacts", get(list_contacts))
        .with_state(server);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder(format!("http://{address}/v1"))
        .build()
        .expect("a loopback client");
    let mut stream = client
        .contacts()
        .list()
        .limit(PAGE_SIZE as i32)
        .stream()
        .prefetch(case.prefetch);

    let started = Instant::now();
    let mut count = 0usize;
    let mut id_bytes = 0usize;
    while let Some(contact) = stream.try_next().await.expect("every page arrives") {
        count += 1;
        id_bytes += contact.id.as_str().len();
        // The first item of a page: the consumer works on the page for a while.
        if case.delayed && stream.remaining_in_page() == PAGE_SIZE - 1 {
            tokio::time::sleep(CONSUMER_DELAY).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(count, pages * PAGE_SIZE, "every item arrives once");
    assert!(id_bytes > count, "items were decoded");
    (count, seconds)
}

/// Pre-serialized page bodies: only the small `meta` object is written per request.
struct PageServer {
    /// `{"data":[...100 contacts...],"meta":` for each distinct page.
    data: Vec<Vec<u8>>,
    pages: usize,
    delay: Option<Duration>,
}

impl PageServer {
    fn new(pages: usize, delay: Option<Duration>) -> Self {
        let data = (0..DISTINCT_PAGES)
            .map(|page| {
                let contacts: Vec<serde_json::Value> = (0..PAGE_SIZE)
                    .map(|i| contact_json(page * PAGE_SIZE + i))
                    .collect();
                let mut body = br#"{"data":"#.to_vec();
                serde_json::to_writer(&mut body, &contacts).expect("contacts serialize");
                body.extend_from_slice(br#","meta":"#);
                body
            })
            .collect();
        Self { data, pages, delay }
    }

    fn body(&self, page: usize) -> Vec<u8> {
        let prefix = &self.data[page % DISTINCT_PAGES];
        let next = page + 1;
        let meta = if next < self.pages {
            format!(
                r#"{{"request_id":"req_{page}","next_cursor":"p{next}","has_more":true,"total_count":{}}}}}"#,
                self.pages * PAGE_SIZE
            )
        } else {
            format!(
                r#"{{"request_id":"req_{page}","next_cursor":null,"has_more":false,"total_count":{}}}}}"#,
                self.pages * PAGE_SIZE
            )
        };
        let mut body = Vec::with_capacity(prefix.len() + meta.len());
        body.extend_from_slice(prefix);
        body.extend_from_slice(meta.as_bytes());
        body
    }
}

fn contact_json(n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("con_{n:07}"),
        "email": format!("contact{n}@example.com"),
        "phone": "+14155550100",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "status": "subscribed",
        "attributes": {"plan": "pro", "seats": n % 50, "source": "import"},
        "created_at": "2024-03-01T10:00:00Z",
        "updated_at": "2024-03-02T11:30:00Z"
    })
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

async fn list_contacts(
    State(server): State<Arc<PageServer>>,
    Query(query): Query<ListQuery>,
) -> impl IntoResponse {
    let page = query
        .cursor
        .as_deref()
        .and_then(|c| c.strip_prefix('p'))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    if let Some(delay) = server.delay {
        tokio::time::sleep(delay).await;
    }
    ([(CONTENT_TYPE, "application/json")], server.body(page))
}
