//! The web console of `cosmosc serve`, at `/` (the API stays under `/v1`): pages
//! rendered here as HTML, one small script and one stylesheet, all compiled into the
//! binary (docs/architecture.md, "The console"). Pages: the instances (`/`), an
//! instance (`/instances/{id}`), the workflows (`/workflows`, `/workflows/{name}`)
//! and the queues, pools and node (`/system`); forms send signals and cancel.
//!
//! Who may use it is [`session`]'s job; every value from outside goes through
//! [`html::esc`].

mod forms;
mod graph;
mod highlight;
mod html;
mod instance;
mod instances;
mod layout;
mod session;
mod system;
mod tree;
mod workflow;

use crate::node::Node;
use crate::store::{Store, StoreError};
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use html::esc;
use layout::Section;
use serde::Deserialize;
use session::{Session, Sessions};
use std::collections::HashMap;
use std::sync::Arc;

/// One source file of the deployed bundle, for the workflow pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSource {
    /// The dotted module name (`media.probe`).
    pub module: String,
    /// Relative to the project root (`src/media/probe.emx`).
    pub path: String,
    pub text: String,
}

/// What the console shows beyond the node's store.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// The deployed bundle's source files, when `serve` has them (it built the
    /// project, or found files matching a `--bundle`'s hashes).
    pub sources: Vec<ConsoleSource>,
}

#[derive(Clone)]
pub(crate) struct Console {
    node: Node,
    sessions: Arc<Sessions>,
    sources: Arc<Vec<ConsoleSource>>,
}

/// Who is looking at a page: their session, and whether the console has a login (and
/// so a logout button).
#[derive(Debug, Clone)]
pub(crate) struct Shown {
    session: Session,
    login: bool,
}

/// A page that could not be shown: its status and why, as an HTML page.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    message: String,
    shown: Option<Shown>,
}

impl Shown {
    fn failure(&self, status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            shown: Some(self.clone()),
        }
    }

    fn bad_request(&self, message: impl Into<String>) -> Failure {
        self.failure(StatusCode::BAD_REQUEST, message)
    }

    fn failed(&self, error: impl std::fmt::Display) -> Failure {
        self.failure(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let title = self
            .status
            .canonical_reason()
            .unwrap_or("The page cannot be shown");
        let body = format!(
            "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n<p><a href=\"/\">Back to the instances</a></p>\n",
            esc(title),
            esc(&self.message)
        );
        let (session, login) = match &self.shown {
            Some(s) => (Some(&s.session), s.login),
            None => (None, false),
        };
        let html = layout::page(title, Section::None, session, login, &body);
        (self.status, Html(html)).into_response()
    }
}

impl Console {
    /// Runs `f` on the store on tokio's blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = Arc::clone(self.node.store());
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("store: {e}"))
    }

    /// The deployed bundle's workflows, by name.
    fn workflow_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .node
            .deployment()
            .current()
            .program
            .workflows
            .iter()
            .map(|w| w.name.clone())
            .collect();
        names.sort();
        names
    }
}

/// The console's routes over `node`; when `tokens` is not empty, the login page asks
/// for an admin token.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(
    node: Node,
    tokens: Arc<crate::api::Tokens>,
    config: ConsoleConfig,
) -> Router<S> {
    let console = Console {
        node,
        sessions: Arc::new(Sessions::new(tokens)),
        sources: Arc::new(config.sources),
    };
    let guarded = Router::new()
        .route("/", get(instances::page))
        .route("/instances/{id}", get(instance::page))
        .route("/instances/{id}/signals/{signal}", post(instance::signal))
        .route(
            "/instances/{id}/cancel",
            get(instance::confirm_cancel).post(instance::cancel),
        )
        .route("/workflows", get(workflow::list))
        .route("/workflows/{name}", get(workflow::page))
        .route("/system", get(system::page))
        .route("/logout", post(logout))
        .route("/console/console.js", get(script))
        .route_layer(middleware::from_fn_with_state(console.clone(), guard));
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/console/console.css", get(stylesheet))
        .merge(guarded)
        .layer(middleware::map_response(secure_headers))
        .with_state(console)
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The stylesheet, which the login page uses too.
async fn stylesheet() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(text: &'static str, kind: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    response
}

/// What every console response carries: a content security policy that runs only the
/// console's own script and style (no inline script, nothing from elsewhere), no
/// framing, no sniffing, no caching of pages.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Lets a request through with its session, or: sends a browser without a session to
/// the login page (with a token) or gives it a session (without one); refuses a
/// request that changes something unless it comes from the console's own origin.
async fn guard(State(console): State<Console>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let changes = session::changes_state(&method);
    if changes && let Err(refusal) = session::same_origin(request.headers()) {
        return refused(refusal);
    }
    let found = console.sessions.find(request.headers());
    let (session, new) = match found {
        Some(session) => (session, false),
        None if changes => return refused(session::Refusal::NoSession),
        None if console.sessions.needs_login() => {
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            return Redirect::to(&format!("/login?next={}", html::url(&path))).into_response();
        }
        None => (console.sessions.open(), true),
    };
    request.extensions_mut().insert(Shown {
        session: session.clone(),
        login: console.sessions.needs_login(),
    });
    let mut response = next.run(request).await;
    if new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, session::set_cookie(&session));
    }
    response
}

/// A 403 page saying why a request that would change something was refused.
fn refused(refusal: session::Refusal) -> Response {
    Failure {
        status: StatusCode::FORBIDDEN,
        message: format!("Refused: {refusal}. Nothing was changed."),
        shown: None,
    }
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

fn login_html(next: &str, error: Option<&str>) -> String {
    let mut body = String::from("<h1>Log in</h1>\n");
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            esc(error)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\" class=\"login\">\n\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\n\
         <label for=\"token\">Token of this runtime (<code>COSMOS_TOKEN</code>)</label>\n\
         <input type=\"password\" id=\"token\" name=\"token\" required autofocus autocomplete=\"current-password\">\n\
         <button type=\"submit\">Log in</button>\n</form>\n",
        esc(next)
    ));
    layout::page("Log in", Section::None, None, true, &body)
}

async fn login_page(State(console): State<Console>, Query(query): Query<LoginQuery>) -> Response {
    let next = session::local_path(query.next.as_deref());
    if !console.sessions.needs_login() {
        return Redirect::to(&next).into_response();
    }
    Html(login_html(&next, None)).into_response()
}

async fn login(
    State(console): State<Console>,
    headers: axum::http::HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = session::same_origin(&headers) {
        return refused(refusal);
    }
    let next = session::local_path(form.get("next").map(String::as_str));
    let token = form.get("token").map(String::as_str).unwrap_or("");
    if !console.sessions.needs_login() || !console.sessions.token_matches(token) {
        let html = login_html(&next, Some("That is not the token of this runtime."));
        return (StatusCode::UNAUTHORIZED, Html(html)).into_response();
    }
    let session = console.sessions.open();
    let mut response = Redirect::to(&next).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(&session));
    response
}

async fn logout(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = session::check_csrf(&shown.session, form.get("csrf").map(String::as_str))
    {
        return refused(refusal);
    }
    console.sessions.close(&shown.session.id);
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie());
    response
}
