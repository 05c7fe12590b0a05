//! What the SDK costs over hand-written `reqwest` + `serde_json` code doing the same calls.
//!
//! A canned loopback server (hyper, pre-serialized bodies, in a child process so its CPU time is
//! not counted) answers three calls: `GET /campaigns/{id}` (one entity), `GET /contacts?limit=100`
//! (a page of 100 contacts) and `POST /campaigns` (create, `201`). For each call and concurrency
//! (1 and 64 requests in flight), every run measures the SDK and two hand-written reference clients
//! side by side, in 8 interleaved slices each, rotating which goes first, and reports requests/s,
//! client CPU time per request (the process CPU clock, all threads of this process) and the SDK's
//! ratio to each reference; the figures are medians over the runs.
//!
//! The two references bracket what an integration without the SDK would write:
//! - **hand-written** does what a careful integration does: it sets the API key, `Accept` and a
//!   user agent as default headers and the SDK's default timeouts (10 s to connect, 30 s per
//!   request), checks the status, and decodes the envelope into its own structs (timestamps as
//!   `chrono::DateTime`, enums as strings); its POST sends an `Idempotency-Key` like the SDK.
//! - **lean** is the least that works: a default `reqwest::Client` (no timeouts, no default
//!   headers), one header per request (the API key), the status checked, the same structs. Its
//!   POST adds only what the call needs (the body's content type and an `Idempotency-Key`).
//!
//! The server answers with the headers the API sends on every response (`x-request-id`,
//! `RateLimit-Policy`, `RateLimit`), which the SDK reads and the references ignore.
//!
//! With `--observed` the three sides are SDK clients: one with an audit sink (JSON lines to a
//! file) and the metrics interceptor, one plain, and a second plain one — an A/A control, whose
//! ratio to the first shows what the benchmark reads when nothing differs. An observed
//! measurement ends when the audit writer has encoded and written what it queued (a flush), so
//! that work is counted on its side and not in the next one's. Besides the median
//! of the runs' ratios, each comparison reports the median over all slices of a slice's CPU
//! time against its neighbouring reference slice.
//!
//! ```text
//! cargo bench --bench overhead                  # 7 runs of every case
//! cargo bench --bench overhead -- --runs 3 --scale 0.2 get   # fewer, shorter runs; GET only
//! cargo bench --bench overhead --features metrics -- --observed   # audit sink + metrics
//!                                               # ("SDK") against the plain SDK ("hand-written")
//! cargo bench --bench overhead --features metrics -- --observed --pin   # client on one core,
//!                                               # server on the others (steadier on 2 cores)
//! cargo bench --bench overhead -- --only lean "get c=1"   # one side alone (sdk, hand or lean),
//!                                                         # e.g. under a profiler
//! benches/overhead-instructions.sh                        # instructions per request (callgrind)
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use marketing_api::Client;
use marketing_api::auth::ApiKey;
use marketing_api::models::{CampaignId, NewCampaign};
use serde::Serialize;

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{CAMPAIGN_ID, HandCampaign, HandContact, HandEnvelope};

const API_KEY: &str = "mk_test_overhead_bench_key";
/// Slices per run: both sides alternate this many times within one measurement.
const SLICES_PER_RUN: usize = 8;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        serve();
        return;
    }
    let options = Options::parse(&args);
    if options.print_requests {
        for (case, call, concurrency) in selected_cases(&options) {
            println!(
                "{} {case}",
                requests_per_measurement(call, concurrency, &options)
            );
        }
        return;
    }
    rustls::crypto::ring::default_provider()
        .install_default()
        .expect("no other crypto provider is installed");

    let mut server = Command::new(std::env::current_exe().expect("own path"));
    server
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if options.pin {
        pinning::split_cores(&mut server);
    }
    let mut server = server.spawn().expect("start the canned server");
    let mut port = String::new();
    BufReader::new(server.stdout.take().expect("piped stdout"))
        .read_line(&mut port)
        .expect("the server prints its port");
    let base_url = format!("http://127.0.0.1:{}/v1", port.trim());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(measure_all(&base_url, &options));
    // Closing the server's stdin ends it.
    drop(server.stdin.take());
    let _ = server.wait();
}

