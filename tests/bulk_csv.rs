//! Bulk CSV through the SDK against the sandbox over 127.0.0.1: the streamed export (filters,
//! RFC 4180 quoting checked by two independent readers, personal-data columns only with
//! `contacts:pii`) and the import job (upsert by email, rejected rows with their lines,
//! idempotent replay, 413), and a round trip into a fresh sandbox that keeps every contact.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use marketing_api::auth::ApiKey;
use marketing_api::models::{
    ApiKeyScope, ContactImport, ContactImportId, ContactImportStatus, ContactStatus, NewApiKey,
    NewContact,
};
use marketing_api::upload::Upload;
use marketing_api::{Client, ErrorKind};
use marketing_api_sandbox::Sandbox;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ALL_COLUMNS: [&str; 9] = [
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "status",
    "attributes",
    "created_at",
    "updated_at",
];

fn client_with(sandbox: &Sandbox, key: &str) -> Client {
    Client::builder(sandbox.base_url())
        .auth(ApiKey::new(key).expect("a valid key"))
        .build()
        .expect("a loopback client")
}

async fn setup() -> (Sandbox, Client) {
    let sandbox = support::unlimited_sandbox(17).await;
    let client = client_with(&sandbox, sandbox.api_key());
    (sandbox, client)
}

/// Names and attributes that need every kind of quoting.
async fn create_tricky_contacts(client: &Client) -> Result<(), marketing_api::Error> {
    let people = [
        (
            "plain@example.com",
            "Ada",
            "Lovelace",
            "subscribed",
            json!({"plan": "pro"}),
        ),
        (
            "comma@example.com",
            "Grace, Jr.",
            "Hopper",
            "subscribed",
            json!({"note": "a, b"}),
        ),
        (
            "quote@example.com",
            "Edsger \"EWD\"",
            "Dijkstra",
            "unsubscribed",
            json!({"quote": "say \"hi\""}),
        ),
        (
            "newline@example.com",
            "Line\nBreak",
            "Carriage\r\nReturn",
            "subscribed",
            json!({"multi": "one\ntwo", "n": 3}),
        ),
    ];
    for (email, first, last, status, attributes) in people {
        let status: ContactStatus = serde_json::from_value(json!(status)).expect("a status");
        let new = NewContact::builder()
            .email(email)
            .build()
            .with_first_name(first)
            .with_last_name(last)
            .with_phone("+442071838750")
            .with_status(status)
            .with_attributes(attributes)
            .expect("an object");
        client.contacts().create(&new).send().await?;
    }
    Ok(())
}

