//! The one error type every operation returns.
//!
//! [`Error`] is opaque, like `reqwest::Error`: ask it questions (`is_rate_limited`,
//! `is_not_found`, `api_error`, `decode_path`, …) instead of matching on its insides, so new
//! failure kinds can be added without breaking callers. `source()` chains to the underlying
//! transport, decode or authentication error; `Display` says only this error's own part, so
//! chain reporters (`anyhow`'s `{:#}`, `eyre`) print each message once, and
//! [`Error::report`] prints the whole chain on one line.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::auth::AuthError;
#[cfg(marketing_api_bundled_spec)]
use crate::models::{ErrorCode, ErrorDetail, ErrorType};
use crate::retry::AttemptFailure;

/// A string newtype standing in for a generated enum when the SDK is generated from a spec
/// that does not define it (the bundled contract defines both `ErrorType` and `ErrorCode`).
#[cfg(not(marketing_api_bundled_spec))]
macro_rules! wire_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

#[cfg(not(marketing_api_bundled_spec))]
wire_string! {
    /// The class of an API error (`error.type`), as the API names it.
    ErrorType
}

#[cfg(not(marketing_api_bundled_spec))]
wire_string! {
    /// The machine-readable code of an API error (`error.code`), as the API names it.
    ErrorCode
}

/// One fault of a request body (`error.details[]`), standing in for the contract's
/// `ErrorDetail` when the SDK is generated from a spec that does not define it.
#[cfg(not(marketing_api_bundled_spec))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// Where the fault is, as a JSON pointer into the request body.
    pub pointer: String,
    /// What is wrong there.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
/// Shared rather than boxed: an authentication failure is handed to every request that waited
/// for the same token request.
type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with an operation.
///
/// ```
/// # async fn run(client: marketing_api::Client, id: marketing_api::models::CampaignId) {
/// match client.campaigns().get(&id).send().await {
///     Ok(campaign) => println!("{}", campaign.name),
///     Err(e) if e.is_not_found() => println!("no such campaign"),
///     Err(e) if e.is_rate_limited() => println!("slow down: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    operation: Option<&'static str>,
    attempts: u32,
    api: Option<ApiError>,
    message: Option<String>,
    decode_path: Option<String>,
    source: Option<SharedError>,
    /// How the attempt failed when another attempt may cure it; decided once, when the error is
    /// made from what failed, so the transport and [`Error::is_retryable`] read the same answer.
    failure: Option<AttemptFailure>,
}

/// The broad class of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API answered with an error status ([`Error::api_error`] has the details).
    Api,
    /// The request could not be sent or the connection broke.
    Transport,
    /// An attempt or the whole operation took longer than its timeout.
    Timeout,
    /// The response body did not match the contract ([`Error::decode_path`] says where).
    Decode,
    /// Credentials could not be obtained or were rejected.
    Auth,
    /// The client or request configuration is invalid; nothing was sent.
    Config,
    /// The request body could not be serialized (a map with non-string keys, a value a
    /// `Serialize` implementation refused, a form body that is not an object); nothing was
    /// sent. `source()` has the serializer's error.
    Encode,
    /// The response body exceeded the configured size limit.
    ResponseTooLarge,
    /// A page stream saw a cursor it had already followed (a server bug that would loop forever).
    RepeatedCursor,
    /// The TLS handshake failed: the certificate was rejected, its key matched no pin, or the
    /// server offered no acceptable protocol version. Not retried: the next attempt would fail
    /// the same way.
    Tls,
    /// A field encrypted with JWE (`x-sensitive`) in the response could not be decrypted: no key
    /// for its `kid`, the wrong key, an altered ciphertext, or one moved from another field or
    /// object. [`Error::decrypt_error`] says which (feature `encryption`).
    Decrypt,
}

