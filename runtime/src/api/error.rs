//! How the API says no: a status code and `{"error": {"code", "message"}}`, with a
//! message that names the problem. Every refusal happens before anything is written.

use crate::engine::EngineError;
use crate::node::NodeError;
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cosmos_ir::host::HostError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(format!("store: {e}"))
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match &e {
            NodeError::UnknownInstance(id) => {
                ApiError::not_found("unknown_instance", format!("no instance {id:?}"))
            }
            NodeError::Refused(EngineError::Finished(status)) => ApiError::new(
                StatusCode::CONFLICT,
                "instance_finished",
                format!(
                    "the instance is {status}; a finished instance takes no more signals \
                     and cannot be cancelled"
                ),
            ),
            NodeError::Refused(EngineError::Host(host)) => match host {
                HostError::UnknownWorkflow(name) => ApiError::not_found(
                    "unknown_workflow",
                    format!("no workflow `{name}` in the deployed bundle"),
                ),
                HostError::UnknownSignal { workflow, signal } => ApiError::not_found(
                    "unknown_signal",
                    format!("workflow `{workflow}` has no signal `{signal}`"),
                ),
                HostError::Shape { .. } | HostError::NotAnObject { .. } => {
                    ApiError::bad_request("bad_input", host.to_string())
                }
                other => ApiError::internal(other.to_string()),
            },
            NodeError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the instance kept changing under this request; try again",
            ),
            NodeError::StoreFailed(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_failed",
                e.to_string(),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}
