//! Where `cosmosc schedules` reads and changes schedules: a running server's HTTP API
//! or a store opened directly, both reached through [`crate::remote`] as `cosmosc
//! instances` reaches them. Both give schedules as the API's JSON objects.

use cosmos_runtime::node::now_ms;
use cosmos_runtime::node::schedules::ScheduleView;
use cosmos_runtime::store::StoreError;
use serde_json::Value;

use super::Target;
use crate::remote::{self, RemoteError, TargetSpec};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("--server and --store name two deployments: give one of them")]
    TwoTargets,
    /// The API refused: its status, code and message.
    #[error("{status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error(transparent)]
    Remote(RemoteError),
    #[error("{url} answered something that is not the schedules API's JSON: {detail}")]
    BadAnswer { url: String, detail: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("no schedule {0:?} in the store")]
    UnknownSchedule(String),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

impl From<RemoteError> for ClientError {
    fn from(error: RemoteError) -> Self {
        match error {
            RemoteError::Refused {
                status,
                code,
                message,
            } => ClientError::Refused {
                status,
                code,
                message,
            },
            other => ClientError::Remote(other),
        }
    }
}

pub(crate) struct Client(remote::Target);

impl Client {
    /// The server or store `target` names, as `cosmosc instances` finds it: `--store`,
    /// else `--server`, `COSMOS_SERVER` or the default address.
    pub(crate) fn from_target(target: &Target) -> Result<Client, ClientError> {
        if target.server.is_some() && target.store.is_some() {
            return Err(ClientError::TwoTargets);
        }
        let spec = TargetSpec {
            server: target.server.clone(),
            token: target.token.clone(),
            store: target.store.clone(),
        };
        Ok(Client(remote::Target::open(&spec)?))
    }

    /// Every schedule, as the API's objects.
    pub(crate) fn list(&self) -> Result<Vec<Value>, ClientError> {
        match &self.0 {
            remote::Target::Server(server) => {
                let body = server.get("/v1/schedules")?;
                match body.get("schedules") {
                    Some(Value::Array(schedules)) => Ok(schedules.clone()),
                    _ => Err(ClientError::BadAnswer {
                        url: "/v1/schedules".to_string(),
                        detail: "no `schedules` array".to_string(),
                    }),
                }
            }
            remote::Target::Store(store) => Ok(store
                .schedules()?
                .iter()
                .map(|row| serde_json::json!(ScheduleView::of(row)))
                .collect()),
        }
    }

    /// Pauses or resumes `name`; the schedule afterwards.
    pub(crate) fn set_paused(&self, name: &str, paused: bool) -> Result<Value, ClientError> {
        match &self.0 {
            remote::Target::Server(server) => {
                let verb = if paused { "pause" } else { "resume" };
                let path = format!("/v1/schedules/{}/{verb}", remote::encode(name));
                Ok(server.post(&path, None)?)
            }
            remote::Target::Store(store) => {
                match store.set_schedule_paused(name, paused, now_ms())? {
                    Some(row) => Ok(serde_json::json!(ScheduleView::of(&row))),
                    None => Err(ClientError::UnknownSchedule(name.to_string())),
                }
            }
        }
    }
}