/// An error answer from the API: `{"error": {"type", "code", "message", "param", "request_id"}}`.
///
/// Whatever the body was, [`headers`](Self::headers) and [`body`](Self::body) give the answer as
/// it came (the body up to [`ApiError::MAX_KEPT_BODY`] bytes), for bodies that are not the API's
/// envelope (a proxy's page, a gateway's JSON) and headers the SDK does not interpret.
#[derive(Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Error class (`invalid_request_error`, `rate_limit_error`, …); `None` when the body was
    /// not the API's error envelope (e.g. an HTML page from a proxy).
    pub error_type: Option<ErrorType>,
    /// Machine-readable code (`resource_missing`, …) as an enum of the codes the contract
    /// lists; a code newer than this SDK arrives as `ErrorCode::Unknown`.
    pub code: Option<ErrorCode>,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field or query parameter, when there is one.
    pub param: Option<String>,
    /// The request id to quote to support.
    pub request_id: Option<String>,
    /// How long the server asked to wait (`Retry-After`), if it said.
    pub retry_after: Option<Duration>,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl ApiError {
    /// How much of an error body is kept: error answers are small; a larger one is cut here.
    pub const MAX_KEPT_BODY: usize = 64 * 1024;

    /// The response headers of the error answer.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The error answer's body as received, cut at [`ApiError::MAX_KEPT_BODY`] bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The faults the answer lists one by one, in its `details`: a refused audience rule
    /// (`invalid_rule`) names each fault by a JSON pointer into the request body, such as
    /// `/rule/all/2/not/field`. Empty when the answer lists none (most errors have one cause,
    /// which [`message`](Self::message) and [`param`](Self::param) give) or its body was not the
    /// API's envelope.
    pub fn details(&self) -> Vec<ErrorDetail> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Listed,
        }
        #[derive(serde::Deserialize)]
        struct Listed {
            #[serde(default)]
            details: Vec<ErrorDetail>,
        }
        serde_json::from_slice::<Envelope>(&self.body)
            .map(|envelope| envelope.error.details)
            .unwrap_or_default()
    }

    /// Keeps the answer's headers and (the start of) its body.
    pub(crate) fn with_answer(mut self, headers: http::HeaderMap, body: bytes::Bytes) -> Self {
        self.body = body.slice(..body.len().min(Self::MAX_KEPT_BODY));
        self.headers = headers;
        self
    }
}

