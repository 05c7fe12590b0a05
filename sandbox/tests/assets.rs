//! Creative asset uploads (`multipart/form-data`) over HTTP: limits answered in the error
//! envelope, and the asset used by image and video creatives.

mod common;

use common::{Api, error, json};
use marketing_api_sandbox::Sandbox;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BOUNDARY: &str = "test-boundary-7f3a";

/// A form with a `file` part of `content_type` holding `data`, and a `metadata` part.
fn form(content_type: &str, data: &[u8], metadata: Option<Value>) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(metadata) = metadata {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hero banner.png\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(api: &Api, body: Vec<u8>) -> Response {
    api.request(Method::POST, "/creatives/assets")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("the upload is answered")
}

#[tokio::test]
async fn an_upload_is_hashed_sized_and_usable_by_image_creatives_only() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let api = Api::new(&sandbox);
    let png: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let asset = json(
        upload(&api, form("image/png", &png, Some(json!({"name": "Hero"})))).await,
        201,
    )
    .await;
    let data = &asset["data"];
    assert_eq!(data["size_bytes"], png.len());
    let digest: String = Sha256::digest(&png)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(data["sha256"], digest.as_str());
    assert_eq!(data["content_type"], "image/png");
    assert_eq!(data["filename"], "hero banner.png");
    let id = data["id"].as_str().unwrap().to_owned();
    assert_eq!(
        data["url"],
        format!("https://assets.example.com/{id}/hero-banner.png").as_str()
    );
    let got = json(api.get(&format!("/creatives/assets/{id}")).await, 200).await;
    assert_eq!(got["data"], asset["data"]);

    let campaign = json(
        api.post("/campaigns", json!({"name": "C", "budget_cents": 10}))
            .await,
        201,
    )
    .await;
    let cid = campaign["data"]["id"].as_str().unwrap().to_owned();
    let ad = json(
        api.post(
            &format!("/campaigns/{cid}/ads"),
            json!({"name": "A", "headline": "H", "destination_url": "https://shop.example.com/"}),
        )
        .await,
        201,
    )
    .await;
    let aid = ad["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/campaigns/{cid}/ads/{aid}/creatives");
    let image = json(
        api.post(
            &path,
            json!({"kind": "image", "asset_id": id, "width": 1200, "height": 628, "alt_text": "Hero"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(image["data"]["asset_id"], id.as_str());
    assert_eq!(image["data"]["asset_url"], data["url"]);
    // A video of an image file, both sources at once, an asset that does not exist.
    error(
        api.post(
            &path,
            json!({"kind": "video", "asset_id": id, "duration_ms": 1000}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("asset_id"),
    )
    .await;
    error(
        api.post(
            &path,
            json!({"kind": "image", "asset_id": id, "asset_url": "https://cdn.example.com/a.png", "width": 1, "height": 1, "alt_text": "A"}),
        )
        .await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("asset_id"),
    )
    .await;
    error(
        api.post(
            &path,
            json!({"kind": "image", "asset_id": "ast_missing", "width": 1, "height": 1, "alt_text": "A"}),
        )
        .await,
        404,
        "not_found_error",
        "resource_missing",
        Some("asset_id"),
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn limits_and_bad_forms_are_answered_in_the_error_envelope() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    sandbox.settings().set_max_asset_bytes(100_000);
    let api = Api::new(&sandbox);
    let meta = || Some(json!({"name": "Hero"}));

    // Over the file limit: 413 on the file within the form allowance, on the body beyond it.
    for (size, param) in [(100_001usize, Some("file")), (3_000_000, None)] {
        error(
            upload(&api, form("image/png", &vec![7; size], meta())).await,
            413,
            "invalid_request_error",
            "payload_too_large",
            param,
        )
        .await;
    }
    error(
        upload(&api, form("text/plain", b"hello", meta())).await,
        415,
        "invalid_request_error",
        "invalid_content_type",
        Some("file"),
    )
    .await;
    error(
        upload(&api, form("image/png", b"png", Some(json!({"name": ""})))).await,
        400,
        "invalid_request_error",
        "invalid_value",
        Some("metadata.name"),
    )
    .await;
    error(
        upload(&api, form("image/png", b"png", None)).await,
        400,
        "invalid_request_error",
        "missing_field",
        Some("metadata"),
    )
    .await;
    error(
        api.post("/creatives/assets", json!({"name": "Hero"})).await,
        415,
        "invalid_request_error",
        "invalid_content_type",
        Some("Content-Type"),
    )
    .await;
    // Exactly at the limit is accepted.
    json(
        upload(&api, form("video/mp4", &vec![1; 100_000], meta())).await,
        201,
    )
    .await;
    sandbox.shutdown().await;
}
