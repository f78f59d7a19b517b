//! Where `cosmosc schedules` reads and changes schedules: a running server's HTTP API
//! or a store opened directly. Both give schedules as the API's JSON objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cosmos_runtime::connect::{ConnectError, StoreKind, open_store, store_kind};
use cosmos_runtime::node::now_ms;
use cosmos_runtime::node::schedules::ScheduleView;
use cosmos_runtime::store::{Store, StoreError};
use serde_json::Value;

use super::Target;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error(
        "say where the schedules are: --server URL (a running `cosmosc serve`) or --store URL, or set COSMOS_SERVER or COSMOS_STORE"
    )]
    NoTarget,
    #[error("cannot reach {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url} answered {status} {code}: {message}")]
    Server {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{url} answered something that is not the schedules API's JSON: {detail}")]
    BadAnswer { url: String, detail: String },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("no store at {}: give the SQLite file `cosmosc serve` uses", .0.display())]
    NoStore(PathBuf),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("no schedule {0:?} in the store")]
    UnknownSchedule(String),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

pub(crate) enum Client {
    Server {
        base: String,
        token: Option<String>,
        agent: ureq::Agent,
    },
    Store(Arc<dyn Store>),
}

impl Client {
    /// The server or store `target` names, then the environment's.
    pub(crate) fn from_target(target: &Target) -> Result<Client, ClientError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let server = target.server.clone().or_else(|| {
            if target.store.is_some() {
                None
            } else {
                env("COSMOS_SERVER")
            }
        });
        if let Some(base) = server {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into();
            return Ok(Client::Server {
                base: base.trim_end_matches('/').to_string(),
                token: target.token.clone().or_else(|| env("COSMOS_TOKEN")),
                agent,
            });
        }
        let Some(url) = target.store.clone().or_else(|| env("COSMOS_STORE")) else {
            return Err(ClientError::NoTarget);
        };
        if store_kind(&url) == StoreKind::Sqlite {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(&url);
            if !Path::new(path).is_file() {
                return Err(ClientError::NoStore(PathBuf::from(path)));
            }
        }
        Ok(Client::Store(open_store(&url, Path::new("."))?))
    }

    /// Every schedule, as the API's objects.
    pub(crate) fn list(&self) -> Result<Vec<Value>, ClientError> {
        match self {
            Client::Server { .. } => {
                let (url, body) = self.call("GET", "/v1/schedules")?;
                match body.get("schedules") {
                    Some(Value::Array(schedules)) => Ok(schedules.clone()),
                    _ => Err(ClientError::BadAnswer {
                        url,
                        detail: "no `schedules` array".to_string(),
                    }),
                }
            }
            Client::Store(store) => Ok(store
                .schedules()?
                .iter()
                .map(|row| serde_json::json!(ScheduleView::of(row)))
                .collect()),
        }
    }

    /// Pauses or resumes `name`; the schedule afterwards.
    pub(crate) fn set_paused(&self, name: &str, paused: bool) -> Result<Value, ClientError> {
        match self {
            Client::Server { .. } => {
                let verb = if paused { "pause" } else { "resume" };
                let path = format!("/v1/schedules/{}/{verb}", escape(name));
                Ok(self.call("POST", &path)?.1)
            }
            Client::Store(store) => match store.set_schedule_paused(name, paused, now_ms())? {
                Some(row) => Ok(serde_json::json!(ScheduleView::of(&row))),
                None => Err(ClientError::UnknownSchedule(name.to_string())),
            },
        }
    }

    /// One request to the server; its URL and JSON answer, or the error it answered.
    fn call(&self, method: &str, path: &str) -> Result<(String, Value), ClientError> {
        let Client::Server { base, token, agent } = self else {
            return Err(ClientError::NoTarget);
        };
        let url = format!("{base}{path}");
        let authorization = token.as_ref().map(|t| format!("Bearer {t}"));
        let sent = if method == "POST" {
            let mut request = agent.post(&url);
            if let Some(value) = &authorization {
                request = request.header("Authorization", value);
            }
            request.send_empty()
        } else {
            let mut request = agent.get(&url);
            if let Some(value) = &authorization {
                request = request.header("Authorization", value);
            }
            request.call()
        };
        let mut response = sent.map_err(|source| ClientError::Http {
            url: url.clone(),
            source: Box::new(source),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|source| ClientError::Http {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let body: Value = serde_json::from_str(&text).map_err(|e| ClientError::BadAnswer {
            url: url.clone(),
            detail: format!("{e} (status {status})"),
        })?;
        if !(200..300).contains(&status) {
            let error = &body["error"];
            return Err(ClientError::Server {
                url,
                status,
                code: error["code"].as_str().unwrap_or("?").to_string(),
                message: error["message"].as_str().unwrap_or("").to_string(),
            });
        }
        Ok((url, body))
    }
}

/// A schedule name as one path segment: everything but unreserved characters
/// percent-encoded (names hold spaces).
fn escape(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(super::escape("nightly cleanup"), "nightly%20cleanup");
        assert_eq!(super::escape("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(super::escape("café"), "caf%C3%A9");
    }
}