/// Headers and body are left out: they are the server's, may be large and may carry cookies.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("error_type", &self.error_type)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("param", &self.param)
            .field("request_id", &self.request_id)
            .field("retry_after", &self.retry_after)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Error {
    fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                operation: None,
                attempts: 0,
                api: None,
                message: None,
                decode_path: None,
                source: None,
                failure: None,
            }),
        }
    }

    pub(crate) fn api(api: ApiError) -> Self {
        let mut e = Self::new(ErrorKind::Api);
        e.inner.failure = AttemptFailure::of_status(api.status);
        e.inner.api = Some(api);
        e
    }

    /// A transport failure that another attempt would meet again (a body that does not
    /// decompress, a task that panicked).
    pub(crate) fn transport(source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(ErrorKind::Transport);
        e.inner.source = Some(SharedError::from(source.into()));
        e
    }

    /// A transport failure another attempt may cure: `failure` says how the connection failed.
    pub(crate) fn connection(failure: AttemptFailure, source: impl Into<BoxError>) -> Self {
        let mut e = Self::transport(source);
        e.inner.failure = Some(failure);
        e
    }

    pub(crate) fn tls(message: String, source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(ErrorKind::Tls);
        e.inner.message = Some(message);
        e.inner.source = Some(SharedError::from(source.into()));
        e
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::Timeout);
        e.inner.message = Some(message.into());
        e.inner.failure = Some(AttemptFailure::TimedOut);
        e
    }

    /// An attempt that timed out: `failure` says where (a connect timeout never reached the
    /// server).
    pub(crate) fn timeout_from(failure: AttemptFailure, source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(ErrorKind::Timeout);
        e.inner.source = Some(SharedError::from(source.into()));
        e.inner.failure = Some(failure);
        e
    }

    pub(crate) fn decode(path: String, source: serde_json::Error) -> Self {
        let mut e = Self::new(ErrorKind::Decode);
        e.inner.decode_path = Some(path);
        e.inner.source = Some(Arc::new(source));
        e
    }

    /// A text body that is not UTF-8.
    #[allow(dead_code)] // used by code generated from specs with such parameters, bodies or responses
    pub(crate) fn decode_text(valid_up_to: usize) -> Self {
        let mut e = Self::new(ErrorKind::Decode);
        e.inner.decode_path = Some(".".into());
        e.inner.message = Some(format!(
            "the text body is not UTF-8 (invalid from byte {valid_up_to})"
        ));
        e
    }

    /// A CSV body that is not well-formed CSV, at `line` when known.
    #[cfg(feature = "client")]
    pub(crate) fn decode_csv(line: Option<u64>, source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(ErrorKind::Decode);
        e.inner.message = Some(match line {
            Some(line) => format!("the CSV body is malformed at line {line}"),
            None => "the CSV body is malformed".to_owned(),
        });
        e.inner.source = Some(SharedError::from(source.into()));
        e
    }

    pub(crate) fn auth(source: impl Into<Arc<AuthError>>) -> Self {
        let mut e = Self::new(ErrorKind::Auth);
        let source: Arc<AuthError> = source.into();
        e.inner.source = Some(source);
        e
    }

    pub(crate) fn encode(source: SharedError) -> Self {
        let mut e = Self::new(ErrorKind::Encode);
        e.inner.source = Some(source);
        e
    }

    /// A sensitive field of the response that could not be decrypted.
    #[cfg(feature = "encryption")]
    pub(crate) fn decrypt(source: crate::encryption::DecryptError) -> Self {
        let mut e = Self::new(ErrorKind::Decrypt);
        e.inner.source = Some(Arc::new(source));
        e
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::Config);
        e.inner.message = Some(message.into());
        e
    }

    pub(crate) fn config_from(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let mut e = Self::config(message);
        e.inner.source = Some(SharedError::from(source.into()));
        e
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        let mut e = Self::new(ErrorKind::ResponseTooLarge);
        e.inner.message = Some(format!(
            "response body exceeds the limit of {limit} bytes (ClientBuilder::max_response_bytes)"
        ));
        e
    }

    pub(crate) fn repeated_cursor() -> Self {
        let mut e = Self::new(ErrorKind::RepeatedCursor);
        e.inner.message = Some(
            "the server returned a cursor this stream already followed; stopping instead of looping"
                .into(),
        );
        e
    }

    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.inner.operation.get_or_insert(operation);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// How the failed attempt behind this error failed, when another attempt may cure it;
    /// `None` for a failure that would repeat (and for errors that are not about an attempt).
    pub(crate) fn transient_failure(&self) -> Option<AttemptFailure> {
        self.inner.failure
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The operation id (`listCampaigns`, …) that failed, when the error came from one.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The API's error answer, for [`ErrorKind::Api`].
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.api.as_ref().map(|a| a.status)
    }

    /// The request id of an API error, to quote to support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner
            .api
            .as_ref()
            .and_then(|a| a.request_id.as_deref())
    }

    /// For a decode error, the JSON path that failed (e.g. `data[3].metrics.ctr`).
    pub fn decode_path(&self) -> Option<&str> {
        self.inner.decode_path.as_deref()
    }

    /// The authentication error, for [`ErrorKind::Auth`].
    pub fn auth_error(&self) -> Option<&AuthError> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref())
    }

    /// Why a sensitive field could not be decrypted, for [`ErrorKind::Decrypt`].
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn decrypt_error(&self) -> Option<&crate::encryption::DecryptError> {
        self.inner.source.as_deref().and_then(|s| s.downcast_ref())
    }

    /// The server said the rate limit is spent (429).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Credentials were missing, rejected or could not be obtained (401, 403 or a token failure).
    pub fn is_auth(&self) -> bool {
        self.inner.kind == ErrorKind::Auth
            || matches!(
                self.status(),
                Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            )
    }

    /// The resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The request was invalid (400 or 422); [`ApiError::param`] names the field.
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY)
        )
    }

    /// A timeout ended the operation.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// The response did not match the contract.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == ErrorKind::Decode
    }

    /// The configuration was invalid; nothing was sent.
    pub fn is_config(&self) -> bool {
        self.inner.kind == ErrorKind::Config
    }

    /// The failure is transient: trying the same request again later may succeed (the SDK has
    /// already retried as far as its policy allows). The same rule decides which attempts the
    /// SDK retries: 408, 429, 500, 502, 503 and 504 answers, timeouts and broken or refused
    /// connections; not TLS refusals, oversized bodies or bodies that do not decompress.
    /// Authentication failures are transient when the token endpoint (or credential provider)
    /// failed transiently ([`AuthError::is_transient`]).
    pub fn is_retryable(&self) -> bool {
        self.inner.failure.is_some()
            || (self.inner.kind == ErrorKind::Auth
                && self.auth_error().is_some_and(AuthError::is_transient))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(op) = self.inner.operation {
            d.field("operation", &op);
        }
        if self.inner.attempts > 0 {
            d.field("attempts", &self.inner.attempts);
        }
        if let Some(api) = &self.inner.api {
            d.field("api", api);
        }
        if let Some(m) = &self.inner.message {
            d.field("message", m);
        }
        if let Some(p) = &self.inner.decode_path {
            d.field("decode_path", p);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.inner.operation {
            write!(f, "{op}: ")?;
        }
        match self.inner.kind {
            ErrorKind::Api => match &self.inner.api {
                Some(api) => write!(f, "{api}")?,
                None => f.write_str("API error")?,
            },
            ErrorKind::Transport => f.write_str("request failed in transport")?,
            ErrorKind::Timeout => f.write_str("timed out")?,
            ErrorKind::Decode => {
                f.write_str("response does not match the API contract")?;
                if let Some(path) = &self.inner.decode_path {
                    write!(f, " at `{path}`")?;
                }
            }
            ErrorKind::Auth => f.write_str("authentication failed")?,
            ErrorKind::Config => f.write_str("invalid configuration")?,
            ErrorKind::Encode => f.write_str("the request body cannot be encoded")?,
            ErrorKind::ResponseTooLarge => f.write_str("response too large")?,
            ErrorKind::RepeatedCursor => f.write_str("pagination loop")?,
            ErrorKind::Tls => f.write_str("TLS handshake failed")?,
            ErrorKind::Decrypt => f.write_str("a sensitive field could not be decrypted")?,
        }
        if let Some(message) = &self.inner.message {
            write!(f, ": {message}")?;
        }
        // The source is not repeated here: `source()` returns it, and chain reporters print it.
        if self.inner.attempts > 1 {
            write!(f, " (after {} attempts)", self.inner.attempts)?;
        }
        Ok(())
    }
}

