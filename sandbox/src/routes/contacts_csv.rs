//! Bulk CSV for contacts: a streamed export (`GET /contacts/export`) and an import job
//! (`POST /contacts/import`, `GET /contacts/imports/{import_id}`).
//!
//! The export never holds the whole file: the body is a stream that takes the store's lock for
//! one chunk of rows at a time (a keyset position between chunks, as a paging client would), so
//! a million-row export neither builds a large buffer nor blocks other requests. Quoting is the
//! `csv` crate's (RFC 4180).
//!
//! An import validates each row with the very schema `createContact` validates its JSON body
//! with (`NewContact`), so a value the JSON API refuses is refused here too, with the same
//! reason, and applies the rows in batches in a blocking task: the job answers at once and its
//! counts move as rows are done.

use super::Path;
use super::contacts::Filter;
use super::{ApiResult, QueryArgs, ok, single};
use crate::app::App;
use crate::auth::Credential;
use crate::errors::{ApiError, ErrorType};
use crate::ids::new_id;
use crate::model::{Contact, ContactImport, RejectedRow, Timestamp};
use crate::store::{RowKey, Store, row_key};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// The scope that lets a credential receive the personal-data columns of an export.
pub(crate) const PII_SCOPE: &str = "contacts:pii";

/// The operation whose body is a CSV file: the pipeline bounds it by the import limit.
pub(crate) const IMPORT_OPERATION: &str = "importContacts";

/// Every column of an export, in order.
const COLUMNS: [&str; 9] = [
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

/// The columns that hold personal data (`x-sensitive` on `Contact`).
const PII_COLUMNS: [&str; 4] = ["email", "phone", "first_name", "last_name"];

/// Columns an import reads; `IGNORED_COLUMNS` are accepted and skipped.
const IMPORT_COLUMNS: [&str; 6] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "status",
    "attributes",
];
const IGNORED_COLUMNS: [&str; 3] = ["id", "created_at", "updated_at"];

/// Rows per chunk of an export, and per locked batch of an import.
const CHUNK_ROWS: usize = 1000;

/// Rejected rows kept on a job (the contract's `maxItems`).
const MAX_REJECTED_ROWS: usize = 100;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/contacts/export", get(export_contacts))
        // The pipeline has bounded the body by the import limit already; axum's own default
        // (2 MB) would refuse most files.
        .route(
            "/v1/contacts/import",
            post(import_contacts).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/contacts/imports/{import_id}", get(get_contact_import))
}

/// Reading the export chunk by chunk.
impl Filter {
    /// One chunk of matching rows after `after`, read under the lock.
    fn chunk(&self, store: &Store, after: Option<&RowKey>) -> crate::store::Page<Contact> {
        self.with_matcher(store, |keep| store.contacts.page(after, CHUNK_ROWS, keep))
    }
}

/// Where a streamed export stands between chunks.
struct Export {
    app: App,
    filter: Filter,
    pii: bool,
    /// Encrypt the personal-data cells to this key (the account registered one).
    seal_to: Option<crate::encryption::Recipient>,
    after: Option<RowKey>,
    header_sent: bool,
    done: bool,
}

