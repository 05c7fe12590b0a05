impl crate::Client {
    /// Widgets and their parts.
    pub fn widgets(&self) -> Widgets {
        Widgets {
            client: self.clone()
        }
    }
}

/// Widgets and their parts.
#[derive(Clone)]
pub struct Widgets {
    client: crate::Client,
}

impl std::fmt::Debug for Widgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Widgets").finish_non_exhaustive()
    }
}

impl Widgets {
    /// The client this resource sends through, so hand-written helpers (such as
    /// `Events::ingest`) can build on the generated operations.
    #[allow(dead_code)]
    pub(crate) fn client(&self) -> &crate::Client {
        &self.client
    }
    /// Operations on widgets / parts.
    pub fn parts(&self, widget_id: impl Into<crate::models::WidgetId>) -> Parts {
        Parts {
            client: self.client.clone(),
            widget_id: crate::codec::path_segment::<crate::models::WidgetId>(&widget_id.into()),
        }
    }
    /// List widgets
    ///
    /// Widgets in creation order.
    pub fn list(&self,) -> ListWidgets {
        ListWidgets::new(self.client.clone(), String::from("/widgets"),)
    }
    /// Create a widget
    pub fn create(&self, body: &crate::models::NewWidget) -> CreateWidget {
        CreateWidget::new(self.client.clone(), String::from("/widgets"), Some(crate::codec::encode_body(body)),)
    }
    /// Update a widget
    pub fn update(&self, widget_id: impl Into<crate::models::WidgetId>, body: &crate::models::WidgetPatch) -> UpdateWidget {
        UpdateWidget::new(self.client.clone(), format!("/widgets/{}", crate::codec::path_segment::<crate::models::WidgetId>(&widget_id.into())), Some(crate::codec::encode_body(body)),)
    }
    /// Delete a widget
    #[deprecated(note = "deprecated by the API; see the operation docs for its replacement")]
    pub fn delete(&self, widget_id: impl Into<crate::models::WidgetId>) -> DeleteWidget {
        DeleteWidget::new(self.client.clone(), format!("/widgets/{}", crate::codec::path_segment::<crate::models::WidgetId>(&widget_id.into())),)
    }
    /// Polish a widget
    pub fn polish(&self, widget_id: impl Into<crate::models::WidgetId>) -> PolishWidget {
        PolishWidget::new(self.client.clone(), format!("/widgets/{}/polish", crate::codec::path_segment::<crate::models::WidgetId>(&widget_id.into())),)
    }
}

static OP_LIST_WIDGETS: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "listWidgets",
    method: http::Method::GET,
    path_template: "/widgets",
    deprecated: false,
    idempotency_key: false,
    accept: None,
};

/// Request builder for `GET /widgets` (`listWidgets`).
///
/// List widgets
///
/// Widgets in creation order.
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct ListWidgets {
    client: crate::Client,
    path: String,
    color: Option<crate::models::WidgetColor>,
    created_after: Option<chrono::DateTime<chrono::Utc>>,
    cursor: Option<String>,
    limit: Option<i32>,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for ListWidgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListWidgets").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl ListWidgets {
    fn new(client: crate::Client, path: String,) -> Self {
        Self {
            client,
            path,
            color: None,
            created_after: None,
            cursor: None,
            limit: None,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Only widgets of this color.
    pub fn color(mut self, value: crate::models::WidgetColor) -> Self {
        self.color = Some(value);
        self
    }
    /// Only widgets created after this instant.
    pub fn created_after(mut self, value: chrono::DateTime<chrono::Utc>) -> Self {
        self.created_after = Some(value);
        self
    }
    /// Opaque cursor from `meta.next_cursor`.
    pub fn cursor(mut self, value: impl Into<String>) -> Self {
        self.cursor = Some(value.into());
        self
    }
    /// Page size.
    pub fn limit(mut self, value: i32) -> Self {
        self.limit = Some(value);
        self
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let mut query: crate::codec::Pairs = Vec::with_capacity(4usize);
        crate::codec::push_value(&mut query, "color", self.color.as_ref());
        crate::codec::push_value(&mut query, "created_after", self.created_after.as_ref());
        crate::codec::push_value(&mut query, "cursor", self.cursor.as_ref());
        crate::codec::push_value(&mut query, "limit", self.limit.as_ref());
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_LIST_WIDGETS,
            path: self.path,
            query,
            headers,
            body: None,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request and returns one page.
    pub async fn send(self) -> Result<crate::Page<crate::models::Widget>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_page::<crate::models::Widget>(request).await.map(| r | r.data)
    }
    /// Sends the request and returns one page with the response metadata
    /// (headers: rate limit, deprecation, …).
    pub async fn send_with_meta(self,) -> Result<crate::Response<crate::Page<crate::models::Widget>>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_page::<crate::models::Widget>(request).await
    }
    /// A stream of pages, following `next_cursor` with every filter kept.
    pub fn pages(self) -> crate::pagination::Pages<crate::models::Widget> {
        let (client, request) = self.into_request();
        crate::pagination::Pages::new(client, request)
    }
    /// A stream of items across all pages.
    pub fn stream(self) -> crate::pagination::Items<crate::models::Widget> {
        self.pages().items()
    }
}

static OP_CREATE_WIDGET: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "createWidget",
    method: http::Method::POST,
    path_template: "/widgets",
    deprecated: false,
    idempotency_key: true,
    accept: None,
};

