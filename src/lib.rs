//! Typed async client for the marketing platform REST API.
#![warn(missing_docs)]

pub mod auth;
pub mod clock;
pub mod retry;
pub mod webhooks;
