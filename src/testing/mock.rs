//! [`MockApi`]: a wiremock server that speaks the contract, with a typed helper per operation.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::{Value, json};
use wiremock::matchers::{method as method_is, path as path_is};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate, Times};

use super::contract::{Contract, ContractViolation, OperationContract};
use crate::models::ErrorType;

/// The status the catch-all answers unexpected requests with: outside every status the spec
/// declares, and never retried by the SDK.
pub const UNEXPECTED_REQUEST_STATUS: u16 = 599;

/// The API key [`MockApi::client`] authenticates with.
pub const MOCK_API_KEY: &str = "mk_test_mockapi";

/// What went wrong during a test, listed by [`MockApi::verify`].
#[derive(Default)]
struct Findings {
    unexpected: Vec<String>,
    violations: Vec<ContractViolation>,
}

/// A mock of the API for tests of code that uses the SDK: a [wiremock](https://docs.rs/wiremock)
/// server on `127.0.0.1` with a typed helper per operation of the spec.
///
/// * Helpers mirror the client: `mock.campaigns().get(&id)` mocks what
///   `client.campaigns().get(&id)` sends. Finish with `.returns(entity)`, `.returns_page(items)`,
///   `.succeeds()` (204) or `.fails(status, ErrorType, code)`; `.times(n)` sets how many calls
///   are expected (default: at least one).
/// * Every request a mocked operation receives is checked against the spec (query, headers,
///   body); one that does not match is answered with 400 naming the operation and the field,
///   and is reported by [`verify`](Self::verify).
/// * Any request no helper mocks is answered with
///   [`UNEXPECTED_REQUEST_STATUS`] (599) and reported by [`verify`](Self::verify).
///
/// ```
/// use marketing_api::models::{Campaign, CampaignId, ErrorType, NewCampaign};
/// use marketing_api::testing::MockApi;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let mock = MockApi::start().await;
/// let campaign: Campaign = MockApi::example("Campaign")?;
/// mock.campaigns().create().times(1).returns(campaign.clone()).await;
/// mock.campaigns()
///     .get(&CampaignId::new("cmp_missing"))
///     .fails(404, ErrorType::NotFoundError, "resource_missing")
///     .await;
///
/// let client = mock.client();
/// let created = client.campaigns().create(&NewCampaign::builder().name("Launch").budget_cents(100_000).build()).send().await?;
/// assert_eq!(created.id, campaign.id);
/// let missing = client.campaigns().get(&CampaignId::new("cmp_missing")).send().await;
/// assert_eq!(missing.unwrap_err().status().map(|s| s.as_u16()), Some(404));
///
/// mock.verify().await; // panics listing unexpected requests and contract violations
/// # Ok(()) }
/// ```
pub struct MockApi {
    server: MockServer,
    contract: &'static Contract,
    findings: Arc<Mutex<Findings>>,
}

impl fmt::Debug for MockApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockApi")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

/// Records and answers requests no helper mocks.
struct CatchAll {
    findings: Arc<Mutex<Findings>>,
}

impl Respond for CatchAll {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let line = format!(
            "{} {}{}",
            request.method,
            request.url.path(),
            request
                .url
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        );
        tracing::error!(request = %line, "MockApi: unexpected request");
        self.findings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unexpected
            .push(line.clone());
        ResponseTemplate::new(UNEXPECTED_REQUEST_STATUS).set_body_json(json!({
            "error": {
                "type": "api_error",
                "code": "unexpected_request",
                "message": format!("MockApi: no mock for {line}; mock it with a MockApi helper"),
                "request_id": "req_mockunexpected",
            }
        }))
    }
}

impl MockApi {
    /// Starts the server on `127.0.0.1` and a free port, with the catch-all for unexpected
    /// requests in place.
    ///
    /// # Panics
    /// If the bundled spec cannot be compiled into validators (a broken build of the SDK).
    pub async fn start() -> MockApi {
        let contract = match Contract::bundled() {
            Ok(contract) => contract,
            Err(error) => panic!("MockApi cannot start: {error}"),
        };
        let server = MockServer::start().await;
        let findings = Arc::new(Mutex::new(Findings::default()));
        Mock::given(wiremock::matchers::any())
            .respond_with(CatchAll {
                findings: findings.clone(),
            })
            .with_priority(u8::MAX)
            .named("MockApi catch-all for unexpected requests")
            .mount(&server)
            .await;
        MockApi {
            server,
            contract,
            findings,
        }
    }