/// The whole export body.
async fn export_bytes(
    builder: marketing_api::api::ExportContacts,
) -> Result<Vec<u8>, marketing_api::Error> {
    let mut body = builder.send().await?;
    let mut out = Vec::new();
    while let Some(chunk) = body.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Rows as column → value maps, read by the `csv` crate (not the SDK's reader).
fn parse_with_csv_crate(body: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a CSV record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Rows read by Python's `csv` module, as JSON.
fn parse_with_python(body: &[u8]) -> Vec<BTreeMap<String, String>> {
    let path = std::env::temp_dir().join(format!("bulk-csv-{}.csv", std::process::id()));
    std::fs::write(&path, body).expect("temp file");
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8') as f:\n    \
                  print(json.dumps(list(csv.DictReader(f))))\n";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3 runs");
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

async fn wait_for(client: &Client, id: &str) -> Result<ContactImport, marketing_api::Error> {
    for _ in 0..600 {
        let job = client
            .contacts()
            .get_import(ContactImportId::new(id))
            .send()
            .await?;
        if job.status == ContactImportStatus::Completed {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import {id} did not complete in 30 s");
}

#[tokio::test]
async fn the_export_streams_filtered_rows_that_two_independent_readers_agree_on() -> TestResult {
    let (_sandbox, client) = setup().await;
    create_tricky_contacts(&client).await?;

    let body = export_bytes(client.contacts().export_csv()).await?;
    let (header, rows) = parse_with_csv_crate(&body);
    assert_eq!(header, ALL_COLUMNS);
    assert_eq!(rows.len(), 4);
    assert!(
        body.starts_with(
            b"id,email,phone,first_name,last_name,status,attributes,created_at,updated_at\r\n"
        ),
        "a header row with CRLF"
    );
    assert!(
        String::from_utf8_lossy(&body).contains("\"Edsger \"\"EWD\"\"\""),
        "inner quotes doubled inside a quoted field"
    );

    // Every row says what the JSON API says about the same contact.
    let listed: Vec<_> = client.contacts().list().stream().try_collect().await?;
    for (row, contact) in rows.iter().zip(&listed) {
        assert_eq!(row["id"], contact.id.as_str());
        assert_eq!(row["email"], *contact.email.expose()?);
        let name = |n: &Option<marketing_api::Sensitive<String>>| {
            n.as_ref()
                .map(|s| s.expose().cloned().unwrap_or_default())
                .unwrap_or_default()
        };
        assert_eq!(row["first_name"], name(&contact.first_name));
        assert_eq!(row["last_name"], name(&contact.last_name));
        assert_eq!(
            serde_json::from_str::<Value>(&row["attributes"])?,
            Value::Object(contact.attributes.clone())
        );
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(&row["created_at"])?,
            contact.created_at
        );
    }

    // Python's csv module reads the same rows.
    assert_eq!(parse_with_python(&body), rows);

    // The SDK's row stream reads them too.
    let parsed: Vec<_> = client
        .contacts()
        .export_csv()
        .send()
        .await?
        .csv_rows()
        .try_collect()
        .await?;
    assert_eq!(parsed.len(), 4);
    for (row, expected) in parsed.iter().zip(&rows) {
        let as_map: BTreeMap<String, String> = row
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(&as_map, expected);
    }
    let last = parsed.last().expect("a row");
    assert_eq!(last.get("first_name"), Some("Line\nBreak"));
    assert_eq!(last.get("no_such_column"), None);
    assert!(
        !format!("{last:?}").contains("newline@example.com"),
        "Debug hides PII"
    );

    // Filters are the list's.
    let unsubscribed = export_bytes(
        client
            .contacts()
            .export_csv()
            .status(ContactStatus::Unsubscribed),
    )
    .await?;
    let (_, rows) = parse_with_csv_crate(&unsubscribed);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["email"], "quote@example.com");
    let after = listed[2].created_at;
    let (_, rows) = parse_with_csv_crate(
        &export_bytes(client.contacts().export_csv().created_after(after)).await?,
    );
    assert_eq!(
        rows.iter().map(|r| r["email"].as_str()).collect::<Vec<_>>(),
        ["quote@example.com", "newline@example.com"]
    );
    let (header, rows) = parse_with_csv_crate(
        &export_bytes(client.contacts().export_csv().email("COMMA@example.com")).await?,
    );
    assert_eq!(header.len(), 9);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["first_name"], "Grace, Jr.");
    Ok(())
}

#[tokio::test]
async fn personal_data_columns_need_the_pii_scope() -> TestResult {
    let (sandbox, admin) = setup().await;
    create_tricky_contacts(&admin).await?;
    let key = |name: &str, scopes: Vec<ApiKeyScope>| {
        NewApiKey::builder().name(name).scopes(scopes).build()
    };
    let analyst = admin
        .api_keys()
        .create(&key("BI", vec![ApiKeyScope::ContactsRead]))
        .send()
        .await?;
    let crm = admin
        .api_keys()
        .create(&key(
            "CRM",
            vec![ApiKeyScope::ContactsRead, ApiKeyScope::ContactsPii],
        ))
        .send()
        .await?;

    let body = export_bytes(
        client_with(&sandbox, &analyst.secret)
            .contacts()
            .export_csv(),
    )
    .await?;
    let (header, rows) = parse_with_csv_crate(&body);
    assert_eq!(
        header,
        ["id", "status", "attributes", "created_at", "updated_at"]
    );
    assert_eq!(rows.len(), 4);
    let text = String::from_utf8(body)?;
    for secret in ["@example.com", "Lovelace", "+442071838750"] {
        assert!(!text.contains(secret), "{secret} leaked without the scope");
    }

    let (header, rows) = parse_with_csv_crate(
        &export_bytes(client_with(&sandbox, &crm.secret).contacts().export_csv()).await?,
    );
    assert_eq!(header, ALL_COLUMNS);
    assert_eq!(rows[0]["last_name"], "Lovelace");
    Ok(())
}

#[tokio::test]
async fn an_import_upserts_by_email_and_reports_rejected_rows_with_their_lines() -> TestResult {
    let (sandbox, client) = setup().await;
    create_tricky_contacts(&client).await?;
    let long_name = "x".repeat(201);
    let file = format!(
        "email,first_name,last_name,phone,status,attributes,id\r\n\
         new@example.com,New,\"Person, \"\"Q\"\"\",,subscribed,\"{{\"\"plan\"\":\"\"free\"\"}}\",ctc_ignored\r\n\
         PLAIN@example.com,Augusta,\"King\nLovelace\",,unsubscribed,,\r\n\
         not-an-email,Bad,Email,,subscribed,,\r\n\
         status@example.com,Bad,Status,,maybe,,\r\n\
         attrs@example.com,Bad,Attributes,,,[1],\r\n\
         short@example.com,Too,Few\r\n\
         long@example.com,{long_name},Name,,,,\r\n\
         second@example.com,,,+15551234567,,,\r\n"
    );
    let accepted = client.contacts().import_csv(file).send_with_meta().await?;
    assert_eq!(accepted.status.as_u16(), 202);
    let job = wait_for(&client, accepted.data.id.as_str()).await?;
    assert_eq!(
        (job.rows, job.created, job.updated, job.rejected),
        (8, 2, 1, 5)
    );
    assert!(job.completed_at.is_some());
    let rejected: Vec<(i64, Option<&str>)> = job
        .rejected_rows
        .iter()
        .map(|r| (r.line, r.column.as_deref()))
        .collect();
    // Line 3's quoted line break makes it two lines: the rows after it start a line later.
    assert_eq!(
        rejected,
        [
            (5, Some("email")),
            (6, Some("status")),
            (7, Some("attributes")),
            (8, None),
            (9, Some("first_name")),
        ]
    );
    assert!(job.rejected_rows.iter().all(|r| !r.reason.is_empty()));

    let by_email = |email: &'static str| {
        let client = client.clone();
        async move {
            let page = client.contacts().list().email(email).send().await?;
            Ok::<_, marketing_api::Error>(page.items.into_iter().next())
        }
    };
    let updated = by_email("plain@example.com").await?.expect("still there");
    assert_eq!(
        updated
            .first_name
            .as_ref()
            .map(|n| n.expose().cloned().ok()),
        Some(Some("Augusta".into()))
    );
    assert_eq!(updated.status, ContactStatus::Unsubscribed);
    assert_eq!(updated.phone, None, "an empty phone cell clears it");
    assert_eq!(
        Value::Object(updated.attributes.clone()),
        json!({"plan": "pro"}),
        "an empty attributes cell keeps them"
    );
    let created = by_email("new@example.com").await?.expect("created");
    assert_eq!(
        created.last_name.as_ref().map(|n| n.expose().cloned().ok()),
        Some(Some("Person, \"Q\"".into()))
    );
    assert_eq!(created.attributes.get("plan"), Some(&json!("free")));
    assert!(by_email("short@example.com").await?.is_none());
    assert_eq!(sandbox.contact_count(), 6, "four before, two created");
    Ok(())
}

#[tokio::test]
async fn a_header_without_email_or_with_an_unknown_column_is_refused_at_once() -> TestResult {
    let (_sandbox, client) = setup().await;
    for (file, param) in [
        ("first_name\r\nAda\r\n", "email"),
        ("email,shoe_size\r\na@example.com,42\r\n", "shoe_size"),
        ("email,email\r\na@example.com,b@example.com\r\n", "email"),
    ] {
        let error = client
            .contacts()
            .import_csv(file)
            .send()
            .await
            .expect_err("a bad header is refused");
        let api = error.api_error().expect("an API error");
        assert_eq!(api.status.as_u16(), 400);
        assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("invalid_csv"));
        assert_eq!(api.param.as_deref(), Some(param), "{}", api.message);
    }
    Ok(())
}

#[tokio::test]
async fn an_import_is_idempotent_by_key_and_bounded_in_size() -> TestResult {
    let (sandbox, client) = setup().await;
    let dir = std::env::temp_dir().join(format!("bulk-csv-idem-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("contacts.csv");
    std::fs::write(&path, "email,first_name\r\nonce@example.com,Once\r\n")?;

    let first = client
        .contacts()
        .import_csv(Upload::file(&path))
        .idempotency_key("import-2026-11-03")
        .send_with_meta()
        .await?;
    let again = client
        .contacts()
        .import_csv(Upload::file(&path))
        .idempotency_key("import-2026-11-03")
        .send_with_meta()
        .await?;
    assert!(!first.is_idempotent_replay());
    assert!(again.is_idempotent_replay());
    assert_eq!(first.data.id, again.data.id, "the same job");
    let job = wait_for(&client, first.data.id.as_str()).await?;
    assert_eq!((job.created, job.updated), (1, 0), "imported once");
    assert_eq!(sandbox.contact_count(), 1);

    // The same key with another file is refused.
    let error = client
        .contacts()
        .import_csv("email\r\nother@example.com\r\n")
        .idempotency_key("import-2026-11-03")
        .send()
        .await
        .expect_err("a reused key");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));

    // A stream and a reader are sent as they are read.
    let chunks = futures::stream::iter(["email\r\n", "streamed@example.com\r\n"])
        .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::from_static(c.as_bytes())));
    let job = client
        .contacts()
        .import_csv(Upload::stream(chunks))
        .send()
        .await?;
    assert_eq!(wait_for(&client, job.id.as_str()).await?.created, 1);
    let job = client
        .contacts()
        .import_csv(Upload::reader(&b"email\r\nread@example.com\r\n"[..]))
        .send()
        .await?;
    assert_eq!(wait_for(&client, job.id.as_str()).await?.created, 1);

    // Beyond the limit: 413 in the error envelope, nothing imported.
    sandbox.settings().update(|s| s.max_import_bytes = 1024);
    let big: String = std::iter::once("email\r\n".to_owned())
        .chain((0..200).map(|i| format!("big-{i}@example.com\r\n")))
        .collect();
    std::fs::write(&path, &big)?;
    let error = client
        .contacts()
        .import_csv(Upload::file(&path))
        .send()
        .await
        .expect_err("too large");
    assert_eq!(error.kind(), ErrorKind::Api);
    let api = error.api_error().expect("the error envelope");
    assert_eq!(api.status.as_u16(), 413);
    assert_eq!(
        api.code.as_ref().map(|c| c.as_str()),
        Some("payload_too_large")
    );
    assert_eq!(sandbox.contact_count(), 3);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[tokio::test]
