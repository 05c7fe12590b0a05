//! The bad-input matrix: every public constructor and parser, and every malformed answer a
//! server or a proxy in front of it can give, ends in a typed error with the right kind and a
//! message that says what to fix — never a panic, never an unbounded allocation.
//!
//! Server answers are written byte for byte by a raw TCP server on 127.0.0.1 and read through
//! the real `Client` (reqwest, decompression, the size cap, decoding).
//!
//! | input                                              | where                          | result                                   |
//! |----------------------------------------------------|--------------------------------|------------------------------------------|
//! | empty / not a URL / `ftp://` / `http://` remote    | `Client::builder(..).build()`  | `Config`, says what URL is expected      |
//! | 1 MiB base URL                                     | `Client::builder(..).build()`  | `Config` (https, too long is fine) or Ok |
//! | credentials in the URL                             | `Client::builder(..).build()`  | `Config`, the password is not echoed     |
//! | header name/value with newline, non-ASCII UA       | `default_header`, `user_agent` | `Config`, names the header               |
//! | `max_response_bytes(0)`                            | `ClientBuilder`                | `Config`                                 |
//! | pin not base64 / not 32 bytes                      | `pin_spki_sha256`, `SpkiPin`   | `Config`, "not base64" / "32"            |
//! | root certificate that is not DER X.509             | `add_root_certificate`         | `Config`                                 |
//! | empty, whitespace, control, non-ASCII, 1 MiB key   | `ApiKey::new`                  | `AuthError::InvalidApiKey` (1 MiB: Ok)   |
//! | empty, control characters                          | `BearerToken::new`             | `AuthError::InvalidBearerToken`          |
//! | empty client id, bad token URL, remote `http://`   | `OAuth2` via `build()`         | `Auth`                                   |
//! | empty, `whsec_` + not base64, empty bytes          | `WebhookSecret`, `Verifier`    | `WebhookError::InvalidSecret`            |
//! | empty, non-UTF-8, truncated, wrong type, no `type` | `Event::from_slice`            | `serde_json::Error` (category named)     |
//! | unknown event type                                 | `Event::from_slice`            | Ok(`Event::Unknown`)                     |
//! | headers missing / not UTF-8 / huge                 | `Verifier::verify`             | `WebhookError` (missing / malformed)     |
//! | 200 with an empty body                             | `Client` (get)                 | `Decode`, at `.`, "EOF"                  |
//! | 200 with an HTML page from a proxy                 | `Client` (get)                 | `Decode`, "expected value"               |
//! | 200 with truncated JSON                            | `Client` (get)                 | `Decode`, "EOF"                          |
//! | 200 with non-UTF-8 bytes                           | `Client` (get)                 | `Decode`, path `data.id`                 |
//! | 200 with the bare entity (no envelope)             | `Client` (get)                 | `Decode`, "missing field `data`"         |
//! | 200 with wrong types (`name: 5`)                   | `Client` (get)                 | `Decode`, path `data.name`               |
//! | 200 with an object where a list is due             | `Client` (list)                | `Decode`, path `data`                    |
//! | 200 with trailing garbage after the JSON           | `Client` (get)                 | `Decode`, "trailing characters"          |
//! | 502 with an HTML page from a proxy                 | `Client` (get)                 | `Api` 502, "not the API's error envelope"|
//! | 400 with an error envelope of wrong types          | `Client` (get)                 | `Api` 400, describes the body            |
//! | 429 with a garbage `Retry-After`                   | `Client` (get)                 | `Api` 429, `retry_after: None`           |
//! | 400 with an error envelope whose message is `""`   | `Client` (get)                 | `Api` 400, "the API gave no message"     |
//! | id `.` or `..` (would resolve to another path)     | any operation with an id       | `Config`, nothing sent                   |
//! | empty id (would name another path)                 | any operation with an id       | `Config`, nothing sent                   |
//! | id with `/`, `?`, `#`, `%`                          | any operation with an id       | sent escaped, within its segment         |
//! | gzip that is truncated / garbage                   | `Client` (get)                 | `Transport`, "does not decompress", not retried |
//! | gzip bomb (1 KiB → 8 MiB) over the cap             | `Client` (get)                 | `ResponseTooLarge`, not retried          |
//! | `Content-Length` above the cap                     | `Client` (get)                 | `ResponseTooLarge` before reading        |
//! | endless chunked body, no `Content-Length`          | `Client` (get)                 | `ResponseTooLarge` at the cap            |
//! | `Content-Length` promising more than is sent       | `Client` (get)                 | `Transport`                              |
//! | not HTTP at all / connection closed, no answer     | `Client` (get)                 | `Transport`                              |