    /// The base URL to give the client, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// A client for [`base_url`](Self::base_url), authenticated with [`MOCK_API_KEY`] and
    /// without retries, so a test sees every answer as is.
    ///
    /// # Panics
    /// Never for the built-in configuration; a failure would be an SDK bug.
    pub fn client(&self) -> crate::Client {
        let key = match crate::auth::ApiKey::new(MOCK_API_KEY) {
            Ok(key) => key,
            Err(error) => panic!("MockApi::client: {error}"),
        };
        let built = crate::Client::builder(self.base_url())
            .auth(key)
            .retry_policy(crate::retry::RetryPolicy::never())
            .build();
        match built {
            Ok(client) => client,
            Err(error) => panic!("MockApi::client: {error}"),
        }
    }

    /// The underlying wiremock server, to mount mocks of your own.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// The contract requests are checked against.
    pub fn contract(&self) -> &'static Contract {
        self.contract
    }

    /// The `example` of a component schema of the spec, decoded into its type: a ready-made,
    /// spec-valid fixture.
    ///
    /// # Errors
    /// If the schema has no example or the example does not decode into `T`.
    pub fn example<T: serde::de::DeserializeOwned>(
        schema: &str,
    ) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
        let contract = Contract::bundled()?;
        let example = contract
            .schema_examples()
            .iter()
            .find(|(name, _)| name == schema)
            .map(|(_, example)| example.clone())
            .ok_or_else(|| format!("components.schemas.{schema} has no example"))?;
        Ok(serde_json::from_value(example)?)
    }

    /// Requests no helper mocked, as `METHOD /path?query`.
    pub fn unexpected_requests(&self) -> Vec<String> {
        self.lock().unexpected.clone()
    }

    /// Requests to mocked operations that did not match the spec.
    pub fn violations(&self) -> Vec<ContractViolation> {
        self.lock().violations.clone()
    }

    /// Checks the test's traffic: panics listing every unexpected request and every request
    /// that did not match the spec, then checks each helper's `.times(..)` expectation.
    ///
    /// # Panics
    /// On any unexpected request, contract violation or unmet expectation: that is its job.
    pub async fn verify(&self) {
        let report = {
            let findings = self.lock();
            let mut lines = Vec::new();
            for request in &findings.unexpected {
                lines.push(format!("unexpected request (no mock): {request}"));
            }
            for violation in &findings.violations {
                lines.push(format!("request does not match the spec: {violation}"));
            }
            lines
        };
        if !report.is_empty() {
            panic!("MockApi::verify failed:\n  {}", report.join("\n  "));
        }
        self.server.verify().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Findings> {
        self.findings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A mock of one operation; the generated helpers call this.
    #[doc(hidden)]
    pub fn operation<K>(&self, operation_id: &'static str, path: String) -> OperationMock<'_, K> {
        OperationMock {
            api: self,
            operation_id,
            path,
            times: None,
            kind: PhantomData,
        }
    }
}

/// Marks an operation answering `{"data": T, "meta": ...}`.
#[derive(Debug)]
pub struct Single<T>(PhantomData<T>);

/// Marks a list operation answering a page of `T`.
#[derive(Debug)]
pub struct List<T>(PhantomData<T>);

/// Marks an operation answering 204 with no body.
#[derive(Debug)]
pub struct Empty;

/// Marks an operation answering a text body (`text/csv`, …), which the SDK streams.
#[derive(Debug)]
pub struct Text;

/// The mock of one operation, from a [`MockApi`] helper; finish it with an answer.
#[must_use = "a mock does nothing until an answer (`.returns(..)`, `.fails(..)`…) is awaited"]
pub struct OperationMock<'a, K> {
    api: &'a MockApi,
    operation_id: &'static str,
    path: String,
    times: Option<Times>,
    kind: PhantomData<K>,
}

impl<K> fmt::Debug for OperationMock<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationMock")
            .field("operation", &self.operation_id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Answers a mocked operation after checking the request against the spec.
struct ContractResponder {
    operation: &'static OperationContract,
    findings: Arc<Mutex<Findings>>,
    answer: ResponseTemplate,
}

impl Respond for ContractResponder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        match self
            .operation
            .validate_request(request.url.query(), &request.headers, &request.body)
        {
            Ok(()) => self.answer.clone(),
            Err(violation) => {
                tracing::error!(%violation, "MockApi: request does not match the spec");
                let param = violation
                    .problems
                    .first()
                    .map(|p| p.field.clone())
                    .unwrap_or_default();
                let message = violation.to_string();
                self.findings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .violations
                    .push(violation);
                ResponseTemplate::new(400).set_body_json(json!({
                    "error": {
                        "type": "invalid_request_error",
                        "code": "contract_violation",
                        "message": message,
                        "param": param,
                        "request_id": "req_mockviolation",
                    }
                }))
            }
        }
    }
}

