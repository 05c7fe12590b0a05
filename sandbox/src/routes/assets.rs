//! Creative assets: `multipart/form-data` uploads of image and video files.
//!
//! The pipeline has already bounded the body (the file limit plus the form's overhead, 413
//! beyond); this module reads the form part by part, refuses file types the contract does not
//! list (415), hashes the file as it goes and keeps only its metadata.

use super::Path;
use super::{ApiResult, created, ok};
use crate::app::App;
use crate::errors::{ApiError, ErrorType};
use crate::ids::new_id;
use crate::model::CreativeAsset;
use crate::spec::Operation;
use crate::store::row_key;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The file types the contract accepts (`uploadCreativeAsset`'s `encoding.file.contentType`).
pub(crate) const ACCEPTED_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
];

pub(crate) fn routes() -> Router<App> {
    Router::new()
        // The pipeline has bounded the body by the asset limit already; axum's own default
        // (2 MB) would refuse most videos.
        .route(
            "/v1/creatives/assets",
            post(upload_creative_asset).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/creatives/assets/{asset_id}", get(get_creative_asset))
}

fn unsupported(param: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorType::InvalidRequest,
        "invalid_content_type",
        message,
    )
    .with_param(param)
}

fn malformed(error: multer::Error) -> ApiError {
    ApiError::bad_request_plain(
        "invalid_body",
        format!("The multipart/form-data body is malformed: {error}."),
    )
}

/// A file name as it can appear in a URL path: letters, digits, `.`, `_`, `-`; anything else
/// becomes `-`.
fn url_safe(filename: &str) -> String {
    filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

struct File {
    filename: String,
    content_type: String,
    size: u64,
    sha256: String,
}

async fn upload_creative_asset(
    State(app): State<App>,
    Extension(operation): Extension<Arc<Operation>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        unsupported(
            "Content-Type",
            "Send the upload as multipart/form-data with a boundary.".into(),
        )
    })?;
    let max = app.settings.read(|s| s.max_asset_bytes);
    let stream = futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut file: Option<File> = None;
    let mut metadata: Option<Value> = None;
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if file.is_none() => {
                let media = field
                    .content_type()
                    .map(|m| m.essence_str().to_ascii_lowercase())
                    .unwrap_or_default();
                if !ACCEPTED_TYPES.contains(&media.as_str()) {
                    let shown = if media.is_empty() { "untyped" } else { &media };
                    return Err(unsupported(
                        "file",
                        format!(
                            "The file part is {shown}; send one of: {}.",
                            ACCEPTED_TYPES.join(", ")
                        ),
                    ));
                }
                let filename = match field.file_name() {
                    Some(f) if !f.trim().is_empty() => f.to_owned(),
                    _ => {
                        return Err(ApiError::bad_request(
                            "invalid_value",
                            "file",
                            "The file part needs a file name (Content-Disposition filename).",
                        ));
                    }
                };
                let mut hasher = Sha256::new();
                let mut size: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    size += chunk.len() as u64;
                    if size > max {
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            ErrorType::InvalidRequest,
                            "payload_too_large",
                            format!("The file exceeds {max} bytes."),
                        )
                        .with_param("file"));
                    }
                    hasher.update(&chunk);
                }
                file = Some(File {
                    filename,
                    content_type: media,
                    size,
                    sha256: hex(&hasher.finalize()),
                });
            }
            "metadata" if metadata.is_none() => {
                let text = field.bytes().await.map_err(malformed)?;
                let json: Value = serde_json::from_slice(&text).map_err(|e| {
                    ApiError::bad_request(
                        "invalid_json",
                        "metadata",
                        format!("The metadata part is not valid JSON: {e}."),
                    )
                })?;
                operation.validate_part("metadata", &json)?;
                metadata = Some(json);
            }
            "file" | "metadata" => {
                return Err(ApiError::bad_request(
                    "duplicate_field",
                    &name,
                    format!("The form has two '{name}' parts; send it once."),
                ));
            }
            _ => {
                // Unknown parts are refused, as unknown JSON fields are.
                operation.validate_part(&name, &Value::Null)?;
            }
        }
    }
    let Some(file) = file else {
        return Err(ApiError::bad_request(
            "missing_field",
            "file",
            "'file' is required.",
        ));
    };
    let Some(metadata) = metadata else {
        return Err(ApiError::bad_request(
            "missing_field",
            "metadata",
            "'metadata' is required.",
        ));
    };
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut store = app.store();
    let now = store.next_timestamp();
    let id = new_id("ast_");
    let asset = CreativeAsset {
        url: format!(
            "https://assets.example.com/{id}/{}",
            url_safe(&file.filename)
        ),
        id,
        name,
        filename: file.filename,
        content_type: file.content_type,
        size_bytes: file.size,
        sha256: file.sha256,
        created_at: now,
    };
    store
        .creative_assets
        .insert(row_key(now, &asset.id), asset.clone());
    drop(store);
    created(asset)
}

async fn get_creative_asset(State(app): State<App>, Path(asset_id): Path<String>) -> ApiResult {
    let asset = app
        .store()
        .creative_assets
        .get(&asset_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("creative asset", "asset_id", &asset_id))?;
    ok(asset)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
