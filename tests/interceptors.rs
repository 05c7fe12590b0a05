//! Interceptors end to end: the public [`Client`] against wiremock on 127.0.0.1 (waits on an
//! injected clock), with recording interceptors registered on the builder.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use marketing_api::auth::ApiKey;
use marketing_api::clock::ManualClock;
use marketing_api::interceptor::{Context, HookError, Interceptor};
use marketing_api::models::CampaignId;
use marketing_api::retry::RetryPolicy;
use serde_json::json;
use support::campaign;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "sk_test_interceptors_0123456789";

/// Records every hook call as one line.
#[derive(Default)]
struct Recorder {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn push(&self, line: String) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {line}", self.name));
    }
}

impl Interceptor for Recorder {
    fn before_send(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        // The credential is hidden from hooks, the idempotency key and the rest are not.
        assert!(ctx.header("x-api-key").is_none());
        assert!(ctx.headers().all(|(name, _)| name != "x-api-key"));
        self.push(format!(
            "before_send {} {} {} attempt={} ids={:?} as={}",
            ctx.operation_id(),
            ctx.method(),
            ctx.path_template(),
            ctx.attempt(),
            ctx.resource_ids(),
            ctx.credential_identity()
        ));
        Ok(())
    }

    fn after_response(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.push(format!(
            "after_response attempt={} status={} request_id={}",
            ctx.attempt(),
            ctx.status().map_or(0, |s| s.as_u16()),
            ctx.request_id().unwrap_or("-")
        ));
        Ok(())
    }

    fn on_error(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.push(format!("on_error attempt={}", ctx.attempt()));
        Ok(())
    }

    fn on_retry(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.push(format!(
            "on_retry attempt={} status={} delay_ms={}",
            ctx.attempt(),
            ctx.status().map_or(0, |s| s.as_u16()),
            ctx.retry_delay().unwrap_or_default().as_millis()
        ));
        Ok(())
    }

    fn on_complete(&self, ctx: &Context<'_>) -> Result<(), HookError> {
        self.push(format!(
            "on_complete attempts={} status={} failed={}",
            ctx.attempt(),
            ctx.status().map_or(0, |s| s.as_u16()),
            ctx.error().is_some()
        ));
        Ok(())
    }
}

/// Fails every hook, by error or by panic.
struct Broken {
    panic: bool,
}

impl Interceptor for Broken {
    fn before_send(&self, _: &Context<'_>) -> Result<(), HookError> {
        if self.panic {
            panic!("a broken interceptor");
        }
        Err("refusing".into())
    }

    fn on_complete(&self, _: &Context<'_>) -> Result<(), HookError> {
        Err("refusing again".into())
    }
}

struct Script(Vec<ResponseTemplate>, std::sync::atomic::AtomicUsize);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0[n.min(self.0.len() - 1)].clone()
    }
}

fn unavailable(request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(503)
        .insert_header("x-request-id", request_id)
        .set_body_json(
            json!({"error": {"type": "api_error", "code": "service_unavailable",
            "message": "try again", "request_id": request_id}}),
        )
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-request-id", "req_3")
        .set_body_json(json!({"data": campaign("cmp_1"), "meta": {"request_id": "req_3"}}))
}

async fn server(responses: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(Script(responses, Default::default()))
        .mount(&server)
        .await;
    server
}

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

#[tokio::test]
async fn an_interceptor_sees_every_attempt_of_a_retried_request_in_order() {
    let server = server(vec![unavailable("req_1"), unavailable("req_2"), ok()]).await;
    let clock = clock();
    let log = Arc::new(Mutex::new(Vec::new()));
    let client = support::on_manual_clock(format!("{}/v1", server.uri()), &clock)
        .auth(ApiKey::new(KEY).unwrap())
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(100)),
        )
        .interceptor(Recorder {
            name: "first",
            log: log.clone(),
        })
        .interceptor(Recorder {
            name: "second",
            log: log.clone(),
        })
        .build()
        .unwrap();

    client
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await
        .expect("the third attempt succeeds");

    let log = log.lock().unwrap().clone();
    // Both interceptors, in registration order at every point.
    let first: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("first "))
        .collect();
    let second: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("second "))
        .collect();
    assert_eq!(first, second);
    for pair in log.chunks(2) {
        assert!(
            pair[0].starts_with("first ") && pair[1].starts_with("second "),
            "{log:#?}"
        );
    }
    let ids = "ids=[(\"campaign_id\", \"cmp_1\")]";
    let who = format!("as=api_key:{}", &KEY[..10]);
    let expected_prefix = [
        format!("before_send getCampaign GET /campaigns/{{campaign_id}} attempt=1 {ids} {who}"),
        "after_response attempt=1 status=503 request_id=req_1".to_owned(),
    ];
    assert_eq!(first[..2], expected_prefix, "{first:#?}");
    assert!(
        first[2].starts_with("on_retry attempt=1 status=503 delay_ms="),
        "{first:#?}"
    );
    assert!(first[3].contains("attempt=2"), "{first:#?}");
    assert_eq!(
        first[4],
        "after_response attempt=2 status=503 request_id=req_2"
    );
    assert!(
        first[5].starts_with("on_retry attempt=2 status=503"),
        "{first:#?}"
    );
    assert!(first[6].contains("attempt=3"), "{first:#?}");
    assert_eq!(
        first[7],
        "after_response attempt=3 status=200 request_id=req_3"
    );
    assert_eq!(first[8], "on_complete attempts=3 status=200 failed=false");
    assert_eq!(first.len(), 9, "{first:#?}");
}