fn envelope(data: Value) -> Value {
    json!({ "data": data, "meta": { "request_id": "req_mock" } })
}

impl<'a, K> OperationMock<'a, K> {
    /// How many calls are expected (`1`, `0..=2`, `1..`); checked by [`MockApi::verify`] and
    /// when the mock server drops. Default: at least one.
    pub fn times(mut self, times: impl Into<Times>) -> Self {
        self.times = Some(times.into());
        self
    }

    fn operation(&self) -> &'static OperationContract {
        match self.api.contract.operation(self.operation_id) {
            Some(op) => op,
            None => panic!(
                "MockApi: operation {} is not in the bundled spec",
                self.operation_id
            ),
        }
    }

    /// Answers with any status and JSON body, unchecked: for answers the spec does not
    /// describe (a future field, a malformed body) in robustness tests.
    pub async fn returns_raw(self, status: u16, body: Value) {
        let answer = ResponseTemplate::new(status)
            .set_body_json(body)
            .insert_header("x-request-id", "req_mock");
        self.mount(answer).await;
    }

    /// Answers with an API error (`{"error": {...}}`): `fails(404, ErrorType::NotFoundError,
    /// "resource_missing")`.
    ///
    /// # Panics
    /// If the operation does not declare `status`.
    pub async fn fails(self, status: u16, error_type: ErrorType, code: &str) {
        let body = json!({
            "error": {
                "type": error_type.as_str(),
                "code": code,
                "message": format!("mocked {status} {}", error_type.as_str()),
                "request_id": "req_mock",
            }
        });
        self.checked(status, body).await;
    }

    async fn checked(self, status: u16, body: Value) {
        let bytes = body.to_string();
        if let Err(violation) = self
            .operation()
            .validate_response_body(status, bytes.as_bytes())
        {
            panic!("MockApi: the mocked answer does not match the spec: {violation}");
        }
        let answer = ResponseTemplate::new(status)
            .set_body_json(body)
            .insert_header("x-request-id", "req_mock");
        self.mount(answer).await;
    }

    async fn mount(self, answer: ResponseTemplate) {
        let operation = self.operation();
        let method = operation.method().clone();
        let full_path = format!("/v1{}", self.path);
        let mock = Mock::given(method_is(method.as_str()))
            .and(path_is(full_path.as_str()))
            .respond_with(ContractResponder {
                operation,
                findings: self.api.findings.clone(),
                answer,
            })
            .named(format!("{} {} {}", self.operation_id, method, full_path))
            .expect(self.times.unwrap_or_else(|| (1..).into()));
        mock.mount(&self.api.server).await;
    }

    fn success_status(&self) -> u16 {
        self.operation()
            .statuses()
            .filter_map(|s| s.parse::<u16>().ok())
            .find(|s| (200..300).contains(s))
            .unwrap_or(200)
    }
}

impl OperationMock<'_, Text> {
    /// Answers with the operation's success status and `body`, as the media type the spec
    /// declares for it (`text/csv`).
    pub async fn returns(self, body: impl Into<String>) {
        let status = self.success_status();
        let media = self
            .operation()
            .response_media_type(status)
            .unwrap_or("text/plain")
            .to_owned();
        let answer = ResponseTemplate::new(status)
            .set_body_raw(body.into().into_bytes(), &media)
            .insert_header("x-request-id", "req_mock");
        self.mount(answer).await;
    }
}

impl<T: Serialize> OperationMock<'_, Single<T>> {
    /// Answers with the operation's success status and `{"data": value, "meta": ...}`.
    ///
    /// # Panics
    /// If `value` does not match the spec's schema (use [`returns_raw`](Self::returns_raw) for
    /// deliberately off-spec answers).
    pub async fn returns(self, value: T) {
        let status = self.success_status();
        let data = serde_json::to_value(value).unwrap_or(Value::Null);
        self.checked(status, envelope(data)).await;
    }
}

