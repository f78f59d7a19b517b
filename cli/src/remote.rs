//! Where the commands that operate a deployment (`cosmosc instances`) send their
//! requests: a running `cosmosc serve` over its HTTP API (`--server URL`, the token
//! from `--token` or `COSMOS_TOKEN`), or a store directly (`--store URL`), through
//! the runtime's own functions. Either way the answer is the API's JSON, and a
//! refusal the API's error code and message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cosmos_project::find_project_root;
use cosmos_runtime::api::{ApiError, views};
use cosmos_runtime::connect::{ConnectError, StoreKind, open_store, store_kind};
use cosmos_runtime::engine::Event;
use cosmos_runtime::node::{NodeError, send_to_store};
use cosmos_runtime::store::{InstanceFilter, Store, StoreError};
use serde_json::{Map, Value as Json};

/// Where `--server` points when neither it nor `COSMOS_SERVER` is given: the address
/// `cosmosc serve` listens on by default.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// How long one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoteError {
    #[error(
        "cannot reach the runtime at {url}: {reason}; is `cosmosc serve` running there? \
         (set --server or COSMOS_SERVER)"
    )]
    Unreachable { url: String, reason: String },
    #[error(
        "the runtime at {url} requires a token: set COSMOS_TOKEN (or pass --token) to the \
         token it was started with"
    )]
    NoToken { url: String },
    #[error("the runtime at {url} refused the token: check COSMOS_TOKEN (or --token)")]
    BadToken { url: String },
    /// The API (or, on a store, the runtime) refused the request: nothing changed.
    #[error("{message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "the runtime at {url} answered {status} with something that is not the API's JSON: {body}"
    )]
    BadAnswer {
        url: String,
        status: u16,
        body: String,
    },
    #[error("no store at {}: a SQLite store is a file `cosmosc serve` or `run` made", path.display())]
    NoStore { path: PathBuf },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl From<ApiError> for RemoteError {
    fn from(e: ApiError) -> Self {
        RemoteError::Refused {
            status: e.status.as_u16(),
            code: e.code.to_string(),
            message: e.message,
        }
    }
}

impl From<NodeError> for RemoteError {
    fn from(e: NodeError) -> Self {
        ApiError::from(e).into()
    }
}

/// How to reach a deployment, from the command line and the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetSpec {
    pub server: Option<String>,
    pub token: Option<String>,
    pub store: Option<String>,
}

/// Filters of an instance list (`GET /v1/instances`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ListFilter {
    pub workflow: Option<String>,
    pub status: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<String>,
}

/// A deployment to operate. Another command's requests (`cosmosc schedules`) go
/// through [`Server::get`] and [`Server::post`], or the store's own functions.
pub(crate) enum Target {
    Server(Server),
    Store(Arc<dyn Store>),
}

impl Target {
    /// `--store` when given; else `--server`, `COSMOS_SERVER` or [`DEFAULT_SERVER`],
    /// with the token of `--token` or `COSMOS_TOKEN`. A relative SQLite path is taken
    /// from the project's root, as `cosmosc serve` takes it (the current folder when
    /// it is in no project).
    pub(crate) fn open(spec: &TargetSpec) -> Result<Target, RemoteError> {
        if let Some(url) = &spec.store {
            let root = find_project_root(Path::new(".")).unwrap_or_else(|_| PathBuf::from("."));
            if store_kind(url) == StoreKind::Sqlite {
                let path = root.join(
                    url.strip_prefix("sqlite://")
                        .or_else(|| url.strip_prefix("sqlite:"))
                        .unwrap_or(url),
                );
                // Opening a SQLite path creates the file: a typo would list nothing.
                if !path.is_file() {
                    return Err(RemoteError::NoStore { path });
                }
            }
            return Ok(Target::Store(open_store(url, &root)?));
        }
        let base = spec
            .server
            .clone()
            .or_else(|| {
                std::env::var("COSMOS_SERVER")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let token = spec
            .token
            .clone()
            .or_else(|| token_from_env("COSMOS_TOKEN"))
            .filter(|t| !t.is_empty());
        Ok(Target::Server(Server::new(&base, token)))
    }

    /// `GET /v1/instances`: `{"instances": [...]}`.
    pub(crate) fn list(&self, filter: &ListFilter) -> Result<Json, RemoteError> {
        match self {
            Target::Server(server) => {
                let mut query = Vec::new();
                let pairs = [
                    ("workflow", filter.workflow.clone()),
                    ("status", filter.status.clone()),
                    ("limit", filter.limit.map(|n| n.to_string())),
                    ("after", filter.after.clone()),
                ];
                for (name, value) in pairs {
                    if let Some(value) = value {
                        query.push(format!("{name}={}", encode(&value)));
                    }
                }
                let path = match query.is_empty() {
                    true => "/v1/instances".to_string(),
                    false => format!("/v1/instances?{}", query.join("&")),
                };
                server.get(&path)
            }
            Target::Store(store) => {
                let bad_query = |code: &'static str| {
                    move |e: views::ListQueryError| {
                        RemoteError::from(ApiError::bad_request(code, e.to_string()))
                    }
                };
                let filter = InstanceFilter {
                    workflow: filter.workflow.clone(),
                    status: views::status_filter(filter.status.as_deref())
                        .map_err(bad_query("bad_status"))?,
                    limit: views::page_limit(filter.limit).map_err(bad_query("bad_query"))?,
                    after: filter.after.clone(),
                    ..InstanceFilter::default()
                };
                Ok(views::instance_list(store.list_instances(&filter)?))
            }
        }
    }

    /// `GET /v1/instances/{id}`.
    pub(crate) fn instance(&self, id: &str) -> Result<Json, RemoteError> {
        match self {
            Target::Server(server) => server.get(&format!("/v1/instances/{}", encode(id))),
            Target::Store(store) => {
                let record = store
                    .instance(id)?
                    .ok_or_else(|| NodeError::UnknownInstance(id.to_string()))?;
                Ok(views::instance(
                    &record,
                    &store.call_progress(id)?,
                    &child_statuses(store.as_ref(), &record)?,
                ))
            }
        }
    }

    /// `GET /v1/instances/{id}/history`.
    pub(crate) fn history(&self, id: &str) -> Result<Json, RemoteError> {
        match self {
            Target::Server(server) => server.get(&format!("/v1/instances/{}/history", encode(id))),
            Target::Store(store) => {
                if store.instance(id)?.is_none() {
                    return Err(NodeError::UnknownInstance(id.to_string()).into());
                }
                Ok(views::history(store.history(id, 0)?))
            }
        }
    }

    /// `POST /v1/instances/{id}/signals/{signal}` with `args`: the instance after it.
    pub(crate) fn signal(
        &self,
        id: &str,
        signal: &str,
        args: Map<String, Json>,
    ) -> Result<Json, RemoteError> {
        match self {
            Target::Server(server) => server.post(
                &format!("/v1/instances/{}/signals/{}", encode(id), encode(signal)),
                Some(&Json::Object(args)),
            ),
            Target::Store(store) => {
                let event = Event::Signal {
                    name: signal.to_string(),
                    args: Json::Object(args),
                };
                self.send_on_store(store.as_ref(), id, event)
            }
        }
    }

    /// `POST /v1/instances/{id}/cancel`: the instance after it.
    pub(crate) fn cancel(&self, id: &str) -> Result<Json, RemoteError> {
        match self {
            Target::Server(server) => {
                server.post(&format!("/v1/instances/{}/cancel", encode(id)), None)
            }
            Target::Store(store) => self.send_on_store(store.as_ref(), id, Event::Cancel),
        }
    }

    fn send_on_store(
        &self,
        store: &dyn Store,
        id: &str,
        event: Event,
    ) -> Result<Json, RemoteError> {
        let owner = format!("cosmosc-instances-{}", std::process::id());
        send_to_store(store, &owner, id, event)?;
        let record = store
            .instance(id)?
            .ok_or_else(|| NodeError::UnknownInstance(id.to_string()))?;
        Ok(views::instance(
            &record,
            &[],
            &child_statuses(store, &record)?,
        ))
    }
}

/// The token a client sends from environment variable `name`. Like a node's
/// `COSMOS_TOKEN`, it may hold several tokens separated by commas: any one of them
/// opens the API, so the first is sent.
pub(crate) fn token_from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().and_then(|list| {
        list.split(',')
            .map(str::trim)
            .find(|t| !t.is_empty())
            .map(String::from)
    })
}

