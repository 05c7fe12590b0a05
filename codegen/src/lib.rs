//! Generates the marketing-api client from `openapi.yaml`.
