//! Who may use the console. With a token configured, the login page asks for it once
//! and the console keeps a session in a cookie (`HttpOnly`, `SameSite=Strict`); without
//! a token, a session is made on the first page. Either way each session has its own
//! CSRF token, which every form that changes something carries, and every request that
//! is not a `GET` must come from the console's own origin (`Origin`, else `Referer`,
//! and `Sec-Fetch-Site` when the browser sends it).

use crate::api::{Scope, Tokens};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "cosmos_session";

/// How long a session lasts without being used.
const IDLE: Duration = Duration::from_secs(12 * 3600);

/// The most sessions kept at once; past it the least recently used goes.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// Carried by every form that changes something.
    pub csrf: String,
}

struct Entry {
    csrf: String,
    seen: Instant,
}

pub struct Sessions {
    tokens: Arc<Tokens>,
    live: Mutex<HashMap<String, Entry>>,
}

/// 244 bits from the operating system's random source, as hex.
fn random_hex() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    pub fn new(tokens: Arc<Tokens>) -> Self {
        Sessions {
            tokens,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the console asks for a token.
    pub fn needs_login(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Whether `given` is one of the admin tokens (a worker token does not log in).
    pub fn token_matches(&self, given: &str) -> bool {
        self.tokens
            .holder(given)
            .is_some_and(|holder| holder.scope == Scope::Admin)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session.
    pub fn open(&self) -> Session {
        let now = Instant::now();
        let mut live = self.lock();
        live.retain(|_, e| now.duration_since(e.seen) < IDLE);
        if live.len() >= MAX_SESSIONS {
            let oldest = live
                .iter()
                .min_by_key(|(_, e)| e.seen)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                live.remove(&id);
            }
        }
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
        };
        live.insert(
            session.id.clone(),
            Entry {
                csrf: session.csrf.clone(),
                seen: now,
            },
        );
        session
    }

    /// The live session named by the request's cookie, if any.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, COOKIE)?;
        let now = Instant::now();
        let mut live = self.lock();
        let entry = live.get_mut(&id)?;
        if now.duration_since(entry.seen) >= IDLE {
            live.remove(&id);
            return None;
        }
        entry.seen = now;
        Some(Session {
            csrf: entry.csrf.clone(),
            id,
        })
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The `Set-Cookie` value that keeps `session`.
pub fn set_cookie(session: &Session) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        session.id
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("cosmos_session=; Path=/"))
}

/// The `Set-Cookie` value that ends the session in the browser.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("cosmos_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// Why a request that changes something was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request came from another site ({0})")]
    CrossSite(String),
    #[error(
        "the request says neither where it comes from (Origin) nor which page sent it (Referer)"
    )]
    NoOrigin,
    #[error("the form's CSRF token is missing or does not belong to this session; reload the page")]
    BadCsrf,
    #[error("there is no session; reload the page")]
    NoSession,
}

/// Whether a request with `method` changes something (and so must be same-origin).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks that a request comes from a page of this console: `Sec-Fetch-Site` (when
/// sent) is `same-origin`, and `Origin` (or, without it, `Referer`) is
/// `http(s)://HOST` with the request's own `Host`.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = get("sec-fetch-site")
        && site != "same-origin"
    {
        return Err(Refusal::CrossSite(format!("Sec-Fetch-Site: {site}")));
    }
    let host = get(header::HOST.as_str()).unwrap_or_default();
    let ours = |origin: &str| {
        !host.is_empty()
            && (origin == format!("http://{host}") || origin == format!("https://{host}"))
    };
    if let Some(origin) = get(header::ORIGIN.as_str()) {
        return if ours(origin) {
            Ok(())
        } else {
            Err(Refusal::CrossSite(format!("Origin: {origin}")))
        };
    }
    if let Some(referer) = get(header::REFERER.as_str()) {
        let origin = referer.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        return if ours(&origin) {
            Ok(())
        } else {
            Err(Refusal::CrossSite(format!("Referer: {referer}")))
        };
    }
    Err(Refusal::NoOrigin)
}

