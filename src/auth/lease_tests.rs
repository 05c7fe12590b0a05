//! The renewal lease protocol of [`TokenStore`] as the OAuth provider drives it: a store that
//! answers with another process's tokens prevents the token request; a granted lease uses the
//! store's refresh token; a save refused by fencing is not used.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::token_store::{Renewal, RenewalLease, RenewalRequest, SaveOutcome};
use super::*;
use crate::clock::ManualClock;

fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A store that answers `begin_renewal` and `save_renewed` from scripts and records the calls.
#[derive(Debug, Default)]
struct ScriptedStore {
    renewals: Mutex<VecDeque<Renewal>>,
    saves: Mutex<VecDeque<SaveOutcome>>,
    log: Mutex<Vec<String>>,
}

impl ScriptedStore {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn record(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

impl TokenStore for ScriptedStore {
    fn save(&self, tokens: &TokenSet) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        self.record(format!("save {}", tokens.access_token().expose_secret()));
        Box::pin(std::future::ready(Ok(())))
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, TokenStoreError>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    fn begin_renewal(
        &self,
        request: RenewalRequest,
    ) -> BoxFuture<'_, Result<Renewal, TokenStoreError>> {
        let replacing = request.replacing().map(|s| s.expose_secret().to_owned());
        self.record(format!("begin replacing {replacing:?}"));
        let next = self.renewals.lock().unwrap().pop_front().expect("scripted");
        Box::pin(std::future::ready(Ok(next)))
    }

    fn save_renewed<'a>(
        &'a self,
        tokens: &'a TokenSet,
        lease: &'a RenewalLease,
    ) -> BoxFuture<'a, Result<SaveOutcome, TokenStoreError>> {
        let access = tokens.access_token().expose_secret();
        self.record(format!("save {access} under {}", lease.fence()));
        let outcome = self.saves.lock().unwrap().pop_front().expect("scripted");
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn end_renewal(&self, lease: RenewalLease) -> BoxFuture<'_, ()> {
        self.record(format!("end {}", lease.fence()));
        Box::pin(std::future::ready(()))
    }
}

use super::tests::authenticator;

async fn bearer(auth: &Authenticator) -> String {
    let credential = auth.credential().await.expect("credential").expect("some");
    credential.header_value().to_str().unwrap().to_owned()
}

async fn token_server(access: &str, refresh: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": access, "token_type": "Bearer", "expires_in": 60,
            "refresh_token": refresh,
        })))
        .mount(&server)
        .await;
    server
}

fn fleet_tokens(access: &str, refresh: &str, expires_at: SystemTime) -> TokenSet {
    TokenSet::new(access)
        .with_refresh_token(refresh)
        .with_expires_at(expires_at)
}

#[tokio::test]
async fn tokens_of_another_process_are_used_without_a_token_request_and_its_refresh_token_next() {
    let server = token_server("at-mine", "rt-mine").await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(ScriptedStore::default());
    store.renewals.lock().unwrap().extend([
        Renewal::Reuse(fleet_tokens(
            "at-fleet",
            "rt-fleet",
            start_time() + Duration::from_secs(60),
        )),
        // At the next expiry this process leads; the store holds a refresh token rotated by a
        // third process meanwhile.
        Renewal::Obtain {
            lease: RenewalLease::new(7),
            latest: Some(fleet_tokens("at-fleet", "rt-rotated", start_time())),
        },
    ]);
    store.saves.lock().unwrap().push_back(SaveOutcome::Saved);
    let oauth = OAuth2::refresh_token(
        "cli",
        None,
        format!("{}/oauth/token", server.uri()),
        "rt-config",
    )
    .token_store(store.clone());
    let auth = authenticator(oauth, &clock);

    assert_eq!(bearer(&auth).await, "Bearer at-fleet");
    assert!(server.received_requests().await.unwrap().is_empty());

    clock.advance(Duration::from_secs(61));
    assert_eq!(bearer(&auth).await, "Bearer at-mine");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8_lossy(&requests[0].body).into_owned();
    assert!(body.contains("refresh_token=rt-rotated"), "{body}");
    assert_eq!(
        store.log(),
        [
            "begin replacing None",
            "begin replacing Some(\"at-fleet\")",
            "save at-mine under 7",
            "end 7",
        ]
    );
}

#[tokio::test]
async fn tokens_whose_save_is_fenced_out_are_not_used() {
    let server = token_server("at-stalled", "rt-stalled").await;
    let clock = ManualClock::new(start_time());
    let store = Arc::new(ScriptedStore::default());
    store.renewals.lock().unwrap().extend([
        Renewal::Obtain {
            lease: RenewalLease::new(3),
            latest: None,
        },
        Renewal::Reuse(fleet_tokens(
            "at-newer",
            "rt-newer",
            start_time() + Duration::from_secs(60),
        )),
    ]);
    store
        .saves
        .lock()
        .unwrap()
        .push_back(SaveOutcome::Superseded);
    let oauth =
        OAuth2::client_credentials("cli", "secret", format!("{}/oauth/token", server.uri()))
            .token_store(store.clone());
    let auth = authenticator(oauth, &clock);

    assert_eq!(bearer(&auth).await, "Bearer at-newer");
    assert_eq!(
        store.log(),
        [
            "begin replacing None",
            "save at-stalled under 3",
            "end 3",
            "begin replacing None",
        ]
    );
}
