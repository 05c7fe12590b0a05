//! `marketing-api-sandbox`: runs the sandbox server from the command line.

use clap::Parser;
use marketing_api_sandbox::{FaultSettings, RateTier, Sandbox};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// A stateful in-memory server of the marketing-api contract (openapi.yaml).
///
/// Prints its base URL, ready API keys for both rate tiers and the OAuth client credentials,
/// then serves until interrupted (Ctrl-C).
#[derive(Debug, Parser)]
#[command(name = "marketing-api-sandbox", version, about, long_about)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    token_ttl: u64,
    /// Requests per second of the standard tier (standard API key and OAuth tokens).
    #[arg(long, default_value_t = 100, value_name = "N")]
    standard_rate: u32,
    /// Requests per second of the premium tier (premium API key).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    premium_rate: u32,
    /// Waits between webhook delivery attempts, in milliseconds, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "MS,MS,...",
        default_value = "5000,30000,120000,600000,3600000"
    )]
    webhook_retry_ms: Vec<u64>,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    latency_ms: u64,
    /// Share (0..1) of requests answered 429.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    fault_429: f64,
    /// Share (0..1) of requests answered 500.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    fault_500: f64,
    /// Share (0..1) of requests answered 503.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    fault_503: f64,
    /// Share (0..1) of requests whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    fault_drop: f64,
    /// Also inject faults on the OAuth endpoints.
    #[arg(long)]
    fault_oauth: bool,
    /// Seed of the fault RNG, for a repeatable sequence of faults.
    #[arg(long)]
    seed: Option<u64>,
    /// Fixed standard-tier API key instead of a generated one.
    #[arg(long, requires = "premium_api_key", value_name = "KEY")]
    api_key: Option<String>,
    /// Fixed premium-tier API key instead of a generated one.
    #[arg(long, requires = "api_key", value_name = "KEY")]
    premium_api_key: Option<String>,
    /// Fixed OAuth client id instead of a generated one.
    #[arg(long, requires = "client_secret", value_name = "ID")]
    client_id: Option<String>,
    /// Fixed OAuth client secret instead of a generated one.
    #[arg(long, requires = "client_id", value_name = "SECRET")]
    client_secret: Option<String>,
    /// A redirect URI the OAuth client registered (repeat for several; default: loopback
    /// `http://127.0.0.1/callback` and `http://[::1]/callback` on any port, and
    /// `https://app.example.org/callback`).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
}

fn share(name: &str, value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("--{name} must be between 0 and 1, got {value}"))
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let faults = FaultSettings {
        latency: Duration::from_millis(args.latency_ms),
        rate_429: share("fault-429", args.fault_429)?,
        rate_500: share("fault-500", args.fault_500)?,
        rate_503: share("fault-503", args.fault_503)?,
        drop_rate: share("fault-drop", args.fault_drop)?,
        apply_to_oauth: args.fault_oauth,
    };
    let mut builder = Sandbox::builder()
        .addr(SocketAddr::new(args.host, args.port))
        .token_ttl(Duration::from_secs(args.token_ttl))
        .standard_tier(RateTier::new(args.standard_rate, Duration::from_secs(1)))
        .premium_tier(RateTier::new(args.premium_rate, Duration::from_secs(1)))
        .webhook_retry_schedule(
            args.webhook_retry_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        )
        .faults(faults);
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let (Some(standard), Some(premium)) = (args.api_key, args.premium_api_key) {
        builder = builder.api_keys(standard, premium);
    }
    if let (Some(id), Some(secret)) = (args.client_id, args.client_secret) {
        builder = builder.oauth_client(id, secret);
    }
    if !args.redirect_uris.is_empty() {
        builder = builder.redirect_uris(args.redirect_uris);
    }
    let sandbox = builder.start().await?;
    println!("marketing-api sandbox listening");
    println!("  base URL:          {}", sandbox.base_url());
    println!("  API key (standard): {}", sandbox.api_key());
    println!("  API key (premium):  {}", sandbox.premium_api_key());
    println!("  OAuth token URL:   {}", sandbox.token_url());
    println!("  OAuth client id:   {}", sandbox.client_id());
    println!("  OAuth secret:      {}", sandbox.client_secret());
    println!();
    println!(
        "  try: curl -H 'X-Api-Key: {}' {}/campaigns",
        sandbox.api_key(),
        sandbox.base_url()
    );
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("marketing-api-sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}
