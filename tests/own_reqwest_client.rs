//! An application's own reqwest client in the same process as the SDK needs no setup: the
//! SDK's reqwest features (rustls without a bundled crypto provider) are unified with the
//! application's, and the SDK installs its provider as the process default when the first
//! client is built. Alone in its test binary so that nothing else installs a provider first.

use marketing_api::Client;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_plain_reqwest_client_works_after_an_sdk_client_is_built() {
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "the test starts with no provider installed, or it would prove nothing"
    );
    let server = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let _sdk = Client::builder(server.uri()).build().expect("SDK client");

    // Without a provider this would panic ("No rustls crypto provider is configured").
    let own = reqwest::Client::builder().build().expect("own client");
    let answer = own
        .get(format!("{}/ping", server.uri()))
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), 204);
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
}
