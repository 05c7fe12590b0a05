//! Typed webhook events, generated from the `webhooks:` section of `openapi.yaml`: one payload
//! struct per event type (with `data` typed as the full entity) and one [`Event`] variant each.
//! The payload structs are the same types as in [`crate::models`], re-exported here.

include!(concat!(env!("OUT_DIR"), "/webhook_events.rs"));
