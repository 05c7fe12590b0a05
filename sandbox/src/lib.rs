//! A stateful in-memory server of the marketing-api OpenAPI contract.