/// Request builder for `POST /widgets` (`createWidget`).
///
/// Create a widget
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct CreateWidget {
    client: crate::Client,
    path: String,
    body: Option<crate::codec::EncodedBody>,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for CreateWidget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateWidget").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl CreateWidget {
    fn new(client: crate::Client, path: String, body: Option<crate::codec::EncodedBody>,) -> Self {
        Self {
            client,
            path,
            body,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Sets the `Idempotency-Key` sent with every attempt of this request. Without it
    /// the SDK generates one per call, so retries never create anything twice; set your
    /// own to make a request idempotent across process restarts.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.options.idempotency_key = Some(key.into());
        self
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let query: crate::codec::Pairs = Vec::new();
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_CREATE_WIDGET,
            path: self.path,
            query,
            headers,
            body: self.body,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request and returns the entity.
    pub async fn send(self) -> Result<crate::models::Widget, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await.map(| r | r.data)
    }
    /// Sends the request and returns the entity with the response metadata.
    pub async fn send_with_meta(self) -> Result<crate::Response<crate::models::Widget>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await
    }
}

static OP_UPDATE_WIDGET: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "updateWidget",
    method: http::Method::PATCH,
    path_template: "/widgets/{widget_id}",
    deprecated: false,
    idempotency_key: false,
    accept: None,
};

/// Request builder for `PATCH /widgets/{widget_id}` (`updateWidget`).
///
/// Update a widget
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct UpdateWidget {
    client: crate::Client,
    path: String,
    body: Option<crate::codec::EncodedBody>,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for UpdateWidget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateWidget").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl UpdateWidget {
    fn new(client: crate::Client, path: String, body: Option<crate::codec::EncodedBody>,) -> Self {
        Self {
            client,
            path,
            body,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let query: crate::codec::Pairs = Vec::new();
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_UPDATE_WIDGET,
            path: self.path,
            query,
            headers,
            body: self.body,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request and returns the entity.
    pub async fn send(self) -> Result<crate::models::Widget, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await.map(| r | r.data)
    }
    /// Sends the request and returns the entity with the response metadata.
    pub async fn send_with_meta(self) -> Result<crate::Response<crate::models::Widget>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await
    }
}

static OP_DELETE_WIDGET: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "deleteWidget",
    method: http::Method::DELETE,
    path_template: "/widgets/{widget_id}",
    deprecated: true,
    idempotency_key: false,
    accept: None,
};