/// The statuses of the child instances `record` waits for, by id, read from `store`.
fn child_statuses(
    store: &dyn Store,
    record: &cosmos_runtime::store::InstanceRecord,
) -> Result<std::collections::BTreeMap<String, cosmos_runtime::engine::Status>, RemoteError> {
    let mut out = std::collections::BTreeMap::new();
    for id in cosmos_runtime::node::child_ids(record) {
        if let Some(status) = store.instance_status(&id)? {
            out.insert(id, status);
        }
    }
    Ok(out)
}

/// A running `cosmosc serve`, reached over HTTP.
pub(crate) struct Server {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Server {
    pub(crate) fn new(base: &str, token: Option<String>) -> Server {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .tls_config(tls_config())
            .build()
            .into();
        Server {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
        }
    }

    /// `GET path` (`/v1/…`): the answer's JSON, or the API's refusal.
    pub(crate) fn get(&self, path: &str) -> Result<Json, RemoteError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        self.answer(&url, request.call())
    }

    /// `POST path` with `body` as JSON (none: an empty body).
    pub(crate) fn post(&self, path: &str, body: Option<&Json>) -> Result<Json, RemoteError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some(body) => request
                .content_type("application/json")
                .send(body.to_string()),
            None => request.send_empty(),
        };
        self.answer(&url, result)
    }

    /// The JSON of a 2xx answer; a refusal as the API's error.
    fn answer(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Json, RemoteError> {
        let mut response = result.map_err(|e| RemoteError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| RemoteError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if status == 401 {
            return Err(match self.token {
                Some(_) => RemoteError::BadToken {
                    url: self.base.clone(),
                },
                None => RemoteError::NoToken {
                    url: self.base.clone(),
                },
            });
        }
        let body: Option<Json> = serde_json::from_str(&text).ok();
        let bad_answer = || RemoteError::BadAnswer {
            url: url.to_string(),
            status,
            body: text.chars().take(200).collect(),
        };
        if (200..300).contains(&status) {
            return body.ok_or_else(bad_answer);
        }
        match body
            .as_ref()
            .map(|b| (&b["error"]["code"], &b["error"]["message"]))
        {
            Some((Json::String(code), Json::String(message))) => Err(RemoteError::Refused {
                status,
                code: code.clone(),
                message: message.clone(),
            }),
            _ => Err(bad_answer()),
        }
    }
}

/// HTTPS (a node behind a TLS proxy) with rustls on ring, trusting the system's root
/// certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
fn tls_config() -> ureq::tls::TlsConfig {
    // ureq uses the process's default provider; the first call installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|cert| ureq::tls::Certificate::from_der(cert.as_ref()).to_owned())
        .collect();
    ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
        .build()
}

/// `text` percent-encoded for a path segment or a query value: everything but
/// RFC 3986's unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_values_are_percent_encoded() {
        assert_eq!(encode("0193-abc_~.x"), "0193-abc_~.x");
        assert_eq!(encode("a/b c?&"), "a%2Fb%20c%3F%26");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