impl Export {
    fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        COLUMNS
            .into_iter()
            .filter(|c| self.pii || !PII_COLUMNS.contains(c))
    }

    /// The next piece of the body, `None` at the end.
    fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(64 * 1024));
        if !self.header_sent {
            self.header_sent = true;
            let header: Vec<&str> = self.columns().collect();
            if let Err(e) = out.write_record(&header) {
                return Some(Err(std::io::Error::other(e)));
            }
        }
        let page = {
            let store = self.app.store();
            self.filter.chunk(&store, self.after.as_ref())
        };
        self.done = page.next.is_none();
        self.after = page.next;
        for contact in &page.items {
            let record = self.record(contact);
            if let Err(e) = out.write_record(&record) {
                return Some(Err(std::io::Error::other(e)));
            }
        }
        match out.into_inner() {
            Ok(bytes) => Some(Ok(Bytes::from(bytes))),
            Err(e) => Some(Err(std::io::Error::other(e.to_string()))),
        }
    }

    fn record(&self, c: &Contact) -> Vec<String> {
        let mut pii = [
            Value::String(c.email.clone()),
            c.phone.clone().map_or(Value::Null, Value::String),
            c.first_name.clone().map_or(Value::Null, Value::String),
            c.last_name.clone().map_or(Value::Null, Value::String),
        ];
        if self.pii
            && let Some(to) = &self.seal_to
        {
            // The same rule as JSON answers: each value bound to its property and the contact.
            let mut object = Map::new();
            object.insert("id".into(), Value::String(c.id.clone()));
            for (name, value) in PII_COLUMNS.iter().zip(&pii) {
                object.insert((*name).into(), value.clone());
            }
            let mut object = Value::Object(object);
            self.app.encryption.seal_tree(&mut object, to);
            for (name, value) in PII_COLUMNS.iter().zip(pii.iter_mut()) {
                if let Some(sealed) = object.get(*name) {
                    *value = sealed.clone();
                }
            }
        }
        let cell = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_default();
        let mut record = vec![c.id.clone()];
        if self.pii {
            record.extend(pii.iter().map(cell));
        }
        record.push(c.status.clone());
        record.push(Value::Object(c.attributes.clone()).to_string());
        record.push(rfc3339(c.created_at));
        record.push(rfc3339(c.updated_at));
        record
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

async fn export_contacts(
    State(app): State<App>,
    Extension(caller): Extension<Credential>,
    q: QueryArgs,
) -> ApiResult {
    let filter = Filter::from_query(&q)?;
    let pii = caller
        .scopes
        .as_ref()
        .is_none_or(|granted| granted.contains(PII_SCOPE));
    let seal_to = if pii {
        app.store().encryption_recipient()
    } else {
        None
    };
    let export = Export {
        app,
        filter,
        pii,
        seal_to,
        after: None,
        header_sent: false,
        done: false,
    };
    let stream = futures::stream::unfold(export, |mut export| async move {
        // Yield between chunks, so a long export shares the runtime with other requests.
        tokio::task::yield_now().await;
        export.next_chunk().map(|chunk| (chunk, export))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok(response)
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorType::InvalidRequest,
        "invalid_content_type",
        message,
    )
    .with_param("Content-Type")
}

fn invalid_csv(column: Option<&str>, message: impl Into<String>) -> ApiError {
    let error = ApiError::bad_request_plain("invalid_csv", message);
    match column {
        Some(column) => error.with_param(column),
        None => error,
    }
}

/// The CSV file of an import body: the body itself (`text/csv`), or the `file` part of a form.
async fn csv_file(headers: &HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/csv" => Ok(body),
        "multipart/form-data" => {
            let malformed = |e: multer::Error| {
                ApiError::bad_request_plain(
                    "invalid_body",
                    format!("The multipart/form-data body is malformed: {e}."),
                )
            };
            let boundary = multer::parse_boundary(content_type).map_err(|_| {
                unsupported("Send the form as multipart/form-data with a boundary.")
            })?;
            let stream =
                futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
            let mut form = multer::Multipart::new(stream, boundary);
            let mut file = None;
            while let Some(field) = form.next_field().await.map_err(malformed)? {
                let name = field.name().unwrap_or_default().to_owned();
                match name.as_str() {
                    "file" if file.is_none() => {
                        file = Some(field.bytes().await.map_err(malformed)?)
                    }
                    "file" => {
                        return Err(ApiError::bad_request(
                            "duplicate_field",
                            "file",
                            "The form has two 'file' parts; send it once.",
                        ));
                    }
                    _ => {
                        return Err(ApiError::bad_request(
                            "unknown_field",
                            name.clone(),
                            format!("The form has a '{name}' part; it takes only 'file'."),
                        ));
                    }
                }
            }
            file.ok_or_else(|| {
                ApiError::bad_request("missing_field", "file", "'file' is required.")
            })
        }
        _ => Err(unsupported(
            "Send the CSV file as text/csv, or as the 'file' part of multipart/form-data.",
        )),
    }
}

/// What each column of the file is.
#[derive(Debug, Clone)]
struct Header {
    /// For each field of a row, the `NewContact` property it carries (`None`: ignored).
    fields: Vec<Option<&'static str>>,
}

fn read_header(file: &[u8]) -> Result<Header, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    let read = reader
        .read_byte_record(&mut record)
        .map_err(|e| invalid_csv(None, format!("The header row is not CSV: {e}.")))?;
    if !read {
        return Err(invalid_csv(
            None,
            "The file is empty; it needs a header row naming its columns (at least 'email').",
        ));
    }
    let mut fields = Vec::with_capacity(record.len());
    let mut seen: Vec<&str> = Vec::new();
    for raw in &record {
        // A spreadsheet's byte-order mark before the first name is not part of it.
        let raw = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
        let name = std::str::from_utf8(raw)
            .map_err(|_| invalid_csv(None, "The header row is not UTF-8 text."))?
            .trim();
        if seen.contains(&name) {
            return Err(invalid_csv(
                Some(name),
                format!("The column '{name}' appears twice in the header."),
            ));
        }
        if let Some(known) = IMPORT_COLUMNS.iter().find(|c| **c == name) {
            fields.push(Some(*known));
        } else if IGNORED_COLUMNS.contains(&name) {
            fields.push(None);
        } else {
            return Err(invalid_csv(
                Some(name),
                format!(
                    "Unknown column '{name}'; the columns are {} (and {}, which are ignored).",
                    IMPORT_COLUMNS.join(", "),
                    IGNORED_COLUMNS.join(", ")
                ),
            ));
        }
        seen.push(
            IMPORT_COLUMNS
                .iter()
                .chain(&IGNORED_COLUMNS)
                .find(|c| **c == name)
                .copied()
                .unwrap_or_default(),
        );
    }
    if !seen.contains(&"email") {
        return Err(invalid_csv(
            Some("email"),
            "The header has no 'email' column; rows are matched by email.",
        ));
    }
    Ok(Header { fields })
}