impl<T: Serialize> OperationMock<'_, List<T>> {
    /// Answers with a single (last) page of `items`.
    ///
    /// # Panics
    /// If an item does not match the spec's schema.
    pub async fn returns_page(self, items: Vec<T>) {
        self.returns_page_with_cursor(items, None).await;
    }

    /// Answers with a page of `items` followed by more at `next_cursor` (`None`: the last
    /// page). Mock the next page with [`returns_raw`](Self::returns_raw) or a custom matcher on
    /// [`MockApi::server`] when a test pages further.
    ///
    /// # Panics
    /// If an item does not match the spec's schema.
    pub async fn returns_page_with_cursor(self, items: Vec<T>, next_cursor: Option<&str>) {
        let status = self.success_status();
        let data = serde_json::to_value(items).unwrap_or(Value::Null);
        let body = json!({
            "data": data,
            "meta": {
                "request_id": "req_mock",
                "next_cursor": next_cursor,
                "has_more": next_cursor.is_some(),
            }
        });
        self.checked(status, body).await;
    }
}

impl OperationMock<'_, Empty> {
    /// Answers with the operation's success status (204) and no body.
    pub async fn succeeds(self) {
        let status = self.success_status();
        let answer = ResponseTemplate::new(status).insert_header("x-request-id", "req_mock");
        self.mount(answer).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{CampaignId, NewCampaign};

    async fn raw_post(mock: &MockApi, path: &str, body: Value) -> reqwest::Response {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
            .post(format!("{}{path}", mock.base_url()))
            .header("x-api-key", MOCK_API_KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the mock answers")
    }

    #[tokio::test]
    async fn a_request_off_the_spec_is_answered_400_and_recorded_with_operation_and_field() {
        let mock = MockApi::start().await;
        mock.campaigns()
            .create()
            .times(1)
            .returns_raw(201, json!({}))
            .await;
        let answer = raw_post(&mock, "/campaigns", json!({"budget_cents": 10})).await;
        assert_eq!(answer.status().as_u16(), 400);
        let body: Value =
            serde_json::from_slice(&answer.bytes().await.expect("a body")).expect("JSON");
        assert_eq!(body["error"]["param"], "name");
        let violations = mock.violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].to_string(),
            "createCampaign: request does not match the spec: `name`: required field is missing"
        );
    }

    #[tokio::test]
    async fn an_unmocked_request_is_answered_599_and_listed() {
        let mock = MockApi::start().await;
        let error = mock
            .client()
            .campaigns()
            .get(CampaignId::new("cmp_1"))
            .send()
            .await
            .expect_err("nothing is mocked");
        assert_eq!(
            error.status().map(|s| s.as_u16()),
            Some(UNEXPECTED_REQUEST_STATUS)
        );
        assert_eq!(mock.unexpected_requests(), vec!["GET /v1/campaigns/cmp_1"]);
    }

    #[tokio::test]
    #[should_panic(expected = "unexpected request (no mock): POST /v1/campaigns")]
    async fn verify_panics_listing_unexpected_requests() {
        let mock = MockApi::start().await;
        let _ = mock
            .client()
            .campaigns()
            .create(&NewCampaign::builder().name("x").budget_cents(1).build())
            .send()
            .await;
        mock.verify().await;
    }

    #[tokio::test]
    async fn typed_helpers_answer_what_the_client_asks_for() {
        let mock = MockApi::start().await;
        let campaign: crate::models::Campaign =
            MockApi::example("Campaign").expect("the spec has an example");
        mock.campaigns()
            .list()
            .times(1)
            .returns_page(vec![campaign.clone()])
            .await;
        mock.campaigns()
            .delete(&campaign.id)
            .times(1)
            .succeeds()
            .await;
        let client = mock.client();
        let page = client.campaigns().list().send().await.expect("mocked");
        assert_eq!(page.items, vec![campaign.clone()]);
        assert!(!page.has_more);
        client
            .campaigns()
            .delete(&campaign.id)
            .send()
            .await
            .expect("mocked");
        mock.verify().await;
    }

    #[tokio::test]
    #[should_panic(expected = "the mocked answer does not match the spec")]
    async fn an_answer_off_the_spec_is_refused_when_mounted() {
        let mock = MockApi::start().await;
        let mut campaign: crate::models::Campaign =
            MockApi::example("Campaign").expect("the spec has an example");
        campaign.currency = "euro".into();
        mock.campaigns()
            .get(campaign.id.clone())
            .returns(campaign)
            .await;
    }
}