/// Checks a form's CSRF token against the session's.
pub fn check_csrf(session: &Session, given: Option<&str>) -> Result<(), Refusal> {
    match given {
        Some(given) if crate::api::token::matches(&session.csrf, given) => Ok(()),
        _ => Err(Refusal::BadCsrf),
    }
}

/// A path to go back to after the login: local to this console (one leading `/`, no
/// scheme or host), else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_when_closed() {
        let sessions = Sessions::new(Arc::new(Tokens::admin("secret").unwrap()));
        let session = sessions.open();
        assert_eq!(session.id.len(), 64);
        assert_ne!(session.id, session.csrf);
        let cookie = format!("other=1; {COOKIE}={}", session.id);
        let found = sessions.find(&headers(&[("cookie", &cookie)]));
        assert_eq!(found.as_ref(), Some(&session));
        assert_eq!(
            sessions.find(&headers(&[("cookie", "cosmos_session=forged")])),
            None
        );
        assert_eq!(sessions.find(&HeaderMap::new()), None);
        sessions.close(&session.id);
        assert_eq!(sessions.find(&headers(&[("cookie", &cookie)])), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let session = Sessions::new(Arc::new(Tokens::none())).open();
        let value = set_cookie(&session);
        let text = value.to_str().unwrap();
        assert!(text.contains("HttpOnly"), "{text}");
        assert!(text.contains("SameSite=Strict"), "{text}");
        assert!(
            text.starts_with(&format!("{COOKIE}={}", session.id)),
            "{text}"
        );
    }

    #[test]
    fn only_the_token_logs_in() {
        let sessions = Sessions::new(Arc::new(Tokens::admin("s3cret").unwrap()));
        assert!(sessions.needs_login());
        assert!(sessions.token_matches("s3cret"));
        for wrong in ["", "s3cre", "s3cret ", "S3CRET"] {
            assert!(!sessions.token_matches(wrong), "{wrong:?}");
        }
        let open = Sessions::new(Arc::new(Tokens::none()));
        assert!(!open.needs_login());
        assert!(!open.token_matches(""));
    }

    #[test]
    fn a_worker_token_does_not_log_in() {
        let mut tokens = Tokens::admin("s3cret").unwrap();
        tokens.add("file", Scope::Worker, "farm", "w0rker").unwrap();
        let sessions = Sessions::new(Arc::new(tokens));
        assert!(sessions.token_matches("s3cret"));
        assert!(!sessions.token_matches("w0rker"));
    }

    #[test]
    fn requests_from_other_sites_are_refused() {
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(
            same_origin(&headers(&[host, ("origin", "http://127.0.0.1:8080")])),
            Ok(())
        );
        assert_eq!(
            same_origin(&headers(&[
                host,
                ("referer", "http://127.0.0.1:8080/instances/x")
            ])),
            Ok(())
        );
        for refused in [
            vec![host, ("origin", "http://evil.example")],
            vec![host, ("origin", "http://127.0.0.1:8080.evil.example")],
            vec![host, ("origin", "null")],
            vec![
                host,
                ("referer", "http://evil.example/http://127.0.0.1:8080/"),
            ],
            vec![
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site"),
            ],
            vec![host],
            vec![("origin", "http://")],
        ] {
            assert!(same_origin(&headers(&refused)).is_err(), "{refused:?}");
        }
        assert!(changes_state(&Method::POST));
        assert!(!changes_state(&Method::GET));
    }

    #[test]
    fn the_csrf_token_must_be_the_sessions() {
        let session = Sessions::new(Arc::new(Tokens::none())).open();
        assert_eq!(check_csrf(&session, Some(&session.csrf)), Ok(()));
        assert_eq!(check_csrf(&session, Some("nope")), Err(Refusal::BadCsrf));
        assert_eq!(check_csrf(&session, None), Err(Refusal::BadCsrf));
    }

    #[test]
    fn login_only_returns_to_local_paths() {
        assert_eq!(local_path(Some("/instances/a?b=c")), "/instances/a?b=c");
        for bad in ["//evil.example", "http://evil.example", "/\\evil", "x", ""] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