async fn a_multipart_form_with_a_csv_file_part_imports_too() -> TestResult {
    let (sandbox, client) = setup().await;
    let boundary = "csv-boundary-4e1f";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\nemail,last_name\r\nform@example.com,\"Form, Part\"\r\n\r\n--{boundary}--\r\n"
    );
    let response = reqwest::Client::new()
        .post(format!("{}/contacts/import", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = serde_json::from_slice(&response.bytes().await?)?;
    let id = answer["data"]["id"].as_str().expect("a job id").to_owned();
    let job = wait_for(&client, &id).await?;
    assert_eq!((job.created, job.rejected), (1, 0));

    // Neither CSV nor a form: 415.
    let response = reqwest::Client::new()
        .post(format!("{}/contacts/import", sandbox.base_url()))
        .header("x-api-key", sandbox.api_key())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 415);
    let answer: Value = serde_json::from_slice(&response.bytes().await?)?;
    assert_eq!(answer["error"]["code"], "invalid_content_type");
    Ok(())
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_sandbox_keeps_every_contact() -> TestResult {
    let (source, from) = setup().await;
    create_tricky_contacts(&from).await?;
    source.seed_contacts(2_500);
    let path = std::env::temp_dir().join(format!("bulk-csv-roundtrip-{}.csv", std::process::id()));
    {
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(&path).await?;
        let mut body = from.contacts().export_csv().send().await?;
        while let Some(chunk) = body.try_next().await? {
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
    }
    let (target, to) = setup().await;
    let job = to.contacts().import_csv(Upload::file(&path)).send().await?;
    let job = wait_for(&to, job.id.as_str()).await?;
    std::fs::remove_file(&path).ok();
    assert_eq!((job.rows, job.created, job.rejected), (2_504, 2_504, 0));
    assert_eq!(target.contact_count(), 2_504);

    // Every contact, with every field but its id and times, is in the target.
    let key = |c: &marketing_api::models::Contact| {
        let text = |s: &Option<marketing_api::Sensitive<String>>| {
            s.as_ref().and_then(|s| s.expose().ok().cloned())
        };
        (
            c.email.expose().cloned().unwrap_or_default(),
            text(&c.phone),
            text(&c.first_name),
            text(&c.last_name),
            c.status.clone(),
            Value::Object(c.attributes.clone()).to_string(),
        )
    };
    let all = |client: Client| async move {
        let mut all: Vec<_> = client
            .contacts()
            .list()
            .limit(100)
            .stream()
            .map_ok(|c| key(&c))
            .try_collect()
            .await?;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok::<_, marketing_api::Error>(all)
    };
    let (before, after) = (all(from).await?, all(to).await?);
    assert_eq!(before.len(), 2_504);
    assert_eq!(before, after);
    Ok(())
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn mock_api_answers_an_export_and_an_import_as_the_spec_declares() -> TestResult {
    use marketing_api::testing::MockApi;
    let mock = MockApi::start().await;
    mock.contacts()
        .export_csv()
        .times(1)
        .returns("id,status\r\nctc_1,subscribed\r\n")
        .await;
    let job: ContactImport = MockApi::example("ContactImport").expect("the spec's example");
    mock.contacts()
        .import_csv()
        .times(1)
        .returns(job.clone())
        .await;

    let client = mock.client();
    let rows: Vec<_> = client
        .contacts()
        .export_csv()
        .send()
        .await?
        .csv_rows()
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("id"), Some("ctc_1"));
    let answered = client
        .contacts()
        .import_csv("email\r\na@example.com\r\n")
        .send()
        .await?;
    assert_eq!(answered, job);
    mock.verify().await;
    Ok(())
}

/// The `Accept` header a request carries, exactly as sent.
fn accept_is(expected: &'static str) -> impl Fn(&wiremock::Request) -> bool {
    move |request| request.headers.get("accept").map(|v| v.as_bytes()) == Some(expected.as_bytes())
}

#[tokio::test]
async fn the_export_asks_for_csv_and_a_json_call_for_json() -> TestResult {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // The export's answer is `text/csv`; its errors are JSON documents, which it still takes.
    Mock::given(method("GET"))
        .and(path("/v1/contacts/export"))
        .and(accept_is("text/csv, application/json;q=0.9"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/csv")
                .set_body_string("id,status\r\nctc_1,subscribed\r\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/contacts"))
        .and(accept_is("application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [], "meta": {"next_cursor": null}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(format!("{}/v1", server.uri()))
        .auth(ApiKey::new("mk_test_accept").expect("a valid key"))
        .build()?;

    let csv = client.contacts().export_csv().text().await?;
    assert_eq!(csv, "id,status\r\nctc_1,subscribed\r\n");
    let page = client.contacts().list().send().await?;
    assert!(page.items.is_empty());
    server.verify().await;
    Ok(())
}