/// Command-line options (after `cargo bench --bench overhead --`).
struct Options {
    runs: usize,
    /// Multiplies every case's request count.
    scale: f64,
    /// Only cases whose name contains one of these; all when empty.
    filters: Vec<String>,
    /// Runs one side alone (for profilers such as `valgrind --tool=callgrind`).
    only: Option<Side>,
    /// Prints how many requests one measurement of each selected case sends, and exits.
    print_requests: bool,
    /// Compares the SDK with an audit sink and metrics (the `sdk` side) against the plain SDK
    /// (the `hand` side).
    observed: bool,
    /// Gives this process one core and the server the others, so neither waits for the other's
    /// core and no thread migrates (see [`pinning`]).
    pin: bool,
}

impl Options {
    fn parse(args: &[String]) -> Self {
        let mut options = Options {
            runs: 7,
            scale: 1.0,
            filters: Vec::new(),
            only: None,
            print_requests: false,
            observed: false,
            pin: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => options.runs = next_number(&mut args, "--runs"),
                "--scale" => options.scale = next_number(&mut args, "--scale"),
                "--dry-run-requests" => options.print_requests = true,
                "--observed" => options.observed = true,
                "--pin" => options.pin = true,
                "--only" => {
                    options.only = match args.next().map(String::as_str) {
                        Some("sdk") => Some(Side::Sdk),
                        Some("hand") => Some(Side::Hand),
                        Some("lean") => Some(Side::Lean),
                        _ => panic!("--only needs `sdk`, `hand` or `lean`"),
                    }
                }
                // Flags cargo passes to every bench binary.
                "--bench" | "--test" => {}
                other if other.starts_with('-') => panic!("unknown option {other}"),
                other => options.filters.push(other.to_owned()),
            }
        }
        assert!(options.runs > 0, "--runs must be at least 1");
        options
    }
}

fn next_number<'a, T: std::str::FromStr>(
    args: &mut impl Iterator<Item = &'a String>,
    flag: &str,
) -> T {
    args.next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{flag} needs a number"))
}

// ---------------------------------------------------------------------------------------------
// The canned server.

/// Serves canned answers on an ephemeral port until stdin closes.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("address").port());
        std::io::stdout().flush().expect("flush");
        let bodies = Arc::new(Bodies::new());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let bodies = Arc::clone(&bodies);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let bodies = Arc::clone(&bodies);
                        async move { Ok::<_, Infallible>(answer(&bodies, &request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        // Parent gone (stdin closed): exit.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await
        .expect("stdin watcher");
    });
}

/// Pre-serialized response bodies.
struct Bodies {
    campaign: Bytes,
    contacts_page: Bytes,
}

impl Bodies {
    fn new() -> Self {
        Self {
            campaign: Bytes::from(fixtures::campaign_envelope()),
            contacts_page: Bytes::from(fixtures::contacts_page()),
        }
    }
}

