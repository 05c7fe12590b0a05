//! The bulk CSV export and import over HTTP, at the level of the wire: the export is chunked,
//! its personal-data cells follow field-level encryption, and an import's rejected rows carry
//! the physical line they start on whatever the line ends.

mod common;

use base64::Engine;
use common::{Api, json};
use marketing_api_sandbox::Sandbox;
use reqwest::Method;
use serde_json::{Value, json};

async fn export(api: &Api, query: &str) -> (reqwest::header::HeaderMap, String) {
    let response = api.get(&format!("/contacts/export{query}")).await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    (headers, response.text().await.expect("a body"))
}

#[tokio::test]
async fn the_export_is_chunked_csv_and_encrypted_cells_are_bound_to_column_and_contact() {
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let api = Api::new(&sandbox);
    let created = json(
        api.post(
            "/contacts",
            json!({"email": "ada@example.com", "first_name": "Ada", "attributes": {"plan": "pro"}}),
        )
        .await,
        201,
    )
    .await;
    let id = created["data"]["id"].as_str().expect("an id").to_owned();
    sandbox.seed_contacts(2_500);

    let (headers, body) = export(&api, "").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["transfer-encoding"], "chunked",
        "streamed, not sized in advance"
    );
    assert!(headers.get("content-length").is_none());
    assert_eq!(body.matches("\r\n").count(), 1 + 2_501);

    // RFC 7518 appendix C's P-256 public key: a real point, so the platform takes it.
    json(
        api.post(
            "/encryption_keys",
            json!({"jwk": {
                "kty": "EC", "crv": "P-256", "kid": "csv-1",
                "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
            }}),
        )
        .await,
        201,
    )
    .await;
    // One contact: each sealed cell costs an ECDH agreement.
    let (_, body) = export(&api, "?email=ada%40example.com").await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let row = reader.records().next().expect("a row").expect("CSV");
    let cell = |name: &str| row[header.iter().position(|h| h == name).expect(name)].to_owned();
    assert_eq!(cell("id"), id);
    assert_eq!(cell("phone"), "", "null stays empty: nothing to hide");
    assert_eq!(cell("attributes"), r#"{"plan":"pro"}"#);
    for column in ["email", "first_name"] {
        let jwe = cell(column);
        assert_eq!(jwe.split('.').count(), 5, "{column} is a JWE: {jwe}");
        assert!(!jwe.contains("Ada") && !jwe.contains("ada@"));
        let protected: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwe.split('.').next().expect("a header"))
                .expect("base64url"),
        )
        .expect("JSON");
        assert_eq!(protected["kid"], "csv-1");
        assert_eq!(protected["fld"], column);
        assert_eq!(protected["obj"], id.as_str());
    }
}

#[tokio::test]
async fn rejected_rows_name_the_line_they_start_on_with_lf_or_crlf_line_ends() {
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let api = Api::new(&sandbox);
    for end in ["\n", "\r\n"] {
        let file = [
            "email,last_name",
            "a@example.com,\"two",
            "lines\"",
            "bad,Row",
            "",
            "b@example.com,Ok",
            "also-bad,Row",
        ]
        .join(end)
            + end;
        let response = api
            .request(Method::POST, "/contacts/import")
            .header("content-type", "text/csv")
            .body(file)
            .send()
            .await
            .expect("sent");
        let job = json(response, 202).await;
        let id = job["data"]["id"].as_str().expect("a job").to_owned();
        let job = loop {
            let job = json(api.get(&format!("/contacts/imports/{id}")).await, 200).await;
            if job["data"]["status"] == "completed" {
                break job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let lines: Vec<&Value> = job["data"]["rejected_rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| &r["line"])
            .collect();
        assert_eq!(lines, [&json!(4), &json!(7)], "line ends {end:?}: {job}");
        assert_eq!(job["data"]["rejected_rows"][0]["column"], "email");
    }
}

#[tokio::test]
async fn the_bulk_paths_are_not_taken_for_contact_ids() {
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let api = Api::new(&sandbox);
    // A concrete path wins over `/contacts/{contact_id}`: other methods are 405, not an
    // update or deletion of a contact named `import`.
    for (method, path) in [
        (Method::PATCH, "/contacts/import"),
        (Method::DELETE, "/contacts/import"),
        (Method::DELETE, "/contacts/export"),
    ] {
        let response = api
            .request(method.clone(), path)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
    }
}

/// The export's `audience_id` filter is the contact list's: for a dynamic audience it selects
/// the contacts the rule matches now, not an empty curated set.
#[tokio::test]
async fn the_export_of_a_dynamic_audience_holds_the_contacts_its_rule_matches() {
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let api = Api::new(&sandbox);
    let mut pro = Vec::new();
    for (email, plan) in [
        ("ada@example.com", "pro"),
        ("bob@example.com", "free"),
        ("cy@example.com", "pro"),
    ] {
        let created = json(
            api.post(
                "/contacts",
                json!({"email": email, "attributes": {"plan": plan}}),
            )
            .await,
            201,
        )
        .await;
        if plan == "pro" {
            pro.push(created["data"]["id"].as_str().expect("an id").to_owned());
        }
    }
    let audience = json(
        api.post(
            "/audiences",
            json!({"name": "Pro", "kind": "dynamic", "rule":
                {"type": "field", "field": "attributes.plan", "operator": "eq", "value": "pro"}}),
        )
        .await,
        201,
    )
    .await;
    let audience_id = audience["data"]["id"].as_str().expect("an id");

    let (_, body) = export(&api, &format!("?audience_id={audience_id}")).await;
    let mut rows = body.lines();
    let header: Vec<&str> = rows.next().expect("a header row").split(',').collect();
    let id_column = header
        .iter()
        .position(|c| *c == "id")
        .expect("an id column");
    let exported: Vec<String> = rows
        .map(|row| {
            row.split(',')
                .nth(id_column)
                .expect("an id cell")
                .to_owned()
        })
        .collect();
    assert_eq!(exported, pro, "the rule's members, oldest first");

    let listed = json(
        api.get(&format!("/contacts?audience_id={audience_id}"))
            .await,
        200,
    )
    .await;
    let listed: Vec<&str> = listed["data"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|c| c["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(listed, pro);
}
