//! Decoding cost of a page of 100 contacts (about 25 KiB of JSON) and of one campaign: into the
//! generated types, into a hand-written struct, and into `serde_json::Value`.
//!
//! The generated types carry more than the hand-written ones (typed ids, enums with an `Unknown`
//! fallback, PII redaction in `Debug`), so this shows what they cost. The SDK decodes with
//! `serde_json` directly and only re-decodes through `serde_path_to_error` when decoding failed,
//! to name the failing field; the `path-tracking` case shows what that would cost on every
//! response.
//!
//! ```text
//! cargo bench --bench decode
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use marketing_api::models::{Campaign, Contact};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;
use fixtures::{HandCampaign, HandContact, HandEnvelope};

/// The envelope as the SDK reads it: `data` plus the `meta` fields it uses.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Envelope<T> {
    data: T,
    meta: Meta,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Meta {
    request_id: Option<String>,
    next_cursor: Option<String>,
    has_more: Option<bool>,
    total_count: Option<i64>,
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> T {
    serde_json::from_slice(body).expect("the fixture decodes")
}

fn decode_tracking_path<T: DeserializeOwned>(body: &[u8]) -> T {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).expect("the fixture decodes")
}

fn bench_body<G, H>(c: &mut Criterion, name: &str, body: &[u8])
where
    G: DeserializeOwned,
    H: DeserializeOwned,
{
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_with_input(BenchmarkId::from_parameter("generated"), body, |b, body| {
        b.iter(|| decode::<Envelope<G>>(body))
    });
    group.bench_with_input(
        BenchmarkId::from_parameter("hand-written"),
        body,
        |b, body| b.iter(|| decode::<HandEnvelope<H>>(body)),
    );
    group.bench_with_input(BenchmarkId::from_parameter("value"), body, |b, body| {
        b.iter(|| decode::<serde_json::Value>(body))
    });
    group.bench_with_input(
        BenchmarkId::from_parameter("generated, path-tracking"),
        body,
        |b, body| b.iter(|| decode_tracking_path::<Envelope<G>>(body)),
    );
    group.finish();
}

fn decoding(c: &mut Criterion) {
    bench_body::<Vec<Contact>, Vec<HandContact>>(
        c,
        "page of 100 contacts",
        &fixtures::contacts_page(),
    );
    bench_body::<Campaign, HandCampaign>(c, "one campaign", &fixtures::campaign_envelope());
}

criterion_group!(benches, decoding);
criterion_main!(benches);
