//! The helpers that talk to the API: register a new key pair, fetch the platform's keys.

use super::{KeyError, PlatformKeys, PrivateKeySet};
use crate::models::{EncryptionKey, NewEncryptionKey};
use crate::{Client, Error};

impl PrivateKeySet {
    /// Generates a key pair under `kid`, registers its public half with the platform
    /// (`POST /encryption_keys`) and returns the registration. From then on the platform
    /// encrypts sensitive fields to it; a client with this set as its key provider reads them.
    /// If the registration fails, the new private key is dropped again.
    ///
    /// The set is shared by its clones, so the client can be given it before the key exists:
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), marketing_api::Error> {
    /// use marketing_api::{Client, auth::ApiKey, encryption::PrivateKeySet};
    /// let keys = PrivateKeySet::new();
    /// let client = Client::builder("https://api.example.com/v1")
    ///     .auth(ApiKey::new("mk_live_51H8")?)
    ///     .key_provider(keys.clone())
    ///     .build()?;
    /// let registered = keys.generate_and_register(&client, "2026-11").await?;
    /// println!("registered {} ({})", registered.kid, registered.id);
    /// # Ok(()) }
    /// ```
    pub async fn generate_and_register(
        &self,
        client: &Client,
        kid: &str,
    ) -> Result<EncryptionKey, Error> {
        let public = self
            .generate(kid)
            .map_err(|e| Error::config_from("the encryption key", e))?;
        let body: NewEncryptionKey =
            match serde_json::from_value(serde_json::json!({ "jwk": public.to_json() })) {
                Ok(body) => body,
                Err(e) => {
                    self.remove(kid);
                    return Err(Error::config_from("the encryption key", e));
                }
            };
        let registered = client.encryption_keys().create(&body).send().await;
        if registered.is_err() {
            self.remove(kid);
        }
        registered
    }
}

impl PlatformKeys {
    /// Fetches the platform's keys (`GET /platform_keys`), for
    /// [`ClientBuilder::encrypt_writes`](crate::ClientBuilder::encrypt_writes).
    pub async fn fetch(client: &Client) -> Result<Self, Error> {
        let jwks = client.platform_keys().get().send().await?;
        let jwks =
            serde_json::to_value(&jwks).map_err(|e| Error::config_from("the platform keys", e))?;
        Self::from_jwks(&jwks).map_err(|e: KeyError| Error::config_from("the platform keys", e))
    }
}