#[tokio::test]
async fn a_failed_request_completes_with_its_error_and_attempts() {
    let server = server(vec![unavailable("req_1")]).await;
    let clock = clock();
    let log = Arc::new(Mutex::new(Vec::new()));
    let client = support::on_manual_clock(format!("{}/v1", server.uri()), &clock)
        .retry_policy(RetryPolicy::default().max_attempts(2))
        .interceptor(Recorder {
            name: "r",
            log: log.clone(),
        })
        .build()
        .unwrap();
    let error = client
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await
        .expect_err("every attempt fails");
    assert_eq!(error.attempts(), 2);
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.last().map(String::as_str),
        Some("r on_complete attempts=2 status=503 failed=true")
    );
    assert!(log[0].ends_with("as=none"), "{log:#?}");
}

#[tokio::test]
async fn an_interceptor_that_fails_or_panics_changes_nothing_and_is_counted() {
    for panic in [false, true] {
        let server = server(vec![ok()]).await;
        let clock = clock();
        let log = Arc::new(Mutex::new(Vec::new()));
        let client = support::on_manual_clock(format!("{}/v1", server.uri()), &clock)
            .auth(ApiKey::new(KEY).unwrap())
            .interceptor(Broken { panic })
            .interceptor(Recorder {
                name: "after",
                log: log.clone(),
            })
            .build()
            .unwrap();
        let campaign = client
            .campaigns()
            .get(CampaignId::new("cmp_1"))
            .send()
            .await
            .expect("the request is unaffected");
        assert_eq!(campaign.id, CampaignId::new("cmp_1"));
        // The request went out whole: with its credential.
        let sent = server.received_requests().await.unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].headers["x-api-key"], KEY);
        // The interceptor after the broken one still ran at every point.
        assert_eq!(log.lock().unwrap().len(), 3, "{:?}", log.lock().unwrap());
        assert_eq!(client.interceptor_failures(), 2, "panic: {panic}");
    }
}

#[tokio::test]
async fn a_refused_request_and_an_operation_timeout_each_complete_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/campaigns/cmp_1"))
        .respond_with(ok().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let client = marketing_api::Client::builder(format!("{}/v1", server.uri()))
        .auth(ApiKey::new(KEY).unwrap())
        .operation_timeout(Duration::from_millis(200))
        .interceptor(Recorder {
            name: "r",
            log: log.clone(),
        })
        .build()
        .unwrap();

    // Refused before anything is sent: an idempotency key no header can carry.
    let new = marketing_api::models::NewCampaign::builder()
        .name("Winter sale")
        .budget_cents(500_000)
        .build();
    let refused = client
        .campaigns()
        .create(&new)
        .idempotency_key("two\nlines")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(refused.kind(), marketing_api::ErrorKind::Config);
    assert_eq!(
        log.lock().unwrap().clone(),
        ["r on_complete attempts=0 status=0 failed=true"]
    );

    // Cut short by the operation timeout while the answer is on its way.
    log.lock().unwrap().clear();
    let timed_out = client
        .campaigns()
        .get(CampaignId::new("cmp_1"))
        .send()
        .await
        .expect_err("timed out");
    assert_eq!(timed_out.kind(), marketing_api::ErrorKind::Timeout);
    let log = log.lock().unwrap().clone();
    let completes: Vec<_> = log.iter().filter(|l| l.contains("on_complete")).collect();
    assert_eq!(
        completes,
        ["r on_complete attempts=0 status=0 failed=true"],
        "{log:#?}"
    );
    assert!(log[0].starts_with("r before_send"), "{log:#?}");
}