fn answer(bodies: &Bodies, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let (status, body) = match (request.method(), path) {
        (&Method::GET, "/v1/contacts") => (StatusCode::OK, bodies.contacts_page.clone()),
        (&Method::GET, p) if p.starts_with("/v1/campaigns/") => {
            (StatusCode::OK, bodies.campaign.clone())
        }
        (&Method::POST, "/v1/campaigns") => (StatusCode::CREATED, bodies.campaign.clone()),
        _ => (StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-request-id", "req_01JD6Z8Q3W2T9B5N7M4K1H0F8E")
        .header("ratelimit-policy", "\"default\";q=1000000;w=60")
        .header("ratelimit", "\"default\";r=999999;t=60")
        .body(Full::new(body))
        .expect("response")
}

// ---------------------------------------------------------------------------------------------
// The hand-written client: what an integration without the SDK would write.

#[derive(Serialize)]
struct HandNewCampaign<'a> {
    name: &'a str,
    budget_cents: i64,
    currency: &'a str,
}

/// The hand-written client's error: transport or decoding.
type HandError = Box<dyn std::error::Error + Send + Sync>;

struct Hand {
    http: reqwest::Client,
    base_url: String,
}

impl Hand {
    fn new(base_url: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        let mut key = reqwest::header::HeaderValue::from_static(API_KEY);
        key.set_sensitive(true);
        headers.insert("x-api-key", key);
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        // The SDK's defaults: a careful integration sets the same timeouts.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent("hand-written/1.0")
            .default_headers(headers)
            .build()
            .expect("reqwest client");
        Self {
            http,
            base_url: base_url.to_owned(),
        }
    }

    async fn get_campaign(&self, id: &str) -> Result<HandCampaign, HandError> {
        let body = self
            .http
            .get(format!("{}/campaigns/{id}", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let envelope: HandEnvelope<_> = serde_json::from_slice(&body)?;
        Ok(envelope.data)
    }

    async fn list_contacts(&self) -> Result<Vec<HandContact>, HandError> {
        let body = self
            .http
            .get(format!("{}/contacts?limit=100", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let envelope: HandEnvelope<_> = serde_json::from_slice(&body)?;
        Ok(envelope.data)
    }

    async fn create_campaign(&self, body: &HandNewCampaign<'_>) -> Result<HandCampaign, HandError> {
        let body = serde_json::to_vec(body)?;
        let body = self
            .http
            .post(format!("{}/campaigns", self.base_url))
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let envelope: HandEnvelope<_> = serde_json::from_slice(&body)?;
        Ok(envelope.data)
    }
}

// ---------------------------------------------------------------------------------------------
// The lean client: the least hand-written code that works, for the floor of per-request cost.

struct Lean {
    http: reqwest::Client,
    base_url: String,
}

impl Lean {
    fn new(base_url: &str) -> Self {
        Self {
            // No timeouts, no default headers: nothing reqwest has to set up per request.
            http: reqwest::Client::new(),
            base_url: base_url.to_owned(),
        }
    }

    /// Sends `request` with the API key, checks the status and decodes the envelope's `data`.
    async fn call<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Result<T, HandError> {
        let response = request.header("x-api-key", API_KEY).send().await?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()).into());
        }
        let body = response.bytes().await?;
        let envelope: HandEnvelope<T> = serde_json::from_slice(&body)?;
        Ok(envelope.data)
    }

    async fn get_campaign(&self, id: &str) -> Result<HandCampaign, HandError> {
        Self::call(self.http.get(format!("{}/campaigns/{id}", self.base_url))).await
    }

    async fn list_contacts(&self) -> Result<Vec<HandContact>, HandError> {
        Self::call(
            self.http
                .get(format!("{}/contacts?limit=100", self.base_url)),
        )
        .await
    }

    async fn create_campaign(&self, body: &HandNewCampaign<'_>) -> Result<HandCampaign, HandError> {
        let request = self
            .http
            .post(format!("{}/campaigns", self.base_url))
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body)?);
        Self::call(request).await
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Call {
    Get,
    List,
    Create,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Get => "get",
            Call::List => "list",
            Call::Create => "create",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Call::Get => "GET one campaign",
            Call::List => "GET a page of 100 contacts",
            Call::Create => "POST create campaign",
        }
    }

    /// Requests per measurement at `concurrency`: long enough to dwarf timer and rusage
    /// granularity, short enough for many runs.
    fn requests(self, concurrency: usize) -> usize {
        match (self, concurrency) {
            (Call::List, 1) => 1_000,
            (Call::List, _) => 4_000,
            (_, 1) => 4_000,
            _ => 20_000,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Side {
    Sdk,
    Hand,
    Lean,
}

impl Side {
    const ALL: [Side; 3] = [Side::Sdk, Side::Hand, Side::Lean];
    /// The ratios reported, `(side, reference)`: the SDK against each reference client, or
    /// with `--observed` the observed SDK and the control against the plain SDK.
    fn comparisons(observed: bool) -> [(Side, Side); 2] {
        if observed {
            [(Side::Sdk, Side::Hand), (Side::Lean, Side::Hand)]
        } else {
            [(Side::Sdk, Side::Hand), (Side::Sdk, Side::Lean)]
        }
    }

    /// The side's name; with `--observed` the three sides are SDK clients (see [`Clients`]).
    fn label(self, observed: bool) -> &'static str {
        match (self, observed) {
            (Side::Sdk, false) => "SDK",
            (Side::Hand, false) => "hand-written",
            (Side::Lean, false) => "lean",
            (Side::Sdk, true) => "observed",
            (Side::Hand, true) => "plain",
            (Side::Lean, true) => "plain again",
        }
    }
}

struct Clients {
    sdk: Client,
    hand: Hand,
    /// With `--observed`: the plain SDK takes the hand-written side's place (and `sdk` is the
    /// observed one).
    baseline: Option<Client>,
    /// With `--observed`: a second plain SDK client takes the lean side's place, an A/A
    /// control: its ratio to the first shows what the benchmark reads when nothing differs.
    control: Option<Client>,
    lean: Lean,
    campaign_id: CampaignId,
    new_campaign: NewCampaign,
}

/// One measurement.
#[derive(Clone, Copy)]
struct Sample {
    requests_per_second: f64,
    cpu_per_request: Duration,
}

/// One side's ratios to another over the runs of a case.
#[derive(Default)]
struct Ratios {
    cpu: Vec<f64>,
    rate: Vec<f64>,
    /// CPU time of each slice against the reference's slice next to it: many more samples
    /// than runs, each taken within a fraction of a second of its pair, so their median shrugs
    /// off a slow spell that lands on one side of one run.
    slice_cpu: Vec<f64>,
}

async fn measure_all(base_url: &str, options: &Options) {
    let plain = || {
        Client::builder(base_url)
            .auth(ApiKey::new(API_KEY).expect("valid key"))
            .build()
            .expect("SDK client")
    };
    let (sdk, baseline, control) = if options.observed {
        (observed::client(base_url), Some(plain()), Some(plain()))
    } else {
        (plain(), None, None)
    };
    let clients = Arc::new(Clients {
        sdk,
        baseline,
        control,
        hand: Hand::new(base_url),
        lean: Lean::new(base_url),
        campaign_id: CampaignId::new(CAMPAIGN_ID),
        new_campaign: NewCampaign::builder()
            .name("Winter sale")
            .budget_cents(500_000)
            .build()
            .with_currency("EUR"),
    });

    if options.observed {
        println!(
            "--observed: \"observed\" is the SDK with an audit sink and metrics, \"plain\" the SDK without, \"plain again\" a second plain client (A/A control: reads 1 but for the benchmark's own error)"
        );
    }
    println!(
        "SDK vs hand-written and lean reqwest + serde_json over loopback; {} runs per case, medians; \
         CPU = user + system time of this process per request ({} cores)",
        options.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (_, call, concurrency) in selected_cases(options) {
        let requests = requests_per_measurement(call, concurrency, options);
        if let Some(side) = options.only {
            run(&clients, call, side, concurrency, concurrency * 4).await;
            let (user, system) = process_cpu_split();
            let sample = run(&clients, call, side, concurrency, requests).await;
            let (user_after, system_after) = process_cpu_split();
            let per_request = |d: Duration| d.as_secs_f64() * 1e6 / requests as f64;
            println!(
                "{:<27} c={concurrency:<3} {} only: {:.0} req/s {:.1} µs CPU/req (user {:.1}, system {:.1})",
                call.describe(),
                side.label(options.observed),
                sample.requests_per_second,
                sample.cpu_per_request.as_secs_f64() * 1e6,
                per_request(user_after - user),
                per_request(system_after - system),
            );
            continue;
        }
        // Warm every pool and code path before measuring.
        for side in Side::ALL {
            run(&clients, call, side, concurrency, concurrency * 4).await;
        }
        let mut samples: BTreeMap<Side, Vec<Sample>> = BTreeMap::new();
        let mut ratios: BTreeMap<(Side, Side), Ratios> = BTreeMap::new();
        for round in 0..options.runs {
            // Each side goes first in turn.
            let mut order = Side::ALL;
            order.rotate_left(round % Side::ALL.len());
            // The machine's speed drifts (shared cores): each run interleaves the sides in
            // slices, so a slow spell lands on all of them rather than on one.
            let slice = (requests / SLICES_PER_RUN / concurrency).max(1) * concurrency;
            let mut totals: BTreeMap<Side, (Duration, Duration, usize)> = BTreeMap::new();
            for _ in 0..SLICES_PER_RUN {
                let mut cpu_of_slice = BTreeMap::new();
                for side in order {
                    let (wall, cpu) = run_timed(&clients, call, side, concurrency, slice).await;
                    let total = totals.entry(side).or_default();
                    total.0 += wall;
                    total.1 += cpu;
                    total.2 += slice;
                    cpu_of_slice.insert(side, cpu.as_secs_f64());
                }
                for (side, reference) in Side::comparisons(options.observed) {
                    ratios
                        .entry((side, reference))
                        .or_default()
                        .slice_cpu
                        .push(cpu_of_slice[&side] / cpu_of_slice[&reference]);
                }
            }
            let run: BTreeMap<Side, Sample> = totals
                .into_iter()
                .map(|(side, (wall, cpu, sent))| {
                    let sample = Sample {
                        requests_per_second: sent as f64 / wall.as_secs_f64(),
                        cpu_per_request: cpu / sent as u32,
                    };
                    (side, sample)
                })
                .collect();
            for (side, reference) in Side::comparisons(options.observed) {
                let (this, other) = (run[&side], run[&reference]);
                let entry = ratios.entry((side, reference)).or_default();
                entry
                    .cpu
                    .push(this.cpu_per_request.as_secs_f64() / other.cpu_per_request.as_secs_f64());
                entry
                    .rate
                    .push(this.requests_per_second / other.requests_per_second);
            }
            for (side, sample) in run {
                samples.entry(side).or_default().push(sample);
            }
        }
        report(
            call,
            concurrency,
            requests,
            options.observed,
            &samples,
            &mut ratios,
        );
    }
    if options.observed {
        observed::summary();
    }
}

/// The cases the filters select: `(name, call, concurrency)`.
fn selected_cases(options: &Options) -> Vec<(String, Call, usize)> {
    let mut cases = Vec::new();
    for call in [Call::Get, Call::List, Call::Create] {
        for concurrency in [1usize, 64] {
            let case = format!("{} c={concurrency}", call.name());
            if options.filters.is_empty() || options.filters.iter().any(|f| case.contains(f)) {
                cases.push((case, call, concurrency));
            }
        }
    }
    cases
}

/// Requests in one measurement, whole tasks' worth (each task sends the same number).
fn requests_per_measurement(call: Call, concurrency: usize, options: &Options) -> usize {
    let requested = ((call.requests(concurrency) as f64 * options.scale) as usize).max(concurrency);
    requested / concurrency * concurrency
}

fn report(
    call: Call,
    concurrency: usize,
    requests: usize,
    observed: bool,
    samples: &BTreeMap<Side, Vec<Sample>>,
    ratios: &mut BTreeMap<(Side, Side), Ratios>,
) {
    println!(
        "{} c={concurrency}, {requests} requests per side and run:",
        call.describe()
    );
    for side in Side::ALL {
        let mut rates: Vec<f64> = samples[&side]
            .iter()
            .map(|s| s.requests_per_second)
            .collect();
        let mut cpus: Vec<f64> = samples[&side]
            .iter()
            .map(|s| s.cpu_per_request.as_secs_f64() * 1e6)
            .collect();
        println!(
            "  {:<13} {:>8.0} req/s {:>7.1} µs CPU/req",
            side.label(observed),
            median(&mut rates),
            median(&mut cpus)
        );
    }
    for (side, reference) in Side::comparisons(observed) {
        let Ratios {
            cpu,
            rate,
            slice_cpu,
        } = ratios.entry((side, reference)).or_default();
        let mut sorted = cpu.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {:<24} CPU {:.3} (runs {:.2}–{:.2}; slices {:.3} over {}), req/s {:.3}",
            format!("{}/{}", side.label(observed), reference.label(observed)),
            median(cpu),
            sorted[0],
            sorted[sorted.len() - 1],
            median(slice_cpu),
            slice_cpu.len(),
            median(rate),
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Sends `requests` calls from `concurrency` tasks and measures wall and CPU time.
async fn run(
    clients: &Arc<Clients>,
    call: Call,
    side: Side,
    concurrency: usize,
    requests: usize,
) -> Sample {
    let total = requests / concurrency * concurrency;
    let (wall, cpu) = run_timed(clients, call, side, concurrency, requests).await;
    Sample {
        requests_per_second: total as f64 / wall.as_secs_f64(),
        cpu_per_request: cpu / total as u32,
    }
}

/// Sends `requests` calls (rounded down to whole tasks) from `concurrency` tasks; returns the
/// wall and CPU time they took.
async fn run_timed(
    clients: &Arc<Clients>,
    call: Call,
    side: Side,
    concurrency: usize,
    requests: usize,
) -> (Duration, Duration) {
    let per_task = requests / concurrency;
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let clients = Arc::clone(clients);
            tokio::spawn(async move {
                for _ in 0..per_task {
                    one_call(&clients, call, side).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("request task");
    }
    if side == Side::Sdk {
        // With `--observed`, the audit writer's share of these requests.
        observed::settle();
    }
    let wall = started.elapsed();
    (wall, process_cpu_time() - cpu_before)
}

/// One call; any failure aborts the benchmark (a failing call would measure nothing).
async fn one_call(clients: &Clients, call: Call, side: Side) {
    match (&clients.baseline, &clients.control, side) {
        (Some(baseline), _, Side::Hand) => return sdk_call(baseline, clients, call).await,
        (_, Some(control), Side::Lean) => return sdk_call(control, clients, call).await,
        _ => {}
    }
    match (call, side) {
        (Call::Get, Side::Sdk) => {
            let campaign = clients
                .sdk
                .campaigns()
                .get(&clients.campaign_id)
                .send()
                .await
                .expect("SDK get");
            std::hint::black_box(campaign);
        }
        (Call::Get, Side::Hand) => {
            let campaign = clients
                .hand
                .get_campaign(CAMPAIGN_ID)
                .await
                .expect("hand-written get");
            std::hint::black_box(campaign);
        }
        (Call::Get, Side::Lean) => {
            let campaign = clients
                .lean
                .get_campaign(CAMPAIGN_ID)
                .await
                .expect("lean get");
            std::hint::black_box(campaign);
        }
        (Call::List, Side::Sdk) => {
            let page = clients
                .sdk
                .contacts()
                .list()
                .limit(100)
                .send()
                .await
                .expect("SDK list");
            assert_eq!(page.items.len(), 100);
            std::hint::black_box(page);
        }
        (Call::List, Side::Hand) => {
            let contacts = clients
                .hand
                .list_contacts()
                .await
                .expect("hand-written list");
            assert_eq!(contacts.len(), 100);
            std::hint::black_box(contacts);
        }
        (Call::List, Side::Lean) => {
            let contacts = clients.lean.list_contacts().await.expect("lean list");
            assert_eq!(contacts.len(), 100);
            std::hint::black_box(contacts);
        }
        (Call::Create, Side::Sdk) => {
            let campaign = clients
                .sdk
                .campaigns()
                .create(&clients.new_campaign)
                .send()
                .await
                .expect("SDK create");
            std::hint::black_box(campaign);
        }
        (Call::Create, Side::Hand) => {
            let body = HandNewCampaign {
                name: &clients.new_campaign.name,
                budget_cents: clients.new_campaign.budget_cents,
                currency: "EUR",
            };
            let campaign = clients
                .hand
                .create_campaign(&body)
                .await
                .expect("hand-written create");
            std::hint::black_box(campaign);
        }
        (Call::Create, Side::Lean) => {
            let body = HandNewCampaign {
                name: &clients.new_campaign.name,
                budget_cents: clients.new_campaign.budget_cents,
                currency: "EUR",
            };
            let campaign = clients
                .lean
                .create_campaign(&body)
                .await
                .expect("lean create");
            std::hint::black_box(campaign);
        }
    }
}

/// One call through an SDK client.
async fn sdk_call(sdk: &Client, clients: &Clients, call: Call) {
    match call {
        Call::Get => {
            let campaign = sdk
                .campaigns()
                .get(&clients.campaign_id)
                .send()
                .await
                .expect("SDK get");
            std::hint::black_box(campaign);
        }
        Call::List => {
            let page = sdk
                .contacts()
                .list()
                .limit(100)
                .send()
                .await
                .expect("SDK list");
            assert_eq!(page.items.len(), 100);
            std::hint::black_box(page);
        }
        Call::Create => {
            let campaign = sdk
                .campaigns()
                .create(&clients.new_campaign)
                .send()
                .await
                .expect("SDK create");
            std::hint::black_box(campaign);
        }
    }
}

/// The observed SDK: an audit sink writing JSON lines to a file and the metrics interceptor
/// reporting to an in-process recorder that keeps counters and histogram sums per series, as
/// a Prometheus-style exporter does.
#[cfg(feature = "metrics")]
mod observed {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock, RwLock};

    use marketing_api::Client;
    use marketing_api::audit::JsonLinesSink;
    use marketing_api::auth::ApiKey;
    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    #[derive(Default)]
    struct Series {
        count: AtomicU64,
        /// Sum of the recorded values, in nanoseconds (or units × 10⁹).
        sum_nanos: AtomicU64,
    }

    impl metrics::CounterFn for Series {
        fn increment(&self, value: u64) {
            self.count.fetch_add(value, Ordering::Relaxed);
        }

        fn absolute(&self, value: u64) {
            self.count.fetch_max(value, Ordering::Relaxed);
        }
    }

    impl metrics::HistogramFn for Series {
        fn record(&self, value: f64) {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.sum_nanos
                .fetch_add((value * 1e9) as u64, Ordering::Relaxed);
        }
    }

    #[derive(Default)]
    struct Registry {
        series: RwLock<HashMap<Key, Arc<Series>>>,
    }

    impl Registry {
        fn get(&self, key: &Key) -> Arc<Series> {
            if let Some(series) = self.series.read().unwrap().get(key) {
                return series.clone();
            }
            self.series
                .write()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .clone()
        }
    }

    impl Recorder for Registry {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(self.get(key))
        }

        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }

        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(self.get(key))
        }
    }

    static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();
    static SINK: OnceLock<JsonLinesSink> = OnceLock::new();
    /// Removed at the end: a full run writes hundreds of megabytes of records.
    static AUDIT_FILE: OnceLock<std::path::PathBuf> = OnceLock::new();

    pub(super) fn client(base_url: &str) -> Client {
        let registry = *REGISTRY.get_or_init(|| {
            let registry: &'static Registry = Box::leak(Box::default());
            metrics::set_global_recorder(registry).expect("one recorder");
            registry
        });
        let _ = registry;
        let path = AUDIT_FILE.get_or_init(|| {
            std::env::temp_dir().join(format!(
                "marketing-api-overhead-audit-{}.jsonl",
                std::process::id()
            ))
        });
        let file = std::fs::File::create(path).expect("audit file");
        // Sized for the bursts of the c=64 cases: nothing may be dropped, or the comparison
        // would flatter the observed side.
        let sink = SINK.get_or_init(|| JsonLinesSink::with_buffer(file, 1 << 16));
        Client::builder(base_url)
            .auth(ApiKey::new(super::API_KEY).expect("valid key"))
            .audit_sink(sink.clone())
            .metrics()
            .build()
            .expect("observed SDK client")
    }

    /// Waits until the audit writer has encoded and written every record queued so far, so
    /// that its work counts in the observed side's measurement and not in the next side's.
    pub(super) fn settle() {
        if let Some(sink) = SINK.get() {
            assert!(sink.flush(), "the audit writer keeps up");
        }
    }

    pub(super) fn summary() {
        let sink = SINK.get().expect("observed runs");
        sink.flush();
        let requests: u64 = REGISTRY
            .get()
            .map(|r| {
                r.series
                    .read()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| k.name() == "http.client.request.duration")
                    .map(|(_, s)| s.count.load(Ordering::Relaxed))
                    .sum()
            })
            .unwrap_or(0);
        println!(
            "audit records written {}, dropped {}; requests counted by the metrics {}",
            sink.written(),
            sink.dropped(),
            requests
        );
        if let Some(path) = AUDIT_FILE.get() {
            let _ = std::fs::remove_file(path);
        }
        assert_eq!(
            sink.dropped(),
            0,
            "the audit buffer overflowed: the figures flatter it"
        );
    }
}

#[cfg(not(feature = "metrics"))]
mod observed {
    pub(super) fn client(_: &str) -> marketing_api::Client {
        panic!(
            "--observed needs the metrics feature: cargo bench --bench overhead --features metrics -- --observed"
        )
    }

    pub(super) fn summary() {}

    pub(super) fn settle() {}
}

/// User + system CPU time of this process (all threads), to the nanosecond: the scheduler's own
/// runtime account, where `getrusage`'s user/system split is apportioned from timer ticks.
fn process_cpu_time() -> Duration {
    // SAFETY: `clock_gettime` only writes into the zeroed struct we pass.
    let time = unsafe {
        let mut time: libc::timespec = std::mem::zeroed();
        let status = libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time);
        assert_eq!(status, 0, "the process CPU clock is readable");
        time
    };
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// `--pin`: on a machine with few cores the client and the canned server take turns on the same
/// cores, and a thread's CPU time then depends on where the scheduler put it and what ran there
/// before. Pinned, the client (every thread of this process) runs on the first allowed core and
/// the server on the rest: run-to-run spread narrows (GET c=1 on two cores: ratios of single runs
/// 0.92–1.27 unpinned, 1.00–1.10 pinned), at the price of a client runtime with one worker.
mod pinning {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    /// Pins this process to its first allowed core and makes `server` start on the others.
    /// Call before any other thread starts: threads inherit the affinity they are created with.
    pub(super) fn split_cores(server: &mut Command) {
        let allowed = allowed_cores();
        assert!(
            allowed.len() >= 2,
            "--pin needs at least two cores, this process may use {}",
            allowed.len()
        );
        let client = set_of(&allowed[..1]);
        let rest = set_of(&allowed[1..]);
        // SAFETY: `sched_setaffinity` is a plain system call, safe between fork and exec; the
        // closure touches only the set copied into it.
        unsafe {
            server.pre_exec(move || {
                if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &rest) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        // SAFETY: the set is initialised and its size passed alongside.
        let status = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &client) };
        assert_eq!(
            status,
            0,
            "pin the client: {}",
            std::io::Error::last_os_error()
        );
        println!(
            "--pin: client on core {}, server on {:?}",
            allowed[0],
            &allowed[1..]
        );
    }

    fn allowed_cores() -> Vec<usize> {
        // SAFETY: the zeroed set is a valid empty set, which the call fills.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let status = libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set);
            assert_eq!(status, 0, "read the allowed cores");
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&core| libc::CPU_ISSET(core, &set))
                .collect()
        }
    }

    fn set_of(cores: &[usize]) -> libc::cpu_set_t {
        // SAFETY: the zeroed set is a valid empty set, and every core came from
        // `allowed_cores`, below `CPU_SETSIZE`.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &core in cores {
                libc::CPU_SET(core, &mut set);
            }
            set
        }
    }
}

/// User and system CPU time of this process (all threads), apart.
fn process_cpu_split() -> (Duration, Duration) {
    // SAFETY: `getrusage` only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time =
        |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    (time(usage.ru_utime), time(usage.ru_stime))
}
