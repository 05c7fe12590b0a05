//! Contract-testing kit for code that uses the SDK (the `testing` feature).
//!
//! * [`MockApi`]: a wiremock server with a typed helper per operation of the spec
//!   (`mock.campaigns().get(&id).returns(campaign)`), which checks every request your code sends
//!   against the spec and fails loudly on any request you did not mock.
//! * [`Contract`]: the spec as validators, to check any request, response, webhook body or
//!   value against it yourself.
//! * [`sandbox`]: how to run your tests against a full, stateful server of the spec.
//!
//! ```toml
//! [dev-dependencies]
//! marketing-api = { version = "0.1", features = ["testing"] }
//! ```

mod contract;
mod mock;

pub use contract::{
    Contract, ContractError, ContractViolation, OPENAPI_YAML, OperationContract, Problem,
};
pub use mock::{
    Empty, List, MOCK_API_KEY, MockApi, OperationMock, Single, Text, UNEXPECTED_REQUEST_STATUS,
};

/// The typed per-operation helpers of [`MockApi`], generated from the spec.
#[allow(clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/testing.rs"));
}
pub use generated::*;

/// Running tests against the sandbox: a stateful, in-memory server of the whole spec.
///
/// [`MockApi`] answers what you tell it to; the sandbox behaves like the API (it stores what you
/// create, pages, validates requests, issues OAuth tokens, rate-limits, delivers signed
/// webhooks). It lives in its own crate, `marketing-api-sandbox`, which this SDK does not
/// depend on (the sandbox is an independent implementation of the spec). Add it as a
/// dev-dependency next to the SDK:
///
/// ```toml
/// [dev-dependencies]
/// marketing-api = { version = "0.1", features = ["testing"] }
/// marketing-api-sandbox = "0.1"
/// ```
///
/// and start one per test:
///
/// ```ignore
/// use marketing_api::{Client, auth::ApiKey};
/// use marketing_api_sandbox::Sandbox;
///
/// let sandbox = Sandbox::start().await?;              // 127.0.0.1, a free port
/// let client = Client::builder(sandbox.base_url())
///     .auth(ApiKey::new(sandbox.api_key())?)
///     .build()?;
/// // or OAuth2::client_credentials(sandbox.client_id(), sandbox.client_secret(), sandbox.token_url())
/// let page = client.campaigns().list().send().await?;
/// sandbox.shutdown().await;
/// ```
///
/// `examples/contract_test.rs` in the SDK's repository shows a service tested both ways.
pub mod sandbox {}
