//! Authentication: API keys, bearer tokens and OAuth2.
