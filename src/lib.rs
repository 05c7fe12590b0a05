//! Typed async client for the marketing platform REST API.
#![warn(missing_docs)]

pub mod auth;
pub mod clock;
mod ratelimit;
pub mod retry;
pub mod webhooks;
