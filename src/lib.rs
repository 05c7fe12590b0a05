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
//! let campaign = client.campaigns().create(&NewCampaign::builder().name("Black Friday").budget_cents(500_000).build()).send().await?;
//! let ads = client.campaigns().ads(&campaign.id).list().send().await?;
//! println!("{} has {} ads", campaign.name, ads.items.len());
//!
//! let mut active = client.campaigns().list().status(CampaignStatus::Active).stream();
//! while let Some(c) = active.try_next().await? {
//!     println!("{} {}", c.id, c.name);
//! }
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `client` | [`Client`], authentication, retries, rate limits, pagination, every operation ([`api`]) | yes |
//! | `webhooks` | [`webhooks`]: verify, sign and parse the typed events (no HTTP client, no async runtime) | yes |
//! | `axum` | `webhooks::axum::VerifiedEvent`, an extractor for axum handlers | no |
//! | `testing` | `testing::MockApi`, spec-checked mocks of every operation for your tests | no |
//!
//! The [`models`] are always there. A webhook receiver depends on
//! `marketing-api = { version = "0.2", default-features = false, features = ["webhooks"] }`.
#![deny(missing_docs)]
// An SDK generated from another spec (`MARKETING_API_OPENAPI`) uses only part of the runtime.
#![cfg_attr(not(marketing_api_bundled_spec), allow(dead_code))]
// docs.rs builds with `--cfg docsrs` and shows the feature each item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod audit;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod auth;
#[cfg(feature = "client")]
mod body;
#[cfg(feature = "client")]
mod byte_search;
#[cfg(feature = "client")]
mod client;
pub mod clock;
mod codec;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod csv;
#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
pub mod encryption;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod fleet;
#[cfg(all(feature = "client", marketing_api_bundled_spec))]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod ingest;
#[cfg(feature = "client")]
pub mod interceptor;
mod json_object;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod multipart;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod pagination;
mod patch;
#[cfg(feature = "client")]
mod ratelimit;
#[cfg(feature = "client")]
mod request;
#[cfg(feature = "client")]
mod resource_ids;
#[cfg(feature = "client")]
mod response;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod retry;
mod sensitive;
#[cfg(all(feature = "testing", marketing_api_bundled_spec))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
#[cfg(feature = "client")]
mod tls;
#[cfg(feature = "client")]
mod transport;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod upload;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks;

/// Entry points for the fuzz targets in `fuzz/`; not public API.
#[cfg(all(any(fuzzing, test), feature = "client", marketing_api_bundled_spec))]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;

// Crates whose types appear in the SDK's public API, so callers name exactly the versions the
// SDK was built with instead of adding each at a matching version.
/// Byte buffers: [`ByteStream`] chunks, [`ApiError::body`], multipart file parts.
pub use bytes;
/// Dates and times of the models (`chrono::DateTime<Utc>`).
pub use chrono;
/// Stream traits for `.stream()`: `futures::TryStreamExt` gives `try_next`, `try_collect`, ….
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use futures;
/// Status codes and header maps of [`ApiError`], [`Response`] and webhook errors.
pub use http;
/// Free-form JSON of the models (`serde_json::Value`, attribute maps).
pub use serde_json;
/// URLs of the OAuth2 authorization flow.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use url;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use error::{ApiError, Error, ErrorKind};
#[cfg(all(feature = "client", not(marketing_api_bundled_spec)))]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use error::{ErrorCode, ErrorDetail, ErrorType};
pub use json_object::NotAJsonObject;
pub use patch::Patch;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use response::{ByteStream, Page, Response};
pub use sensitive::{SealedError, Sensitive};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use tls::{SpkiPin, TlsVersion};

/// Every schema of the API contract: entities, request bodies, enums and typed ids.
///
/// A type with required fields is made with its builder, which names each field and refuses to
/// `build()` until all are set; optional fields follow with `with_*`:
///
/// ```
/// use marketing_api::models::{AdStatus, NewAd};
///
/// let ad = NewAd::builder()
///     .name("Hero banner A")
///     .headline("Up to 40% off")
///     .destination_url("https://shop.example.com/sale")
///     .build()
///     .with_status(AdStatus::Paused);
/// assert_eq!(ad.headline, "Up to 40% off");
/// ```
///
/// Leaving one out does not compile (the error names the type `unset::Headline`):
///
/// ```compile_fail
/// use marketing_api::models::NewAd;
///
/// let ad = NewAd::builder().name("Hero banner A").destination_url("https://shop.example.com").build();
/// ```
///
/// Ids are their own types: a parameter taking a `CampaignId` takes the id or a reference to it,
/// never a plain string.
///
/// ```compile_fail
/// # async fn f(client: marketing_api::Client) -> Result<(), marketing_api::Error> {
/// client.campaigns().get("cmp_1").send().await?;
/// # Ok(()) }
/// ```
pub mod models {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// Resource accessors (`client.campaigns()`) and one request builder per operation.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod api {
    include!(concat!(env!("OUT_DIR"), "/api.rs"));
}

/// The README's code blocks, compiled and run as doc tests so they cannot go stale.
#[cfg(all(doctest, feature = "client", feature = "webhooks"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
