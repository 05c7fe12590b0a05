//! The fleet, as processes: child processes (this same binary, started with a role in
//! `FLEET_CHILD`) share one real `redis-server`, and the parent checks what they did together
//! on the servers it runs. Needs `redis-server`; see `fleet/redis_server.rs` for the skip rule.
//!
//! `cargo test --features redis --test fleet [-- NAME]` runs every scenario, or those whose
//! name contains NAME.

#[path = "fleet/redis_server.rs"]
mod redis_server;
#[path = "fleet/servers.rs"]
mod servers;

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use marketing_api::Client;
use marketing_api::auth::{ApiKey, OAuth2, RenewalRequest, TokenStore};
use marketing_api::fleet::SharedRateGate;
use marketing_api::fleet::redis::{FailureMode, GcraLimit, RedisFleet};
use marketing_api::retry::RetryPolicy;
use marketing_api::webhooks::ReplayGuard;
use marketing_api_sandbox::{RateTier, Sandbox};
use redis_server::RedisServer;

const CHILD_ROLE: &str = "FLEET_CHILD";

/// One scenario, run by the parent against a freshly restarted (empty) Redis.
type Scenario = fn(&mut RedisServer);

fn main() {
    if let Ok(role) = std::env::var(CHILD_ROLE) {
        child(&role);
        return;
    }
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let scenarios: [(&str, Scenario); 8] = [
        ("token_one_request_per_expiry", token_one_request_per_expiry),
        ("webhook_ids_accepted_once", webhook_ids_accepted_once),
        (
            "rate_gate_keeps_fleet_under_quota",
            rate_gate_keeps_fleet_under_quota,
        ),
        ("redis_killed_mid_run", redis_killed_mid_run),
        ("redis_down_never_hangs", redis_down_never_hangs),
        ("stalled_holder_is_fenced_out", stalled_holder_is_fenced_out),
        (
            "empty_redis_keeps_the_rotated_refresh_token",
            empty_redis_keeps_the_rotated_refresh_token,
        ),
        (
            "redis_behind_a_process_gets_its_tokens_back",
            redis_behind_a_process_gets_its_tokens_back,
        ),
    ];
    let Some(mut redis) = RedisServer::start_or_skip("fleet") else {
        return;
    };
    for (name, scenario) in scenarios {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let started = Instant::now();
        eprintln!("test fleet::{name} ...");
        redis.restart();
        scenario(&mut redis);
        eprintln!(
            "test fleet::{name} ... ok ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn unix_ms(at: SystemTime) -> u64 {
    u64::try_from(at.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for a child"))
}

fn env_u64(name: &str) -> u64 {
    env(name).parse().unwrap()
}

/// Sleeps until the Unix millisecond `at`, so the children start a round together.
async fn until(at: u64) {
    let now = unix_ms(SystemTime::now());
    tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await;
}

/// Runs `count` children with `role` and the given variables, all at once; returns their
/// outputs after checking each exited successfully.
fn run_children(role: &str, count: usize, vars: &[(&str, String)]) -> Vec<Output> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..count)
        .map(|index| {
            let mut command = Command::new(&exe);
            command
                .env(CHILD_ROLE, role)
                .env("CHILD_INDEX", index.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            for (name, value) in vars {
                command.env(name, value);
            }
            command.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(index, child)| {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "child {role} #{index} failed: {}",
                String::from_utf8_lossy(&output.stdout)
            );
            output
        })
        .collect()
}

/// `key=value` pairs a child printed on lines starting with `STATS`.
fn stats(output: &Output) -> HashMap<String, u64> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("STATS "))
        .flat_map(|line| line.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect()
}

fn child(role: &str) {
    let runtime = runtime();
    runtime.block_on(async {
        match role {
            "tokens" => child_tokens().await,
            "webhooks" => child_webhooks().await,
            "quota" => child_quota().await,
            "fault" => child_fault().await,
            other => panic!("unknown child role {other}"),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Tokens: 8 processes × 200 concurrent calls per round; round 0 has no token, rounds 1–3 each
// find it expired. Exactly one token request per round fleet-wide; the rotating refresh token
// is never presented twice.

const TOKEN_TTL: Duration = Duration::from_secs(4);
const ROUND_SPACING_MS: u64 = 5_000;

fn token_one_request_per_expiry(redis: &mut RedisServer) {
    let runtime = runtime();
    let (addr, ledger) = runtime.block_on(servers::token_server(TOKEN_TTL, true, "rt_0"));
    let rounds = 4u64;
    let start = unix_ms(SystemTime::now()) + 2_000;
    let outputs = run_children(
        "tokens",
        8,
        &[
            ("REDIS_URL", redis.url()),
            ("BASE_URL", format!("http://{addr}/v1")),
            ("TOKEN_URL", format!("http://{addr}/oauth/token")),
            ("START_MS", start.to_string()),
            ("ROUNDS", rounds.to_string()),
            ("CALLS", "200".to_owned()),
        ],
    );
    let ledger = ledger.lock().unwrap();
    let per_round: Vec<usize> = (0..rounds)
        .map(|round| {
            let from = start + round * ROUND_SPACING_MS;
            ledger
                .issued_at
                .iter()
                .filter(|at| (from..from + ROUND_SPACING_MS).contains(&unix_ms(**at)))
                .count()
        })
        .collect();
    let ok: u64 = outputs.iter().map(|o| stats(o)["ok"]).sum();
    eprintln!(
        "  token requests per round {per_round:?}; {ok} calls ok; refused refresh tokens {}; \
         401s {}",
        ledger.refused_refresh_tokens, ledger.api_unauthorized
    );
    assert_eq!(
        per_round,
        vec![1; rounds as usize],
        "one token request per round"
    );
    assert_eq!(ledger.issued_at.len(), rounds as usize);
    assert_eq!(
        ledger.refused_refresh_tokens, 0,
        "a refresh token was presented twice"
    );
    assert_eq!(ok, 8 * 200 * rounds);
    let led: u64 = outputs.iter().map(|o| stats(o)["renewals_led"]).sum();
    let reused: u64 = outputs.iter().map(|o| stats(o)["renewals_reused"]).sum();
    assert_eq!(led, rounds, "one process leads each renewal");
    assert!(
        reused >= 7 * (rounds - 1),
        "the others reuse its token ({reused})"
    );
}

async fn child_tokens() {
    let fleet = RedisFleet::builder(env("REDIS_URL"))
        .key_prefix("tokens")
        .build()
        .unwrap();
    let oauth = OAuth2::refresh_token("cli_fleet", None, env("TOKEN_URL"), "rt_0")
        .refresh_skew(Duration::from_secs(1))
        .token_store(Arc::new(fleet.token_store("cli_fleet")));
    let client = Client::builder(env("BASE_URL"))
        .auth(oauth)
        .build()
        .unwrap();
    let start = env_u64("START_MS");
    let calls = env_u64("CALLS");
    let mut ok = 0u64;
    for round in 0..env_u64("ROUNDS") {
        until(start + round * ROUND_SPACING_MS).await;
        let results = futures::future::join_all(
            (0..calls).map(|_| async { client.campaigns().list().send().await }),
        )
        .await;
        for result in results {
            result.expect("every call succeeds");
            ok += 1;
        }
    }
    let s = fleet.stats();
    println!(
        "STATS ok={ok} renewals_led={} renewals_reused={} fallbacks={}",
        s.renewals_led, s.renewals_reused, s.fallbacks
    );
}

// ---------------------------------------------------------------------------------------------
// Webhooks: 8 receivers, 10,000 deliveries, each delivered to 2 or 3 of them at once.

const DELIVERIES: u64 = 10_000;
const RECEIVERS: u64 = 8;

/// The receivers message `i` is delivered to: two, and a third for every third message.
fn receivers_of(i: u64) -> Vec<u64> {
    let mut to = vec![i % RECEIVERS, (i + 3) % RECEIVERS];
    if i.is_multiple_of(3) {
        to.push((i + 5) % RECEIVERS);
    }
    to
}

fn webhook_ids_accepted_once(redis: &mut RedisServer) {
    let start = unix_ms(SystemTime::now()) + 1_500;
    let outputs = run_children(
        "webhooks",
        RECEIVERS as usize,
        &[("REDIS_URL", redis.url()), ("START_MS", start.to_string())],
    );
    let mut accepted = vec![0u32; DELIVERIES as usize];
    for output in &outputs {
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some(id) = line.strip_prefix("ACCEPTED msg_") {
                accepted[id.parse::<usize>().unwrap()] += 1;
            }
        }
    }
    let deliveries: u64 = (0..DELIVERIES).map(|i| receivers_of(i).len() as u64).sum();
    let duplicates: u64 = outputs.iter().map(|o| stats(o)["duplicates"]).sum();
    eprintln!("  {deliveries} deliveries, {duplicates} refused as duplicates");
    let wrong: Vec<_> = accepted
        .iter()
        .enumerate()
        .filter(|(_, n)| **n != 1)
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "ids accepted other than once: {wrong:?}");
    assert_eq!(duplicates + DELIVERIES, deliveries);
}

async fn child_webhooks() {
    let index = env_u64("CHILD_INDEX");
    let fleet = RedisFleet::builder(env("REDIS_URL")).build().unwrap();
    let guard = fleet.replay_guard("orders");
    let mine: Vec<String> = (0..DELIVERIES)
        .filter(|i| receivers_of(*i).contains(&index))
        .map(|i| format!("msg_{i}"))
        .collect();
    until(env_u64("START_MS")).await;
    let now = SystemTime::now();
    let verdicts: Vec<(String, bool)> = futures::stream::iter(mine)
        .map(|id| {
            let guard = &guard;
            async move {
                let first = guard
                    .check_and_remember(&id, now)
                    .await
                    .expect("Redis answers");
                (id, first)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut duplicates = 0;
    for (id, first) in verdicts {
        if first {
            println!("ACCEPTED {id}");
        } else {
            duplicates += 1;
        }
    }
    assert_eq!(fleet.stats().fallbacks, 0);
    println!("STATS duplicates={duplicates}");
}

// ---------------------------------------------------------------------------------------------
// Rate gate: 8 processes × 8 workers against the sandbox's quota of N requests per second,
// without the shared gate, with the shared gate, and with the shared gate and the GCRA limiter.
// The sandbox keys its quota by credential: every process sends the same API key, so the fleet
// spends one quota. A proxy in the parent counts what the sandbox answered.

const QUOTA: u32 = 200;
const QUOTA_RUN: Duration = Duration::from_secs(6);

/// What the proxy counted during one run.
struct QuotaRun {
    ok: u64,
    too_many: u64,
    /// Answers 200 in each second of the run.
    ok_per_second: Vec<u64>,
    /// Requests the shared gate held, as the children's fleet counters say.
    held: u64,
}

impl QuotaRun {
    /// The share of requests answered 429.
    fn rejected(&self) -> f64 {
        self.too_many as f64 / (self.ok + self.too_many) as f64
    }

    /// Requests answered 200 per second, as a share of the quota: over the whole run, and from
    /// the second second on (the sandbox's token bucket starts full, so the first second can
    /// take up to twice the quota).
    fn throughput(&self) -> (f64, f64) {
        let share = |ok: u64, secs: usize| ok as f64 / secs as f64 / f64::from(QUOTA);
        let after_first: u64 = self.ok_per_second.iter().skip(1).sum();
        (
            share(self.ok, self.ok_per_second.len()),
            share(after_first, self.ok_per_second.len() - 1),
        )
    }
}

fn quota_run(redis: &RedisServer, mode: &str) -> QuotaRun {
    let runtime = runtime();
    let (sandbox, proxy, ledger) = runtime.block_on(async {
        let sandbox = Sandbox::builder()
            .standard_tier(RateTier::new(QUOTA, Duration::from_secs(1)))
            .start()
            .await
            .unwrap();
        let (proxy, ledger) = servers::counting_proxy(sandbox.addr()).await;
        (sandbox, proxy, ledger)
    });
    let start = unix_ms(SystemTime::now()) + 2_000;
    let run_ms = u64::try_from(QUOTA_RUN.as_millis()).unwrap();
    let outputs = run_children(
        "quota",
        8,
        &[
            ("REDIS_URL", redis.url()),
            ("BASE_URL", format!("http://{proxy}/v1")),
            ("API_KEY", sandbox.api_key().to_owned()),
            ("START_MS", start.to_string()),
            ("MODE", mode.to_owned()),
        ],
    );
    runtime.block_on(sandbox.shutdown());
    // What the sandbox answered during the run itself: calls still waiting for a slot when the
    // workers stop are answered after it and do not count.
    let ledger = ledger.lock().unwrap();
    let end = start + run_ms;
    let run = QuotaRun {
        ok: ledger.count(start, end, Some(200)),
        too_many: ledger.count(start, end, Some(429)),
        ok_per_second: (start..end)
            .step_by(1_000)
            .map(|from| ledger.count(from, from + 1_000, Some(200)))
            .collect(),
        held: outputs.iter().map(|o| stats(o)["gate_waits"]).sum(),
    };
    assert_eq!(
        ledger.count(start, end, None),
        run.ok + run.too_many,
        "the sandbox answered nothing but 200 and 429"
    );
    let (whole, after_first) = run.throughput();
    let gave_up: u64 = outputs.iter().map(|o| stats(o)["failed"]).sum();
    eprintln!(
        "  {mode:>11}: {} ok {:?} per second, {} × 429 ({:.2} % of requests); throughput \
         {:.1} % of the quota ({:.1} % after the first second); {} calls gave up, {} held by \
         the shared gate",
        run.ok,
        run.ok_per_second,
        run.too_many,
        run.rejected() * 100.0,
        whole * 100.0,
        after_first * 100.0,
        gave_up,
        run.held,
    );
    run
}

fn rate_gate_keeps_fleet_under_quota(redis: &mut RedisServer) {
    // The first two are printed for comparison: each process on its own, and the shared gate
    // without the limiter. Both keep sending until a response says the quota is spent, so the
    // requests in flight at that moment come back 429; the limiter keeps them from being sent.
    let alone = quota_run(redis, "local");
    let shared = quota_run(redis, "shared");
    let limited = quota_run(redis, "shared+gcra");
    assert_eq!(alone.held, 0, "no shared gate, nothing held by it");
    assert!(
        shared.held > 0,
        "the shared gate held requests another process learned about"
    );
    assert!(
        alone.too_many > 0,
        "without the limiter the fleet runs into the quota (else this run proves nothing)"
    );
    let rejected = limited.rejected();
    assert!(rejected <= 0.01, "429s above 1 %: {rejected}");
    let (throughput, _) = limited.throughput();
    assert!(
        throughput >= 0.90,
        "throughput below 90 % of the quota: {throughput}"
    );
}

async fn child_quota() {
    let fleet = RedisFleet::builder(env("REDIS_URL"))
        .key_prefix(format!("quota-{}", env("START_MS")))
        .build()
        .unwrap();
    let mut builder = Client::builder(env("BASE_URL"))
        .auth(ApiKey::new(env("API_KEY")).unwrap())
        .retry_policy(RetryPolicy::default().max_attempts(10));
    match env("MODE").as_str() {
        "local" => {}
        "shared" => builder = builder.shared_rate_gate(Arc::new(fleet.rate_gate("api"))),
        "shared+gcra" => {
            // 95 % of the quota: the sandbox's bucket refills faster than the fleet spends it,
            // so timing jitter (8 processes on 2 cores) is absorbed by the bucket, not a 429.
            let limit = GcraLimit::new(QUOTA * 95 / 100, Duration::from_secs(1));
            builder = builder.shared_rate_gate(Arc::new(fleet.rate_gate("api").limit(limit)));
        }
        other => panic!("unknown mode {other}"),
    }
    let client = builder.build().unwrap();
    let start = env_u64("START_MS");
    until(start).await;
    let end = Instant::now() + QUOTA_RUN;
    let workers = (0..8).map(|_| {
        let client = client.clone();
        async move {
            let mut failed = 0u64;
            while Instant::now() < end {
                // Without the limiter the retry budget runs out and 429s reach the caller:
                // counted, not fatal; the proxy's counts are what the parent checks.
                if client.campaigns().list().send().await.is_err() {
                    failed += 1;
                }
            }
            failed
        }
    });
    let failed: u64 = futures::future::join_all(workers).await.into_iter().sum();
    println!(
        "STATS failed={failed} gate_waits={}",
        fleet.stats().gate_waits
    );
}

// ---------------------------------------------------------------------------------------------
// Faults: Redis is killed while 4 processes work (tokens expire meanwhile) and restarted empty;
// no call fails or is sent twice, each process reports the fallback, and shares again after.

fn redis_killed_mid_run(redis: &mut RedisServer) {
    let runtime = runtime();
    // Client credentials: the grant where renewing per process during an outage is harmless.
    let (addr, ledger) = runtime.block_on(servers::token_server(Duration::from_secs(2), false, ""));
    let start = unix_ms(SystemTime::now()) + 1_500;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|index| {
            Command::new(&exe)
                .env(CHILD_ROLE, "fault")
                .env("CHILD_INDEX", index.to_string())
                .env("REDIS_URL", redis.url())
                .env("BASE_URL", format!("http://{addr}/v1"))
                .env("TOKEN_URL", format!("http://{addr}/oauth/token"))
                .env("START_MS", start.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_500 + 2_000));
    redis.kill();
    eprintln!("  Redis killed");
    std::thread::sleep(Duration::from_secs(3));
    redis.restart();
    eprintln!("  Redis restarted (empty)");
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "a fault child failed");
            output
        })
        .collect();
    let ledger = ledger.lock().unwrap();
    let calls: u64 = outputs.iter().map(|o| stats(o)["calls"]).sum();
    eprintln!(
        "  {calls} calls; server saw {} ok, {} × 401; {} token requests",
        ledger.api_ok,
        ledger.api_unauthorized,
        ledger.issued_at.len()
    );
    assert_eq!(
        ledger.api_ok, calls,
        "each call reached the API exactly once with success"
    );
    for output in &outputs {
        let log = String::from_utf8_lossy(&output.stdout);
        assert!(
            log.contains("fleet state is process-local"),
            "the fallback is logged: {log}"
        );
        assert!(log.contains("shared again"), "the return is logged: {log}");
        let s = stats(output);
        assert!(
            s["fallbacks"] > 0,
            "the outage shows in the counters: {s:?}"
        );
        assert_eq!(
            s["degraded_at_end"], 0,
            "shared mode again after the restart: {s:?}"
        );
        assert!(
            s["redis_ok_after_restart"] > 0,
            "Redis used after the restart: {s:?}"
        );
    }
}

async fn child_fault() {
    // The mode changes are logged at `warn`: to stdout, where the parent looks for them.
    tracing_subscriber::fmt()
        .with_env_filter("marketing_api=warn")
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .init();
    let fleet = RedisFleet::builder(env("REDIS_URL"))
        .key_prefix("fault")
        .command_timeout(Duration::from_millis(200))
        .reconnect_pause(Duration::from_millis(200))
        .build()
        .unwrap();
    let oauth = OAuth2::client_credentials("cli_fault", "secret", env("TOKEN_URL"))
        .refresh_skew(Duration::from_millis(500))
        .token_store(Arc::new(fleet.token_store("cli_fault")));
    let client = Client::builder(env("BASE_URL"))
        .auth(oauth)
        .shared_rate_gate(Arc::new(fleet.rate_gate("api")))
        .build()
        .unwrap();
    let start = env_u64("START_MS");
    until(start).await;
    let mut calls = 0u64;
    let mut ok_at_restart = None;
    // 10 s of calls: 2 s shared, 3 s with Redis dead, 5 s after its restart.
    while unix_ms(SystemTime::now()) < start + 10_000 {
        let batch = futures::future::join_all(
            (0..20).map(|_| async { client.campaigns().list().send().await }),
        )
        .await;
        for result in batch {
            result.expect("no call fails during the outage");
            calls += 1;
        }
        if ok_at_restart.is_none() && unix_ms(SystemTime::now()) >= start + 5_500 {
            ok_at_restart = Some(fleet.stats().redis_ok);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = fleet.stats();
    println!(
        "STATS calls={calls} fallbacks={} degraded_at_end={} redis_ok_after_restart={}",
        s.fallbacks,
        u64::from(fleet.is_degraded()),
        s.redis_ok - ok_at_restart.unwrap_or(s.redis_ok)
    );
}

// ---------------------------------------------------------------------------------------------
// In one process: with Redis down every component answers within its timeout, in both modes.

fn redis_down_never_hangs(redis: &mut RedisServer) {
    redis.kill();
    let runtime = runtime();
    runtime.block_on(async {
        for mode in [FailureMode::Fallback, FailureMode::Strict] {
            let fleet = RedisFleet::builder(redis.url())
                .failure_mode(mode)
                .command_timeout(Duration::from_millis(300))
                .strict_pause(Duration::from_millis(700))
                .build()
                .unwrap();
            let started = Instant::now();
            let guard = fleet.replay_guard("orders");
            let first = guard.check_and_remember("msg_1", SystemTime::now()).await;
            let again = guard.check_and_remember("msg_1", SystemTime::now()).await;
            let gate = fleet.rate_gate("api");
            let wait = gate.delay_before_send(SystemTime::now()).await;
            let store = fleet.token_store("cli");
            let renewal = store
                .begin_renewal(RenewalRequest::new(SystemTime::now(), None))
                .await;
            let elapsed = started.elapsed();
            assert!(
                elapsed < Duration::from_secs(2),
                "{mode:?} took {elapsed:?}"
            );
            match mode {
                FailureMode::Fallback => {
                    assert!(first.unwrap() && !again.unwrap(), "the local guard serves");
                    assert_eq!(wait, None, "requests go through");
                    assert!(renewal.is_ok(), "renewals go on locally");
                    assert!(fleet.stats().fallbacks >= 4);
                }
                _ => {
                    assert!(first.is_err() && again.is_err(), "the guard fails closed");
                    assert_eq!(wait, Some(Duration::from_millis(700)), "the gate holds");
                    assert!(renewal.is_err(), "renewals fail closed");
                    assert!(fleet.stats().strict_failures >= 4);
                }
            }
            assert!(fleet.is_degraded());
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Fencing: a holder whose lease expired while it stalled cannot overwrite the tokens saved by
// the process that took the lease over.

fn stalled_holder_is_fenced_out(redis: &mut RedisServer) {
    use marketing_api::auth::{Renewal, SaveOutcome, TokenSet};
    let runtime = runtime();
    runtime.block_on(async {
        let fleet = RedisFleet::builder(redis.url()).build().unwrap();
        let stalled = fleet.token_store("cli").lease(Duration::from_millis(100));
        let other = fleet.token_store("cli").lease(Duration::from_millis(100));
        let now = SystemTime::now();
        let Renewal::Obtain { lease: old, .. } = stalled
            .begin_renewal(RenewalRequest::new(now, None))
            .await
            .unwrap()
        else {
            panic!("an empty store grants the lease");
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        let Renewal::Obtain { lease: new, .. } = other
            .begin_renewal(RenewalRequest::new(now, None))
            .await
            .unwrap()
        else {
            panic!("an expired lease is granted again");
        };
        assert!(new.fence() > old.fence());
        let newer = TokenSet::new("at_new").with_refresh_token("rt_new");
        let older = TokenSet::new("at_old").with_refresh_token("rt_old");
        // The stalled holder wakes up first, while the new holder is still at work: refused.
        assert_eq!(
            stalled.save_renewed(&older, &old).await.unwrap(),
            SaveOutcome::Superseded
        );
        assert_eq!(
            other.save_renewed(&newer, &new).await.unwrap(),
            SaveOutcome::Saved
        );
        other.end_renewal(new).await;
        // And after the new holder finished: refused too, the stored tokens are newer.
        assert_eq!(
            stalled.save_renewed(&older, &old).await.unwrap(),
            SaveOutcome::Superseded
        );
        let stored = stalled.load().await.unwrap().unwrap();
        assert_eq!(stored.access_token().expose_secret(), "at_new");
        assert_eq!(fleet.stats().fenced_writes, 2);
        // A third process asking to replace "at_old" reuses "at_new" without the lease.
        let Renewal::Reuse(reused) = stalled
            .begin_renewal(RenewalRequest::new(now, Some("at_old".into())))
            .await
            .unwrap()
        else {
            panic!("newer stored tokens are reused");
        };
        assert_eq!(reused.refresh_token().unwrap().expose_secret(), "rt_new");
    });
}

// ---------------------------------------------------------------------------------------------
// Failover to an empty Redis: the refresh token rotated before it is not lost; the process that
// holds it renews with it and writes it back.

fn empty_redis_keeps_the_rotated_refresh_token(redis: &mut RedisServer) {
    use marketing_api::auth::{Renewal, SaveOutcome, TokenSet};
    let runtime = runtime();
    let fleet = RedisFleet::builder(redis.url())
        .reconnect_pause(Duration::from_millis(50))
        .build()
        .unwrap();
    let store = fleet.token_store("cli");
    let now = SystemTime::now();
    runtime.block_on(async {
        let Renewal::Obtain { lease, .. } = store
            .begin_renewal(RenewalRequest::new(now, None))
            .await
            .unwrap()
        else {
            panic!("an empty store grants the lease");
        };
        let rotated = TokenSet::new("at_1").with_refresh_token("rt_1");
        assert_eq!(
            store.save_renewed(&rotated, &lease).await.unwrap(),
            SaveOutcome::Saved
        );
        store.end_renewal(lease).await;
    });
    redis.restart();
    runtime.block_on(async {
        // The first call may meet the dropped connection (then served locally), the next ones
        // the new, empty Redis: either way the rotated refresh token is the one offered.
        let restarted = Instant::now();
        loop {
            let loaded = store.load().await.unwrap().expect("tokens survive");
            assert_eq!(loaded.refresh_token().unwrap().expose_secret(), "rt_1");
            if !fleet.is_degraded() {
                break;
            }
            assert!(
                restarted.elapsed() < Duration::from_secs(5),
                "Redis used again"
            );
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        eprintln!("  shared again {:?} after the restart", restarted.elapsed());
        // Each pooled connection that predates the restart fails its first command (served
        // locally, the lease then being this process's own); that failure makes the other
        // connections probe first, so the next renewal gets a real lease.
        let mut attempts = 0;
        let lease = loop {
            attempts += 1;
            let Renewal::Obtain { lease, latest } = store
                .begin_renewal(RenewalRequest::new(now, Some("at_1".into())))
                .await
                .unwrap()
            else {
                panic!("nothing newer anywhere: this process renews");
            };
            let latest = latest.expect("the rotated tokens are offered");
            assert_eq!(latest.refresh_token().unwrap().expose_secret(), "rt_1");
            if lease.fence() > 0 {
                break lease;
            }
            assert!(
                attempts < 2,
                "Redis grants a real lease by the second renewal"
            );
            tokio::time::sleep(Duration::from_millis(60)).await;
        };
        let renewed = TokenSet::new("at_2").with_refresh_token("rt_2");
        assert_eq!(
            store.save_renewed(&renewed, &lease).await.unwrap(),
            SaveOutcome::Saved
        );
        store.end_renewal(lease).await;
        // Back in Redis for the other processes.
        let other = fleet.token_store("cli");
        let Renewal::Reuse(shared) = other
            .begin_renewal(RenewalRequest::new(now, Some("at_1".into())))
            .await
            .unwrap()
        else {
            panic!("the refilled Redis answers");
        };
        assert_eq!(shared.refresh_token().unwrap().expose_secret(), "rt_2");
    });
}

// ---------------------------------------------------------------------------------------------
// Redis behind a process: it answers with tokens older than the process's own (a failover to a
// replica that missed the last save; a renewal kept in memory during an outage). The process
// must not take the older, spent refresh token back; it writes its own tokens back instead.

fn redis_behind_a_process_gets_its_tokens_back(redis: &mut RedisServer) {
    use marketing_api::auth::{Renewal, SaveOutcome, TokenSet};
    let runtime = runtime();
    runtime.block_on(async {
        let fleet = RedisFleet::builder(redis.url()).build().unwrap();
        let store = fleet.token_store("cli");
        let now = SystemTime::now();
        let minute = Duration::from_secs(60);
        let first = TokenSet::new("at_1")
            .with_refresh_token("rt_1")
            .with_expires_at(now + minute);
        let second = TokenSet::new("at_2")
            .with_refresh_token("rt_2")
            .with_expires_at(now + 2 * minute);
        for (replacing, tokens) in [(None, &first), (Some("at_1"), &second)] {
            let Renewal::Obtain { lease, .. } = store
                .begin_renewal(RenewalRequest::new(now, replacing.map(Into::into)))
                .await
                .unwrap()
            else {
                panic!("nothing newer is stored: this process renews");
            };
            assert_eq!(
                store.save_renewed(tokens, &lease).await.unwrap(),
                SaveOutcome::Saved
            );
            store.end_renewal(lease).await;
        }
        // Another fleet member's view of Redis, which loses the last save (rt_1 is spent).
        let other = RedisFleet::builder(redis.url())
            .build()
            .unwrap()
            .token_store("cli");
        let lose_last_save = || async { other.save(&first).await.unwrap() };

        lose_last_save().await;
        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!(loaded.refresh_token().unwrap().expose_secret(), "rt_2");
        let seen = other.load().await.unwrap().unwrap();
        assert_eq!(
            seen.refresh_token().unwrap().expose_secret(),
            "rt_2",
            "written back for the others"
        );

        lose_last_save().await;
        // at_1 has not expired, yet it is older than the at_2 being replaced: not reused, and
        // the renewal presents rt_2, under a real lease.
        let Renewal::Obtain { lease, latest } = store
            .begin_renewal(RenewalRequest::new(now, Some("at_2".into())))
            .await
            .unwrap()
        else {
            panic!("older stored tokens are not reused");
        };
        let latest = latest.expect("the process's tokens are offered");
        assert_eq!(latest.refresh_token().unwrap().expose_secret(), "rt_2");
        assert!(lease.fence() > 0);
        let third = TokenSet::new("at_3")
            .with_refresh_token("rt_3")
            .with_expires_at(now + 3 * minute);
        assert_eq!(
            store.save_renewed(&third, &lease).await.unwrap(),
            SaveOutcome::Saved,
            "the write-back under the lease leaves the holder's own save allowed"
        );
        store.end_renewal(lease).await;
        let seen = other.load().await.unwrap().unwrap();
        assert_eq!(seen.refresh_token().unwrap().expose_secret(), "rt_3");
        assert_eq!(fleet.stats().fallbacks, 0);
    });
}
