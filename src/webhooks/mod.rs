//! Webhook verification, signing and typed events.
