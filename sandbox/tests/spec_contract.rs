//! `openapi.yaml` says what the sandbox does, so spec-driven tools (mock servers, validators,
//! property-based testers) and the sandbox agree.

mod common;

use common::{Api, json};
use marketing_api_openapi::Document;
use marketing_api_sandbox::Sandbox;
use marketing_api_sandbox::spec::OPENAPI_YAML;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The contract as the sandbox reads it (every `$ref` checked).
fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| Document::parse_checked(OPENAPI_YAML).expect("openapi.yaml parses"))
}

fn spec() -> &'static Value {
    &document().root
}

/// Every operation: method, path and the operation object.
fn operations() -> Vec<(&'static str, &'static str, &'static Value)> {
    document()
        .operations()
        .expect("paths")
        .into_iter()
        .map(|op| (op.method, op.path, op.op))
        .collect()
}

fn resolve(value: &'static Value) -> &'static Value {
    document()
        .resolve(value, "")
        .expect("a reference that resolves")
        .0
}

#[test]
fn every_operation_with_a_body_documents_413_in_its_error_form() {
    let mut checked = 0;
    for (method, path, op) in operations() {
        if op.get("requestBody").is_none() {
            continue;
        }
        checked += 1;
        let response = op["responses"]
            .get("413")
            .unwrap_or_else(|| panic!("{method} {path} answers 413 but does not document it"));
        let schema = &resolve(response)["content"]["application/json"]["schema"]["$ref"];
        let expected = if path.starts_with("/oauth/") {
            "#/components/schemas/OAuthError"
        } else {
            "#/components/schemas/ErrorResponse"
        };
        assert_eq!(schema, expected, "{method} {path}");
    }
    assert_eq!(checked, 20, "operations with a request body");
}

#[test]
fn token_response_constrains_token_type_and_tokens() {
    let spec = spec();
    let properties = &spec["components"]["schemas"]["TokenResponse"]["properties"];
    let check = |name: &str, valid: &[&str], invalid: &[&str]| {
        let pattern = properties[name]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("TokenResponse.{name} has a pattern"));
        let validator =
            jsonschema::validator_for(&json!({"type": "string", "pattern": pattern})).unwrap();
        for value in valid {
            assert!(validator.is_valid(&json!(value)), "{name}: {value:?}");
        }
        for value in invalid {
            assert!(!validator.is_valid(&json!(value)), "{name}: {value:?}");
        }
    };
    check(
        "token_type",
        &["Bearer", "bearer", "BEARER"],
        &["", "Mac", "Bearer ", "xBearer"],
    );
    // RFC 6750 b64token: what the SDK accepts in an Authorization header.
    for name in ["access_token", "refresh_token"] {
        check(
            name,
            &["at_3Qm8Vw2Kx9Lp4Rt7", "a.b-c~d+e/f==", "Zm9v"],
            &["", "two words", "tab\there", "é", "==", "a=b"],
        );
    }
}

#[test]
fn flight_rule_is_written_wherever_it_is_enforced() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    for schema in ["NewCampaign", "CampaignReplace", "CampaignPatch"] {
        let text = schemas[schema]["properties"]["end_at"]["description"]
            .as_str()
            .unwrap();
        assert!(
            text.contains("after") && text.contains("`start_at`"),
            "{schema}.end_at: {text}"
        );
    }
    for (_, _, op) in operations() {
        let id = op["operationId"].as_str().unwrap();
        if id == "replaceCampaign" || id == "updateCampaign" {
            let text = op["description"].as_str().unwrap();
            assert!(text.contains("`end_at` must be after"), "{id}: {text}");
        }
    }
}

#[test]
fn create_operations_link_to_their_follow_ups() {
    let ids: Vec<String> = operations()
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
        .collect();
    let mut links = 0;
    for (method, path, op) in operations() {
        let Some(created) = op["responses"].get("201") else {
            continue;
        };
        let created = resolve(created);
        let own = created["links"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: the 201 has links"));
        for (name, link) in own {
            let target = link["operationId"].as_str().unwrap();
            assert!(ids.iter().any(|id| id == target), "{name} -> {target}");
            assert!(
                link["parameters"]
                    .as_object()
                    .is_some_and(|p| p.values().all(|v| v
                        .as_str()
                        .is_some_and(|v| v.starts_with("$response.body#/data/")))),
                "{name}: {link}"
            );
            links += 1;
        }
    }
    assert!(links >= 25, "{links} links");
}

#[tokio::test]
async fn spec_example_cursor_is_one_the_sandbox_accepts() {
    let spec = spec();
    let cursor = spec["components"]["parameters"]["Cursor"]["example"]
        .as_str()
        .unwrap()
        .to_owned();
    let meta_example = spec["components"]["schemas"]["ListMeta"]["example"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    for cursor in [cursor, meta_example] {
        let page = json(api.get(&format!("/campaigns?cursor={cursor}")).await, 200).await;
        assert!(page["data"].is_array(), "{page}");
    }
    sandbox.shutdown().await;
}
