//! Creative asset uploads through the SDK against the sandbox: files streamed from disk or a
//! reader, progress observed, limits answered as typed errors, the asset used by a creative.

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use marketing_api::auth::ApiKey;
use marketing_api::models::{
    Creative, CreativeAssetContentType, ErrorCode, NewAd, NewCampaign, NewCreative,
    NewCreativeAsset, NewImageCreative,
};
use marketing_api::multipart::{Multipart, Progress};
use marketing_api::{Client, ErrorKind};
use marketing_api_sandbox::Sandbox;
use sha2::{Digest, Sha256};

async fn setup() -> (Sandbox, Client) {
    let sandbox = support::unlimited_sandbox(17).await;
    let client = Client::builder(sandbox.base_url())
        .auth(ApiKey::new(sandbox.api_key()).expect("the sandbox key is valid"))
        .build()
        .expect("a loopback client");
    (sandbox, client)
}

/// A file of `len` patterned bytes in the temp directory, removed on drop.
struct TempFile(std::path::PathBuf, Vec<u8>);

impl TempFile {
    fn new(name: &str, len: usize) -> Self {
        let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
        let data: Vec<u8> = (0..len).map(|i| (i % 241) as u8).collect();
        std::fs::write(&path, &data).expect("the temp file is written");
        TempFile(path, data)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn metadata(name: &str) -> NewCreativeAsset {
    NewCreativeAsset::builder().name(name).build()
}

#[tokio::test]
async fn a_file_streams_from_disk_with_progress_and_becomes_an_image_creative() {
    let (sandbox, client) = setup().await;
    let file = TempFile::new("hero.png", 3_000_000);
    let calls = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(None::<Progress>));
    let (seen_calls, seen_last) = (Arc::clone(&calls), Arc::clone(&last));
    let form = Multipart::new()
        .json("metadata", &metadata("Hero"))
        .expect("metadata serializes")
        .file_path("file", &file.0, "image/png")
        .on_progress(move |p| {
            seen_calls.fetch_add(1, Ordering::SeqCst);
            *seen_last.lock().unwrap() = Some(p);
        });
    let asset = client
        .creatives()
        .upload_creative_asset(form)
        .send()
        .await
        .expect("the upload succeeds");
    assert_eq!(asset.size_bytes, 3_000_000);
    assert_eq!(asset.sha256, hex_sha256(&file.1));
    assert_eq!(asset.content_type, CreativeAssetContentType::ImagePng);
    assert!(asset.filename.ends_with("hero.png"), "{}", asset.filename);
    // The body went out in many chunks, and the last report is the whole (known) size.
    assert!(calls.load(Ordering::SeqCst) > 10);
    let last = last.lock().unwrap().expect("progress was reported");
    assert_eq!(Some(last.sent), last.total);
    assert!(last.sent > 3_000_000);

    let got = client
        .creatives()
        .get_creative_asset(&asset.id)
        .send()
        .await
        .expect("the asset reads back");
    assert_eq!(got, asset);

    let campaign = client
        .campaigns()
        .create(&NewCampaign::builder().name("C").budget_cents(1000).build())
        .send()
        .await
        .expect("campaign");
    let ad = client
        .campaigns()
        .ads(&campaign.id)
        .create(
            &NewAd::builder()
                .name("A")
                .headline("H")
                .destination_url("https://shop.example.com/")
                .build(),
        )
        .send()
        .await
        .expect("ad");
    let creative = client
        .campaigns()
        .ads(&campaign.id)
        .creatives(&ad.id)
        .create(&NewCreative::Image(
            NewImageCreative::builder()
                .width(1200)
                .height(628)
                .alt_text("Hero")
                .build()
                .with_asset_id(&asset.id),
        ))
        .send()
        .await
        .expect("an image creative of the asset");
    match creative {
        Creative::Image(image) => {
            assert_eq!(image.asset_id.as_ref(), Some(&asset.id));
            assert_eq!(image.asset_url, asset.url);
        }
        other => panic!("{other:?}"),
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_reader_streams_once_and_limits_come_back_as_typed_errors() {
    let (sandbox, client) = setup().await;
    let data: Vec<u8> = (0..500_000u32).map(|i| (i % 199) as u8).collect();
    let sent = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&sent);
    let form = Multipart::new()
        .json("metadata", &metadata("Teaser"))
        .expect("metadata serializes")
        .file_reader(
            "file",
            "teaser.mp4",
            "video/mp4",
            std::io::Cursor::new(data.clone()),
        )
        .on_progress(move |p| {
            assert_eq!(p.total, None, "a reader's length is unknown");
            seen.store(p.sent, Ordering::SeqCst);
        });
    let asset = client
        .creatives()
        .upload_creative_asset(form)
        .send()
        .await
        .expect("the upload succeeds");
    assert_eq!(asset.sha256, hex_sha256(&data));
    assert!(sent.load(Ordering::SeqCst) > 500_000);

    // Over the limit: 413 in the error envelope, from disk (declared length) and from a reader
    // (chunked, refused once the limit is passed).
    sandbox.settings().set_max_asset_bytes(1_000_000);
    let big = TempFile::new("big.png", 2_500_000);
    let from_disk = Multipart::new()
        .json("metadata", &metadata("Big"))
        .expect("metadata serializes")
        .file_path("file", &big.0, "image/png");
    let from_reader = Multipart::new()
        .json("metadata", &metadata("Big"))
        .expect("metadata serializes")
        .file_reader(
            "file",
            "big.png",
            "image/png",
            std::io::Cursor::new(big.1.clone()),
        );
    for form in [from_disk, from_reader] {
        let error = client
            .creatives()
            .upload_creative_asset(form)
            .send()
            .await
            .expect_err("over the limit");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(413), "{error}");
        let api = error.api_error().expect("an API error");
        assert_eq!(api.code, Some(ErrorCode::PayloadTooLarge), "{error}");
    }

    let text = Multipart::new()
        .json("metadata", &metadata("Notes"))
        .expect("metadata serializes")
        .file("file", "notes.txt", "text/plain", "hello");
    let error = client
        .creatives()
        .upload_creative_asset(text)
        .send()
        .await
        .expect_err("text is not an asset type");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(415), "{error}");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.code, Some(ErrorCode::InvalidContentType));
    assert_eq!(api.param.as_deref(), Some("file"));

    // A file that is not there fails before anything is sent.
    let missing = Multipart::new().file_path("file", "/nonexistent/hero.png", "image/png");
    let error = client
        .creatives()
        .upload_creative_asset(missing)
        .send()
        .await
        .expect_err("no such file");
    assert_eq!(error.kind(), ErrorKind::Encode, "{error}");
    let source = std::error::Error::source(&error).expect("the reason");
    assert!(
        source.to_string().contains("/nonexistent/hero.png"),
        "{source}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_repeated_upload_with_the_same_key_is_replayed_not_stored_twice() {
    let (sandbox, client) = setup().await;
    let file = TempFile::new("again.png", 300_000);
    // Each form gets its own random boundary; the key still names the same upload.
    let form = || {
        Multipart::new()
            .json("metadata", &metadata("Again"))
            .expect("metadata serializes")
            .file_path("file", &file.0, "image/png")
    };
    let first = client
        .creatives()
        .upload_creative_asset(form())
        .idempotency_key("upload-again-1")
        .send_with_meta()
        .await
        .expect("the upload succeeds");
    let again = client
        .creatives()
        .upload_creative_asset(form())
        .idempotency_key("upload-again-1")
        .send_with_meta()
        .await
        .expect("the repeat is answered");
    assert_eq!(again.data.id, first.data.id);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    // Another file under the same key is a different request.
    let other = TempFile::new("other.png", 1000);
    let error = client
        .creatives()
        .upload_creative_asset(
            Multipart::new()
                .json("metadata", &metadata("Again"))
                .expect("metadata serializes")
                .file_path("file", &other.0, "image/png"),
        )
        .idempotency_key("upload-again-1")
        .send()
        .await
        .expect_err("the key was used for another file");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422), "{error}");
    sandbox.shutdown().await;
}
