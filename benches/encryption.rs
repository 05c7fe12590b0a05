//! What field-level decryption costs: a page of 100 contacts whose `email`, `phone` and
//! `first_name` are JWE (ECDH-ES+A256KW on P-256, A256GCM), decrypted and decoded into the
//! generated types, against the same page in plaintext decoded directly. The difference divided
//! by the 300 fields is the cost of one field; almost all of it is the P-256 key agreement each
//! JWE needs.
//!
//! ```text
//! cargo bench --features encryption --bench encryption
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use marketing_api::encryption::{Binding, PrivateKeySet, decrypt_body};
use marketing_api::models::Contact;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[allow(dead_code)]
struct Envelope {
    data: Vec<Contact>,
}

const SENSITIVE: [&str; 3] = ["email", "phone", "first_name"];

fn page(keys: &PrivateKeySet) -> (Vec<u8>, Vec<u8>) {
    let public = keys.generate("bench").expect("a key");
    let contacts: Vec<Value> = (0..100)
        .map(|n| {
            json!({
                "id": format!("ctc_{n:08}"),
                "email": format!("person{n}@example.com"),
                "phone": format!("+4420718{n:05}"),
                "first_name": format!("Person {n}"),
                "last_name": null,
                "status": "subscribed",
                "attributes": {"plan": "pro", "country": "GB"},
                "created_at": "2026-11-02T09:30:00Z",
                "updated_at": "2026-11-03T14:05:12Z",
            })
        })
        .collect();
    let meta = json!({"request_id": "req_bench", "has_more": true, "next_cursor": "djE6MTox"});
    let plain = json!({"data": contacts, "meta": meta});
    let mut sealed = plain.clone();
    for contact in sealed["data"].as_array_mut().expect("data") {
        let id = contact["id"].as_str().expect("id").to_owned();
        for field in SENSITIVE {
            let here = Binding {
                field,
                object: Some(&id),
            };
            contact[field] = public
                .encrypt(&contact[field], here)
                .expect("encrypts")
                .into();
        }
    }
    (
        serde_json::to_vec(&plain).expect("json"),
        serde_json::to_vec(&sealed).expect("json"),
    )
}

fn bench(c: &mut Criterion) {
    let keys = PrivateKeySet::new();
    let (plain, sealed) = page(&keys);
    // The two paths agree before anything is timed.
    let decrypted = decrypt_body(&sealed, &keys)
        .expect("decrypts")
        .expect("JWE present");
    let a: Envelope = serde_json::from_slice(&decrypted).expect("decodes");
    let b: Envelope = serde_json::from_slice(&plain).expect("decodes");
    assert!(a.data == b.data);

    let mut group = c.benchmark_group("contacts_page_100x3_sensitive");
    group.throughput(Throughput::Elements(300));
    group.bench_with_input(
        BenchmarkId::from_parameter("plaintext"),
        &plain,
        |b, body| b.iter(|| serde_json::from_slice::<Envelope>(body).expect("decodes")),
    );
    group.bench_with_input(
        BenchmarkId::from_parameter("decrypted"),
        &sealed,
        |b, body| {
            b.iter(|| {
                let plain = decrypt_body(body, &keys)
                    .expect("decrypts")
                    .expect("JWE present");
                serde_json::from_slice::<Envelope>(&plain).expect("decodes")
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