impl Error {
    /// The error and every error in its `source()` chain, on one line separated by `: `: what
    /// to log or show when no chain reporter (`anyhow`, `eyre`) is at hand.
    ///
    /// ```
    /// # async fn run(client: marketing_api::Client, id: marketing_api::models::CampaignId) {
    /// if let Err(e) = client.campaigns().get(&id).send().await {
    ///     eprintln!("{}", e.report());
    /// }
    /// # }
    /// ```
    pub fn report(&self) -> impl fmt::Display + '_ {
        Report(self)
    }
}

/// The one-line chain of [`Error::report`].
struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// A value refused by a JSON object field's setter, as an [`ErrorKind::Encode`] error, so `?`
/// works in code that returns the SDK's error.
impl From<crate::NotAJsonObject> for Error {
    fn from(e: crate::NotAJsonObject) -> Self {
        Error::encode(Arc::new(e))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        match (&self.error_type, &self.code) {
            (Some(t), Some(c)) => write!(f, " {t}/{c}")?,
            (Some(t), None) => write!(f, " {t}")?,
            (None, Some(c)) => write!(f, " {c}")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some(param) = &self.param {
            write!(f, " (param `{param}`)")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_answer_the_common_questions() {
        let e = Error::api(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: Some(ErrorType::RateLimitError),
            code: Some("rate_limited".into()),
            message: "slow down".into(),
            param: None,
            request_id: Some("req_1".into()),
            retry_after: Some(Duration::from_secs(2)),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
        })
        .with_operation("listCampaigns")
        .with_attempts(3);
        assert!(e.is_rate_limited() && e.is_retryable() && !e.is_not_found());
        assert_eq!(e.request_id(), Some("req_1"));
        assert_eq!(
            e.to_string(),
            "listCampaigns: 429 Too Many Requests rate_limit_error/rate_limited: slow down [request req_1] (after 3 attempts)"
        );
    }

    #[test]
    fn retryable_is_the_retry_rule() {
        let answer = |code: u16| {
            Error::api(ApiError {
                status: StatusCode::from_u16(code).unwrap_or_else(|e| panic!("{e}")),
                error_type: None,
                code: None,
                message: "m".into(),
                param: None,
                request_id: None,
                retry_after: None,
                headers: http::HeaderMap::new(),
                body: bytes::Bytes::new(),
            })
        };
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(answer(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 404, 409, 422, 501, 505] {
            assert!(!answer(code).is_retryable(), "{code}");
        }
        let io = || std::io::Error::other("reset");
        assert!(Error::connection(AttemptFailure::ConnectionDropped, io()).is_retryable());
        assert!(Error::timeout_from(AttemptFailure::TimedOut, io()).is_retryable());
        assert!(Error::timeout("operation").is_retryable());
        // A body that does not decompress, TLS and size refusals repeat on every attempt.
        assert!(!Error::transport(io()).is_retryable());
        assert!(!Error::tls("bad certificate".into(), io()).is_retryable());
        assert!(!Error::too_large(10).is_retryable());
        assert!(!Error::config("bad").is_retryable());
    }

    #[test]
    fn decode_errors_name_the_path_and_chain_the_source() {
        let source = serde_json::from_str::<u8>("\"x\"").unwrap_err();
        let e = Error::decode("data.metrics.ctr".into(), source).with_operation("getCampaign");
        assert!(e.is_decode());
        assert!(e.to_string().contains("at `data.metrics.ctr`"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
