//! `GET /v1/schedules` and `POST /v1/schedules/{name}/pause|resume` (LANGUAGE.md
//! 10.7): the deployed bundle's schedules with their state, and pausing and resuming
//! them. An unknown name is a 404 `unknown_schedule`.

use super::extract::ApiPath;
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use serde_json::{Value as Json_, json};

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Json_>, ApiError> {
    let schedules = state.node.schedules().await?;
    Ok(Json(json!({ "schedules": schedules })))
}

pub(super) async fn pause(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Json_>, ApiError> {
    set_paused(&state, &name, true).await
}

pub(super) async fn resume(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Json_>, ApiError> {
    set_paused(&state, &name, false).await
}

async fn set_paused(state: &AppState, name: &str, paused: bool) -> Result<Json<Json_>, ApiError> {
    match state.node.set_schedule_paused(name, paused).await? {
        Some(view) => Ok(Json(json!(view))),
        None => Err(ApiError::not_found(
            "unknown_schedule",
            format!("no schedule {name:?} in the deployed bundle"),
        )),
    }
}
