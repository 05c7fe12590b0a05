//! Typed async client for the marketing platform REST API.
//!
//! Every operation and model is generated at build time from `openapi.yaml`, the API contract;
//! under it, a hand-written runtime does transport, authentication, retries, pagination and
//! webhook verification.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use marketing_api::{Client, auth::OAuth2, models::{CampaignStatus, NewCampaign}};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("https://api.example.com/v1")
//!     .auth(
//!         OAuth2::client_credentials("cli_123", "secret", "https://api.example.com/v1/oauth/token")
//!             .scopes(["campaigns:read", "campaigns:write"]),
//!     )
//!     .build()?;
//!
//! let campaign = client.campaigns().create(&NewCampaign::new("Black Friday", 500_000)).send().await?;
//! let ads = client.campaigns().ads(&campaign.id).list().send().await?;
//! println!("{} has {} ads", campaign.name, ads.items.len());
//!
//! let mut active = client.campaigns().list().status(CampaignStatus::Active).stream();
//! while let Some(c) = active.try_next().await? {
//!     println!("{} {}", c.id, c.name);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// An SDK generated from another spec (`MARKETING_API_OPENAPI`) uses only part of the runtime.
#![cfg_attr(not(marketing_api_bundled_spec), allow(dead_code))]

pub mod auth;
mod client;
pub mod clock;
mod codec;
mod error;
pub mod fleet;
#[cfg(marketing_api_bundled_spec)]
pub mod ingest;
pub mod multipart;
pub mod pagination;
mod patch;
mod ratelimit;
mod request;
mod response;
pub mod retry;
#[cfg(all(feature = "testing", marketing_api_bundled_spec))]
pub mod testing;
mod tls;
mod transport;
pub mod webhooks;

/// Entry points for the fuzz targets in `fuzz/`; not public API.
#[cfg(all(any(fuzzing, test), marketing_api_bundled_spec))]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES};
#[cfg(not(marketing_api_bundled_spec))]
pub use error::ErrorType;
pub use error::{ApiError, Error, ErrorKind};
pub use patch::Patch;
pub use response::{ByteStream, Page, Response};
pub use tls::{SpkiPin, TlsVersion};

/// Every schema of the API contract: entities, request bodies, enums and typed ids.
pub mod models {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// Resource accessors (`client.campaigns()`) and one request builder per operation.
pub mod api {
    include!(concat!(env!("OUT_DIR"), "/api.rs"));
}

/// The README's code blocks, compiled and run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