mod support;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use marketing_api::auth::{ApiKey, AuthError, BearerToken, OAuth2};
use marketing_api::clock::ManualClock;
use marketing_api::models::CampaignId;
use marketing_api::retry::{RetryBudgetConfig, RetryPolicy};
use marketing_api::webhooks::{Event, Verifier, WebhookError, WebhookSecret};
use marketing_api::{Client, Error, ErrorKind, SpkiPin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CAMPAIGN: &str = r#"{"id":"cmp_1","name":"Spring sale","status":"active","objective":"sales","budget_cents":500000,"currency":"EUR","metrics":{"impressions":0,"clicks":0,"conversions":0,"spend_cents":0,"ctr":0.0},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
const MIB: usize = 1024 * 1024;

// ------------------------------------------------------------------------------------------
// A raw HTTP/1.1 server: answers every request with the same bytes.

/// What the server writes after reading a request head.
#[derive(Clone)]
enum Answer {
    /// These bytes, then close.
    Bytes(Vec<u8>),
    /// A chunked 200 that never ends (until the client hangs up or 256 MiB were sent).
    EndlessChunked,
}

struct RawServer {
    base_url: String,
    requests: Arc<AtomicUsize>,
    /// The request target (path and query) of every request, in order.
    targets: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn raw_server(answer: Answer) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let targets = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = targets.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let counter = counter.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let target = String::from_utf8_lossy(&head)
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().expect("targets").push(target);
                match answer {
                    Answer::Bytes(bytes) => {
                        let _ = stream.write_all(&bytes).await;
                    }
                    Answer::EndlessChunked => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                            .await;
                        let chunk = [b' '; 64 * 1024];
                        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                        frame.extend_from_slice(&chunk);
                        frame.extend_from_slice(b"\r\n");
                        for _ in 0..(256 * MIB / chunk.len()) {
                            if stream.write_all(&frame).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    RawServer {
        base_url: format!("http://{addr}/v1"),
        requests,
        targets,
    }
}

/// An HTTP/1.1 response with these headers and body (`Content-Length` added unless given).
fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n").into_bytes();
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !has_length {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Answer::Bytes(out)
}

fn json_200(body: &[u8]) -> Answer {
    http("200 OK", &[("content-type", "application/json")], body)
}

/// A client for `server` with instant retries (a manual clock) and the given attempts.
fn client(server: &RawServer, attempts: u32, max_body: usize) -> Client {
    let clock = ManualClock::new(support::start());
    support::on_manual_clock(&server.base_url, &clock)
        .auth(ApiKey::new("mk_test_bad_input").expect("key"))
        .retry_policy(RetryPolicy::default().max_attempts(attempts))
        .retry_budget(RetryBudgetConfig::unlimited())
        .max_response_bytes(max_body)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

async fn get(answer: Answer) -> (Error, usize) {
    get_with(answer, 1, 32 * MIB).await
}

async fn get_with(answer: Answer, attempts: u32, max_body: usize) -> (Error, usize) {
    let server = raw_server(answer).await;
    let error = client(&server, attempts, max_body)
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await
        .expect_err("a malformed answer must fail");
    // Every error names the operation and has a message worth reading.
    assert_eq!(error.operation(), Some("getCampaign"), "{error:?}");
    assert!(error.to_string().len() > 20, "{error}");
    (error, server.requests.load(Ordering::SeqCst))
}

fn assert_decode(error: &Error, path: &str, says: &str) {
    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
    assert_eq!(error.decode_path(), Some(path), "{error}");
    let text = error.report().to_string();
    assert!(text.contains("does not match the API contract"), "{text}");
    assert!(text.contains(says), "`{says}` not in: {text}");
}

// ------------------------------------------------------------------------------------------
// Success statuses with bodies that are not the contract.

#[tokio::test]
async fn a_200_with_an_empty_body() {
    let (error, requests) = get(json_200(b"")).await;
    assert_decode(&error, ".", "EOF");
    assert_eq!(requests, 1, "a decode error is not retried");
}

#[tokio::test]
async fn a_200_with_an_html_page_from_a_proxy() {
    let page = b"<!DOCTYPE html><html><body><h1>Access denied</h1></body></html>";
    let (error, _) = get(http("200 OK", &[("content-type", "text/html")], page)).await;
    assert_decode(&error, ".", "expected value");
    // It was sent and answered once, and the content type says more than the JSON error.
    assert_eq!(error.attempts(), 1, "{error:?}");
    assert!(
        error.to_string().contains("Content-Type is `text/html`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_200_with_truncated_json() {
    let body = format!(r#"{{"data":{}"#, &CAMPAIGN[..CAMPAIGN.len() / 2]);
    let (error, _) = get(json_200(body.as_bytes())).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
    assert!(
        error.report().to_string().contains("EOF"),
        "{}",
        error.report()
    );
}

#[tokio::test]
async fn a_200_with_bytes_that_are_not_utf8() {
    let (error, _) = get(json_200(b"{\"data\":{\"id\":\"\xff\xfe\"}}")).await;
    assert_decode(&error, "data.id", "invalid unicode");
}

#[tokio::test]
async fn a_200_without_the_envelope() {
    let (error, _) = get(json_200(CAMPAIGN.as_bytes())).await;
    assert_decode(&error, ".", "missing field `data`");
}

#[tokio::test]
async fn a_200_with_a_field_of_the_wrong_type() {
    let body = format!(
        r#"{{"data":{},"meta":{{}}}}"#,
        CAMPAIGN.replace(r#""Spring sale""#, "5")
    );
    let (error, _) = get(json_200(body.as_bytes())).await;
    assert_decode(&error, "data.name", "invalid type");
}

#[tokio::test]
async fn a_200_with_an_object_where_a_list_is_due() {
    let server = raw_server(json_200(format!(r#"{{"data":{CAMPAIGN}}}"#).as_bytes())).await;
    let error = client(&server, 1, MIB)
        .campaigns()
        .list()
        .send()
        .await
        .expect_err("a list needs an array");
    assert_eq!(error.operation(), Some("listCampaigns"));
    assert_decode(&error, "data", "expected a sequence");
}

#[tokio::test]
async fn a_200_with_trailing_garbage() {
    let body = format!(r#"{{"data":{CAMPAIGN}}}<html>"#);
    let (error, _) = get(json_200(body.as_bytes())).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
    assert!(
        error.report().to_string().contains("trailing characters"),
        "{}",
        error.report()
    );
}

// ------------------------------------------------------------------------------------------
// Error statuses with bodies that are not the error envelope.

#[tokio::test]
async fn a_502_html_page_from_a_proxy() {
    let page =
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>";
    let (error, requests) = get_with(
        http(
            "502 Bad Gateway",
            &[("content-type", "text/html"), ("x-request-id", "req_proxy")],
            page,
        ),
        2,
        MIB,
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::Api, "{error:?}");
    let api = error.api_error().expect("api error");
    assert_eq!(api.status.as_u16(), 502);
    assert_eq!(api.error_type, None);
    assert!(
        api.message.contains("not the API's error envelope")
            && api.message.contains("text/html")
            && api.message.contains("502 Bad Gateway"),
        "{}",
        api.message
    );
    assert_eq!(error.request_id(), Some("req_proxy"));
    assert!(error.is_retryable());
    assert_eq!(requests, 2, "a 502 on a GET is retried");
    // The answer as it came: its headers and body.
    assert_eq!(api.body(), page);
    assert_eq!(
        api.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"req_proxy"[..])
    );
    let debug = format!("{api:?}");
    assert!(
        debug.contains("body_bytes: 78") && !debug.contains("\\r\\n"),
        "Debug gives the body's size, not the raw body: {debug}"
    );
}

#[tokio::test]
async fn a_400_with_an_error_envelope_of_wrong_types() {
    let (error, _) = get(http(
        "400 Bad Request",
        &[("content-type", "application/json")],
        br#"{"error":{"type":17,"message":["no"]}}"#,
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Api, "{error:?}");
    assert!(error.is_invalid_request());
    let message = &error.api_error().expect("api").message;
    assert!(message.contains("application/json"), "{message}");
}

#[tokio::test]
async fn a_429_with_a_garbage_retry_after() {
    let (error, _) = get(http(
        "429 Too Many Requests",
        &[
            ("retry-after", "soon, maybe"),
            ("content-type", "application/json"),
        ],
        br#"{"error":{"type":"rate_limit_error","code":"rate_limited","message":"Slow down."}}"#,
    ))
    .await;
    assert!(error.is_rate_limited(), "{error:?}");
    let api = error.api_error().expect("api");
    assert_eq!(api.retry_after, None);
    assert_eq!(api.message, "Slow down.");
}

/// Found by the `decode_response` fuzz target: an empty message made an error that said nothing.
#[tokio::test]
async fn a_400_with_an_empty_error_message() {
    for message in ["", "   "] {
        let body = format!(
            r#"{{"error":{{"type":"invalid_request_error","code":"parameter_invalid","message":"{message}","request_id":"req_2"}}}}"#
        );
        let (error, _) = get(http(
            "400 Bad Request",
            &[("content-type", "application/json")],
            body.as_bytes(),
        ))
        .await;
        let api = error.api_error().expect("api");
        assert_eq!(api.message, "the API gave no message");
        assert_eq!(
            api.code.as_ref().map(|c| c.as_str()),
            Some("parameter_invalid")
        );
        assert_eq!(api.request_id.as_deref(), Some("req_2"));
        assert!(
            error.to_string().contains("the API gave no message"),
            "{error}"
        );
    }
}

/// Ids that would make the URL name another path are refused before anything is sent: `..`
/// percent-encoded is still a dot segment to URL parsing (`/campaigns/%2E%2E/ads` would become
/// `/ads`), and an empty id leaves an empty segment (`DELETE /campaigns/` is the collection).
#[tokio::test]
async fn ids_naming_another_path_are_refused_before_sending() {
    let envelope = format!(r#"{{"data":{CAMPAIGN},"meta":{{}}}}"#);
    let server = raw_server(json_200(envelope.as_bytes())).await;
    let client = client(&server, 1, MIB);
    for (id, says) in [
        (".", "`.` or `..`"),
        ("..", "`.` or `..`"),
        ("", "is empty"),
    ] {
        let id = CampaignId::new(id);
        let errors = [
            client.campaigns().get(&id).send().await.map(drop),
            client.campaigns().delete(&id).send().await.map(drop),
            client.campaigns().ads(&id).list().send().await.map(drop),
        ];
        for result in errors {
            let error = result.expect_err("refused");
            assert!(error.is_config(), "{error:?}");
            assert!(
                error.report().to_string().contains(says),
                "{}",
                error.report()
            );
        }
    }
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
    // Ids with characters that mean something in a URL stay inside their segment.
    let campaign = client
        .campaigns()
        .get(CampaignId::new("a/../b?c#d%2E"))
        .send()
        .await
        .expect("an escaped id is sent");
    assert_eq!(campaign.id.to_string(), "cmp_1");
    assert_eq!(
        *server.targets.lock().expect("targets"),
        ["/v1/campaigns/a%2F..%2Fb%3Fc%23d%252E"]
    );
}

// ------------------------------------------------------------------------------------------
// Bodies that lie about their encoding or length, and bodies that are too large.

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("compress");
    encoder.finish().expect("compress")
}

#[tokio::test]
async fn a_gzip_body_that_is_truncated() {
    let whole = gzip(format!(r#"{{"data":{CAMPAIGN}}}"#).as_bytes());
    let cut = &whole[..whole.len() / 2];
    let (error, requests) = get_with(
        http(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            cut,
        ),
        2,
        MIB,
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    assert!(
        error.report().to_string().contains("does not decompress"),
        "{}",
        error.report()
    );
    // The same request would get the same body: not retried.
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_gzip_body_that_is_garbage() {
    let (error, _) = get(http(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        b"\x1f\x8b\x08\x00garbage that is not deflate at all",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    assert!(
        error.report().to_string().contains("does not decompress"),
        "{}",
        error.report()
    );
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_size_cap() {
    let bomb = gzip(&vec![b' '; 8 * MIB]);
    assert!(bomb.len() < 64 * 1024, "compresses well: {}", bomb.len());
    let (error, requests) = get_with(
        http(
            "200 OK",
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            &bomb,
        ),
        3,
        MIB,
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::ResponseTooLarge, "{error:?}");
    assert!(
        error.report().to_string().contains("max_response_bytes"),
        "{}",
        error.report()
    );
    assert_eq!(requests, 1, "an oversized answer is not retried");
}

#[tokio::test]
async fn a_content_length_above_the_cap_is_refused_before_reading() {
    // Promises 1 GiB and sends 10 bytes: the client must not wait for (or allocate) the rest.
    let (error, _) = get(http(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-length", "1073741824"),
        ],
        b"{\"data\":[",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::ResponseTooLarge, "{error:?}");
    assert!(
        error.report().to_string().contains("33554432 bytes"),
        "{}",
        error.report()
    );
}

#[tokio::test]
async fn an_endless_body_without_length_stops_at_the_cap() {
    let (error, requests) = get_with(Answer::EndlessChunked, 3, 2 * MIB).await;
    assert_eq!(error.kind(), ErrorKind::ResponseTooLarge, "{error:?}");
    assert!(
        error.report().to_string().contains("2097152 bytes"),
        "{}",
        error.report()
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_content_length_promising_more_than_is_sent() {
    let (error, _) = get(http(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-length", "5000"),
        ],
        br#"{"data":"#,
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
}

#[tokio::test]
async fn an_answer_that_is_not_http() {
    let (error, _) = get(Answer::Bytes(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec())).await;
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    let (error, _) = get(Answer::Bytes(Vec::new())).await;
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
}

// ------------------------------------------------------------------------------------------
// Public constructors and parsers.

#[test]
fn client_builder_refuses_bad_configuration() {
    support::install_crypto();
    let huge = format!("https://api.example.com/{}", "a".repeat(MIB));
    // A long path is legal; it must not panic and must not need the network.
    let _ = Client::builder(huge).build();

    for (url, says) in [
        ("", "not an absolute URL"),
        ("api.example.com/v1", "not an absolute URL"),
        ("https://", "not an absolute URL"),
        ("ftp://api.example.com/v1", "not supported"),
        ("http://api.example.com/v1", "allow_insecure_http"),
        ("https://api.example.com/v1?key=1", "query string"),
        ("https://ex\u{0}ample.com/v1", "not an absolute URL"),
    ] {
        let error = Client::builder(url).build().expect_err(url);
        assert!(error.is_config(), "{url}: {error}");
        assert!(error.to_string().contains(says), "{url}: {error}");
        assert_eq!(error.attempts(), 0);
    }
    let error = Client::builder("https://me:hunter2@api.example.com/v1")
        .build()
        .expect_err("credentials");
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let base = || Client::builder("https://api.example.com/v1");
    let cases: Vec<(&str, marketing_api::ClientBuilder)> = vec![
        ("header name", base().default_header("bad name\n", "x")),
        (
            "header value",
            base().default_header("x-tag", "a\r\nInjected: 1"),
        ),
        ("user agent", base().user_agent("agent\u{7f}")),
        ("max_response_bytes", base().max_response_bytes(0)),
        ("pin", base().pin_spki_sha256("\u{fffd}\u{fffd}")),
        ("root", base().add_root_certificate(vec![0x30, 0x03, 0x02])),
    ];
    for (what, builder) in cases {
        let error = builder.build().expect_err(what);
        assert!(error.is_config(), "{what}: {error}");
    }
    assert!(SpkiPin::from_base64(&"A".repeat(MIB)).is_err());
}

#[test]
fn credentials_refuse_what_cannot_be_a_header() {
    for bad in ["", "   ", "mk_live\n", "mk live", "mk_\u{e9}", "mk\u{0}"] {
        assert!(
            matches!(ApiKey::new(bad), Err(AuthError::InvalidApiKey { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(
                BearerToken::new(bad),
                Err(AuthError::InvalidBearerToken { .. })
            ),
            "{bad:?}"
        );
    }
    // Long but well-formed: accepted (the server decides), no panic.
    assert!(ApiKey::new("k".repeat(MIB)).is_ok());

    support::install_crypto();
    for oauth in [
        OAuth2::client_credentials("", "secret", "https://api.example.com/v1/oauth/token"),
        OAuth2::client_credentials("cli_1", "secret", "not a url"),
        OAuth2::client_credentials("cli_1", "secret", "http://auth.example.com/token"),
    ] {
        let error = Client::builder("https://api.example.com/v1")
            .auth(oauth)
            .build()
            .expect_err("bad OAuth configuration");
        assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
        assert!(error.auth_error().is_some(), "{error:?}");
    }
}

#[test]
fn webhook_secrets_refuse_empty_and_non_base64() {
    for bad in [
        "",
        "   ",
        "whsec_",
        "whsec_***not-base64***",
        "whsec_\u{e9}",
    ] {
        assert!(
            matches!(
                WebhookSecret::parse(bad),
                Err(WebhookError::InvalidSecret { .. })
            ),
            "{bad:?}"
        );
        assert!(Verifier::new(bad).is_err(), "{bad:?}");
    }
    assert!(matches!(
        WebhookSecret::from_bytes(Vec::new()),
        Err(WebhookError::InvalidSecret { .. })
    ));
}

#[test]
fn webhook_events_refuse_malformed_bodies() {
    let event = br#"{"id":"evt_1","type":"campaign.deleted","created_at":"2026-01-01T00:00:00Z","data":{"id":"cmp_1"}}"#;
    let cases: [(&str, Vec<u8>, bool); 6] = [
        ("empty", Vec::new(), true),
        ("non-UTF-8", b"{\"type\":\"\xff\"}".to_vec(), true),
        ("truncated", event[..event.len() / 2].to_vec(), true),
        ("wrong type", br#"{"type":42}"#.to_vec(), false),
        ("no type", br#"{"id":"evt_1"}"#.to_vec(), false),
        ("HTML", b"<html>502</html>".to_vec(), true),
    ];
    for (what, body, not_json) in cases {
        let error = Event::from_slice(&body).expect_err(what);
        assert_eq!(error.is_syntax(), not_json, "{what}: {error}");
    }
    // Known type with the wrong payload shape.
    let error = Event::from_slice(br#"{"id":"evt_1","type":"campaign.deleted","data":[]}"#)
        .expect_err("wrong shape");
    assert!(!error.is_syntax());
    // A type this SDK does not know yet still parses.
    let unknown = Event::from_slice(
        br#"{"id":"evt_2","type":"loyalty.tier_changed","created_at":"2026-01-01T00:00:00Z","data":{}}"#,
    )
    .expect("forward compatible");
    assert!(matches!(unknown, Event::Unknown(_)), "{unknown:?}");
    // Deep nesting is refused by the recursion limit, not a stack overflow.
    let deep = format!(
        r#"{{"type":"x","data":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Event::from_slice(deep.as_bytes()).is_err());
}

#[test]
fn webhook_verification_refuses_malformed_headers() {
    let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("verifier");
    let body = br#"{"type":"x"}"#;
    let huge = "v1,".repeat(100_000);
    let cases: Vec<Vec<(&str, &[u8])>> = vec![
        vec![],
        vec![
            ("webhook-id", b"msg_1"),
            ("webhook-timestamp", b"1700000000"),
        ],
        vec![
            ("webhook-id", b"msg_1"),
            ("webhook-timestamp", b"\xff\xfe"),
            ("webhook-signature", b"v1,abc"),
        ],
        vec![
            ("webhook-id", b"msg_1"),
            ("webhook-timestamp", b"99999999999999999999999"),
            ("webhook-signature", b"v1,abc"),
        ],
        vec![
            ("webhook-id", b"msg_1"),
            ("webhook-timestamp", b"1700000000"),
            ("webhook-signature", huge.as_bytes()),
        ],
    ];
    for headers in cases {
        let error = verifier.verify(&headers, body).expect_err("refused");
        assert!(
            matches!(
                error,
                WebhookError::MissingHeader { .. }
                    | WebhookError::MalformedHeader { .. }
                    | WebhookError::NoMatchingSignature
                    | WebhookError::TimestampTooOld { .. }
                    | WebhookError::TimestampInFuture { .. }
            ),
            "{error:?}"
        );
        assert!(error.status().is_client_error(), "{error}");
    }
}
