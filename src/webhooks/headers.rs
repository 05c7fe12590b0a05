//! Reading the three Standard Webhooks headers from whatever a web framework hands over.

use std::marker::PhantomData;

/// The header carrying the message id, unique per event and stable across retries.
pub const WEBHOOK_ID: &str = "webhook-id";
/// The header carrying the signing time in Unix seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying one or more space-separated `v1,<base64>` signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Read access to request headers by name, so the verifier works with any framework.
///
/// Names are asked for in lowercase; implementations must match them case-insensitively. The
/// value is returned as raw bytes: the verifier decides what is valid, so a header that is not
/// UTF-8 is reported as malformed rather than missing.
///
/// Implemented for [`http::HeaderMap`] (axum, hyper, reqwest, tonic), for slices, arrays and
/// vectors of `(name, value)` pairs, and for any closure through [`HeaderFn`].
///
/// ```
/// use marketing_api::webhooks::WebhookHeaders;
/// let pairs = [("Webhook-Id", "msg_1")];
/// assert_eq!(pairs.header("webhook-id"), Some(&b"msg_1"[..]));
/// assert_eq!(pairs.header("webhook-timestamp"), None);
/// ```
pub trait WebhookHeaders {
    /// The value of the first header called `name`, if any.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl WebhookHeaders for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        // Looking up by `&str` validates and lowercases the name on every call; the three
        // names the verifier asks for are prepared once instead.
        const ID: http::HeaderName = http::HeaderName::from_static(WEBHOOK_ID);
        const TIMESTAMP: http::HeaderName = http::HeaderName::from_static(WEBHOOK_TIMESTAMP);
        const SIGNATURE: http::HeaderName = http::HeaderName::from_static(WEBHOOK_SIGNATURE);
        let value = match name {
            WEBHOOK_ID => self.get(&ID),
            WEBHOOK_TIMESTAMP => self.get(&TIMESTAMP),
            WEBHOOK_SIGNATURE => self.get(&SIGNATURE),
            other => self.get(other),
        };
        value.map(http::HeaderValue::as_bytes)
    }
}

impl<T: WebhookHeaders + ?Sized> WebhookHeaders for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> WebhookHeaders for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> WebhookHeaders for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> WebhookHeaders for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// Adapts a lookup closure to [`WebhookHeaders`], for frameworks whose header type is not an
/// [`http::HeaderMap`]. The closure receives the lowercase header name.
///
/// ```
/// use std::collections::HashMap;
/// use marketing_api::webhooks::{HeaderFn, WebhookHeaders};
/// let map: HashMap<String, String> = [("webhook-id".to_owned(), "msg_1".to_owned())].into();
/// let headers = HeaderFn::new(|name: &str| map.get(name).map(|v| v.as_bytes()));
/// assert_eq!(headers.header("webhook-id"), Some(&b"msg_1"[..]));
/// ```
pub struct HeaderFn<'h, F> {
    lookup: F,
    // Ties the borrowed values to `'h`, so a lookup into a map the closure borrows can hand
    // out references for as long as the adapter itself is borrowed.
    _values: PhantomData<&'h [u8]>,
}

impl<'h, F> HeaderFn<'h, F>
where
    F: Fn(&str) -> Option<&'h [u8]>,
{
    /// Wraps `lookup`.
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            _values: PhantomData,
        }
    }
}

impl<'h, F> WebhookHeaders for HeaderFn<'h, F>
where
    F: Fn(&str) -> Option<&'h [u8]>,
{
    fn header(&self, name: &str) -> Option<&[u8]> {
        (self.lookup)(name)
    }
}

impl<F> std::fmt::Debug for HeaderFn<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderFn")
    }
}