async fn import_contacts(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let file = csv_file(&headers, body).await?;
    let header = read_header(&file)?;
    let job = {
        let mut store = app.store();
        let job = ContactImport {
            id: new_id("imp_"),
            status: "processing".into(),
            rows: 0,
            created: 0,
            updated: 0,
            rejected: 0,
            rejected_rows: Vec::new(),
            created_at: store.next_timestamp(),
            completed_at: None,
        };
        store.contact_imports.insert(job.id.clone(), job.clone());
        job
    };
    let worker_app = app.clone();
    let id = job.id.clone();
    tokio::task::spawn_blocking(move || run_import(&worker_app, &id, &file, &header));
    single(StatusCode::ACCEPTED, job)
}

async fn get_contact_import(State(app): State<App>, Path(import_id): Path<String>) -> ApiResult {
    let job = app
        .store()
        .contact_imports
        .get(&import_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("contact import", "import_id", &import_id))?;
    ok(job)
}

/// A row that passed validation: the `NewContact` properties its columns carry (an empty cell
/// is `Value::Null`).
struct ValidRow {
    email_key: String,
    values: Map<String, Value>,
}

/// Checks one row with the schema `createContact` uses; `Err` is the rejection.
fn validate_row(
    app: &App,
    create: &crate::spec::Operation,
    header: &Header,
    record: &csv::ByteRecord,
    line: u64,
) -> Result<ValidRow, RejectedRow> {
    let reject = |column: Option<&str>, reason: String| RejectedRow {
        line,
        column: column.map(str::to_owned),
        reason,
    };
    if record.len() != header.fields.len() {
        return Err(reject(
            None,
            format!(
                "The row has {} fields; the header has {}.",
                record.len(),
                header.fields.len()
            ),
        ));
    }
    let mut values = Map::new();
    for (column, raw) in header.fields.iter().zip(record) {
        let Some(column) = *column else { continue };
        let text = std::str::from_utf8(raw)
            .map_err(|_| reject(Some(column), format!("'{column}' is not UTF-8 text.")))?;
        let value = if text.is_empty() {
            Value::Null
        } else if column == "attributes" {
            match serde_json::from_str::<Value>(text) {
                Ok(object @ Value::Object(_)) => object,
                _ => {
                    return Err(reject(
                        Some(column),
                        "'attributes' must be a JSON object, such as {\"plan\":\"pro\"}.".into(),
                    ));
                }
            }
        } else {
            Value::String(text.to_owned())
        };
        values.insert(column.to_owned(), value);
    }
    let mut opened = Value::Object(values);
    let opened_result = app.encryption.open_body(&mut opened, None);
    let Value::Object(values) = opened else {
        // `open_body` replaces sensitive values inside the object, never the object itself.
        return Err(reject(None, "The row could not be read.".into()));
    };
    if let Err((field, _)) = opened_result {
        return Err(reject(
            Some(&field),
            format!("The encrypted value of '{field}' does not decrypt with the platform's key."),
        ));
    }
    // What the JSON API would be sent: the cells that say something.
    let mut body = Value::Object(
        values
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    if let Err(error) = create.check_body(&mut body) {
        return Err(reject(error.param.as_deref(), error.message));
    }
    let email_key = values
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase();
    Ok(ValidRow { email_key, values })
}

/// Applies one valid row; `true` when it created a contact.
fn apply_row(store: &mut Store, row: ValidRow) -> bool {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(id) = store.contact_emails.get(&row.email_key).cloned() {
        let now = store.now();
        if let Some(contact) = store.contacts.get_mut(&id) {
            for (column, value) in &row.values {
                match column.as_str() {
                    "email" => {
                        if let Some(email) = text(value) {
                            contact.email = email;
                        }
                    }
                    "phone" => contact.phone = text(value),
                    "first_name" => contact.first_name = text(value),
                    "last_name" => contact.last_name = text(value),
                    "status" => {
                        if let Some(status) = text(value) {
                            contact.status = status;
                        }
                    }
                    "attributes" => {
                        if let Value::Object(map) = value {
                            contact.attributes = map.clone();
                        }
                    }
                    _ => {}
                }
            }
            contact.updated_at = now;
        }
        return false;
    }
    let now = store.next_timestamp();
    let get = |name: &str| row.values.get(name).and_then(text);
    let contact = Contact {
        id: new_id("ctc_"),
        email: get("email").unwrap_or_default(),
        phone: get("phone"),
        first_name: get("first_name"),
        last_name: get("last_name"),
        status: get("status").unwrap_or_else(|| "subscribed".into()),
        attributes: match row.values.get("attributes") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        },
        created_at: now,
        updated_at: now,
    };
    store
        .contact_emails
        .insert(row.email_key, contact.id.clone());
    store.contacts.insert(row_key(now, &contact.id), contact);
    true
}