/// Request builder for `DELETE /widgets/{widget_id}` (`deleteWidget`).
///
/// Delete a widget
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct DeleteWidget {
    client: crate::Client,
    path: String,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for DeleteWidget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeleteWidget").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl DeleteWidget {
    fn new(client: crate::Client, path: String,) -> Self {
        Self {
            client,
            path,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let query: crate::codec::Pairs = Vec::new();
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_DELETE_WIDGET,
            path: self.path,
            query,
            headers,
            body: None,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request.
    pub async fn send(self) -> Result<(), crate::Error> {
        let (client, request) = self.into_request();
        client.execute_empty(request).await.map(| _ | ())
    }
    /// Sends the request and returns the response metadata (request id, headers).
    pub async fn send_with_meta(self) -> Result<crate::Response<()>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_empty(request).await
    }
}

static OP_POLISH_WIDGET: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "polishWidget",
    method: http::Method::POST,
    path_template: "/widgets/{widget_id}/polish",
    deprecated: false,
    idempotency_key: false,
    accept: None,
};

/// Request builder for `POST /widgets/{widget_id}/polish` (`polishWidget`).
///
/// Polish a widget
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct PolishWidget {
    client: crate::Client,
    path: String,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for PolishWidget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolishWidget").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl PolishWidget {
    fn new(client: crate::Client, path: String,) -> Self {
        Self {
            client,
            path,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let query: crate::codec::Pairs = Vec::new();
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_POLISH_WIDGET,
            path: self.path,
            query,
            headers,
            body: None,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request and returns the entity.
    pub async fn send(self) -> Result<crate::models::Widget, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await.map(| r | r.data)
    }
    /// Sends the request and returns the entity with the response metadata.
    pub async fn send_with_meta(self) -> Result<crate::Response<crate::models::Widget>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<crate::models::Widget>(request).await
    }
}

/// Operations on widgets / parts.
#[derive(Clone)]
pub struct Parts {
    client: crate::Client,
    widget_id: String,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").field("widget_id", &self.widget_id).finish_non_exhaustive()
    }
}

impl Parts {
    /// The client this resource sends through, so hand-written helpers (such as
    /// `Events::ingest`) can build on the generated operations.
    #[allow(dead_code)]
    pub(crate) fn client(&self) -> &crate::Client {
        &self.client
    }
    /// List the parts of a widget
    pub fn list(&self,) -> ListWidgetParts {
        ListWidgetParts::new(self.client.clone(), format!("/widgets/{}/parts", self.widget_id),)
    }
}

static OP_LIST_WIDGET_PARTS: crate::transport::OperationInfo = crate::transport::OperationInfo {
    id: "listWidgetParts",
    method: http::Method::GET,
    path_template: "/widgets/{widget_id}/parts",
    deprecated: false,
    idempotency_key: false,
    accept: None,
};

/// Request builder for `GET /widgets/{widget_id}/parts` (`listWidgetParts`).
///
/// List the parts of a widget
///
/// Create it with the resource method, set options, then call `.send()`.
#[must_use = "a request does nothing until it is sent"]
#[derive(Clone)]
pub struct ListWidgetParts {
    client: crate::Client,
    path: String,
    options: crate::request::RequestOptions,
}

impl std::fmt::Debug for ListWidgetParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListWidgetParts").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

impl ListWidgetParts {
    fn new(client: crate::Client, path: String,) -> Self {
        Self {
            client,
            path,
            options: crate::request::RequestOptions::default(),
        }
    }
    /// Sets the timeout of each attempt, overriding the client's.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }
    /// Sets the total number of attempts (1 = no retry), overriding the client's policy.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.max_attempts = Some(attempts);
        self
    }
    fn into_request(self) -> (crate::Client, crate::transport::Request) {
        let query: crate::codec::Pairs = Vec::new();
        let headers: crate::codec::Pairs = Vec::new();
        let request = crate::transport::Request {
            operation: &OP_LIST_WIDGET_PARTS,
            path: self.path,
            query,
            headers,
            body: None,
            options: self.options,
        };
        (self.client, request)
    }
    /// Sends the request and returns the entity.
    pub async fn send(self) -> Result<Vec<crate::models::Part>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<Vec<crate::models::Part>>(request).await.map(| r | r.data)
    }
    /// Sends the request and returns the entity with the response metadata.
    pub async fn send_with_meta(self) -> Result<crate::Response<Vec<crate::models::Part>>, crate::Error> {
        let (client, request) = self.into_request();
        client.execute_single::<Vec<crate::models::Part>>(request).await
    }
}
