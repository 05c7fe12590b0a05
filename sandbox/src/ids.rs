//! Prefixed random ids (`cmp_…`, `req_…`) and secrets.

use rand::Rng;
use rand::distr::Alphanumeric;

/// A new id: `prefix` followed by 20 random alphanumeric characters.
pub fn new_id(prefix: &str) -> String {
    random_token(prefix, 20)
}

/// `prefix` followed by `len` random alphanumeric characters, for keys and tokens.
pub fn random_token(prefix: &str, len: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    out.extend(
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(len)
            .map(char::from),
    );
    out
}