/// Reads and applies every row of `file`, a batch per lock, updating the job as it goes.
fn run_import(app: &App, id: &str, file: &[u8], header: &Header) {
    let create = match app.spec.find(&Method::POST, "/contacts") {
        crate::spec::RouteMatch::Operation(op) => op,
        _ => {
            tracing::error!("the contract has no createContact to validate imported rows with");
            return;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    // The reader's own line count lags by one after a CRLF (it ends a record at the CR), so
    // lines are counted here from byte offsets: newlines before the record's first byte.
    let mut lines = LineCounter::default();
    let mut finished = false;
    while !finished {
        let mut batch: Vec<Result<ValidRow, RejectedRow>> = Vec::with_capacity(CHUNK_ROWS);
        while batch.len() < CHUNK_ROWS {
            let line = lines.line_at(file, reader.position().byte());
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    let line = record
                        .position()
                        .map_or(line, |p| lines.line_at(file, p.byte()));
                    batch.push(validate_row(app, &create, header, &record, line));
                }
                Ok(false) => {
                    finished = true;
                    break;
                }
                Err(error) => {
                    // The csv reader stops at a malformed record: it is the last row.
                    batch.push(Err(RejectedRow {
                        line,
                        column: None,
                        reason: format!("The row is not valid CSV: {error}."),
                    }));
                    finished = true;
                    break;
                }
            }
        }
        let mut store = app.store();
        let mut counts = (0u64, 0u64, Vec::new());
        let rows = batch.len() as u64;
        for row in batch {
            match row {
                Ok(valid) => {
                    if apply_row(&mut store, valid) {
                        counts.0 += 1;
                    } else {
                        counts.1 += 1;
                    }
                }
                Err(rejected) => counts.2.push(rejected),
            }
        }
        let now = store.now();
        if let Some(job) = store.contact_imports.get_mut(id) {
            job.rows += rows;
            job.created += counts.0;
            job.updated += counts.1;
            job.rejected += counts.2.len() as u64;
            let room = MAX_REJECTED_ROWS.saturating_sub(job.rejected_rows.len());
            job.rejected_rows.extend(counts.2.into_iter().take(room));
            if finished {
                job.status = "completed".into();
                job.completed_at = Some(now);
            }
        }
    }
}

/// The physical line of a byte offset, counted incrementally (offsets only grow).
#[derive(Debug)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { offset: 0, line: 1 }
    }
}

impl LineCounter {
    /// The line of the first byte at or after `offset` that is not a line end (where the record
    /// starting at `offset` really begins).
    fn line_at(&mut self, file: &[u8], offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(file.len())
            .min(file.len());
        while start < file.len() && matches!(file[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.line += file[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.line
    }
}

/// Inserts `count` synthetic contacts directly into the store (no HTTP, no webhooks), for
/// benchmarks and load tests; returns how many exist afterwards.
pub(crate) fn seed_contacts(store: &mut Store, count: usize) -> usize {
    for i in 0..count {
        let now = store.next_timestamp();
        let id = new_id("ctc_");
        let email = format!("seed-{i}-{}@example.com", &id[4..10]);
        let contact = Contact {
            id,
            email,
            phone: Some(format!("+4420{:08}", i % 100_000_000)),
            first_name: Some(format!("First {i}")),
            last_name: Some(format!("Last, \"{i}\"")),
            status: "subscribed".into(),
            attributes: json!({"plan": "pro", "index": i})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        // Ids are fresh, so only an e-mail seeded by an earlier call can collide (and be skipped).
        store.insert_contact(contact);
    }
    store.contacts.len()
}
