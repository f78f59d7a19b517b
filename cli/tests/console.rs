//! The web console of `cosmosc serve`, over real HTTP on a real server: what is served
//! without a session (the login page and its stylesheet, nothing else), the session
//! cookie's flags, refusals of requests that would change something from another site
//! or without the session's CSRF token, escaping of hostile fact values, and the pages
//! of the `encode` example, on SQLite and on a fresh PostgreSQL schema of
//! `COSMOS_TEST_POSTGRES` (skipped, with a message, without it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::io::{Read, Write};
use std::path::PathBuf;
use support::server::Server;

/// A workflow whose fact takes any text a signal sends, and another that waits.
const NOTES: &str = r#"
workflow Notes {
    input { title: String }
    facts { note: String?, count: Int = 0 }
    rule "count" {
        match { note != null && count == 0 }
        action { 1 }
        reaction { count = result }
    }
    signal write(text: String, times: Int) { note = text }
}
"#;

/// An HTTP response: status, head (lower-cased header names) and body.
struct Reply {
    status: u16,
    head: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request over a plain socket (no redirects followed, every header kept).
fn send(server: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head_text = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head_text.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let head: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if head
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        head,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// Percent-encodes a form value.
fn form(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The session cookie a response sets (`name=value`), checking its flags.
fn session_cookie(reply: &Reply) -> String {
    let set = reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie in {:?}", reply.head));
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn start_notes(server: &Server, token: &str, title: &str) -> String {
    let (status, body) = support::server::call(
        support::server::agent()
            .post(format!("{}/v1/workflows/Notes/instances", server.base))
            .header("Authorization", &format!("Bearer {token}"))
            .send_json(json!({ "title": title })),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn instance(server: &Server, token: &str, id: &str) -> serde_json::Value {
    support::server::call(
        support::server::agent()
            .get(format!("{}/v1/instances/{id}", server.base))
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    )
    .1
}

#[test]
fn with_a_token_only_the_login_page_is_served_until_the_token_is_given() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", NOTES)]);
    let server = Server::start(
        project.path(),
        &["--store", "state.db"],
        &[("COSMOS_TOKEN", "s3cret")],
    );
    let id = start_notes(&server, "s3cret", "t");

    for path in [
        "/",
        &format!("/instances/{id}"),
        "/workflows/Notes",
        "/system",
        "/console/console.js",
        "/workflows",
    ] {
        let reply = send(&server, "GET", path, &[], "");
        assert_eq!(reply.status, 303, "{path}: {}", reply.body);
        let location = reply.header("location").unwrap();
        assert!(location.starts_with("/login?next="), "{path}: {location}");
        assert!(
            !reply.body.contains(&id),
            "{path} shows nothing of the console"
        );
    }
    let login = send(&server, "GET", "/login?next=%2Fsystem", &[], "");
    assert_eq!(login.status, 200);
    assert!(login.body.contains("type=\"password\""), "{}", login.body);
    assert!(
        login.header("set-cookie").is_none(),
        "no session before the token"
    );
    let css = send(&server, "GET", "/console/console.css", &[], "");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));

    let origin = server.base.clone();
    let same = [("Origin", origin.as_str())];
    let wrong = send(&server, "POST", "/login", &same, "token=nope&next=%2F");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.header("set-cookie").is_none());
    let cross = send(
        &server,
        "POST",
        "/login",
        &[("Origin", "http://evil.example")],
        "token=s3cret",
    );
    assert_eq!(cross.status, 403, "a login from another site is refused");

    let ok = send(
        &server,
        "POST",
        "/login",
        &same,
        "token=s3cret&next=%2Fsystem",
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/system"));
    let cookie = session_cookie(&ok);
    let page = send(
        &server,
        "GET",
        &format!("/instances/{id}"),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&id));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // The cookie is the console's only: the API still wants the bearer token.
    let api = send(
        &server,
        "GET",
        &format!("/v1/instances/{id}"),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(api.status, 401, "{}", api.body);
    // An unknown path is still the API's JSON 404.
    let missing = send(&server, "GET", "/nowhere", &[("Cookie", &cookie)], "");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("no_route"), "{}", missing.body);

    // Logging out ends the session.
    let token = csrf(&page.body);
    let out = send(
        &server,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("Origin", &origin)],
        &format!("csrf={token}"),
    );
    assert_eq!(out.status, 303);
    let after = send(&server, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(after.status, 303, "the session is over");
}

/// A request that must be refused: why, its headers, its form body.
type Attempt<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);

#[test]
fn state_changes_need_the_same_origin_and_the_sessions_csrf_token() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", NOTES)]);
    let server = Server::start(
        project.path(),
        &["--store", "state.db"],
        &[("COSMOS_TOKEN", "tok")],
    );
    let id = start_notes(&server, "tok", "t");
    let origin = server.base.clone();
    let login = send(
        &server,
        "POST",
        "/login",
        &[("Origin", &origin)],
        "token=tok",
    );
    let cookie = session_cookie(&login);
    let page = send(
        &server,
        "GET",
        &format!("/instances/{id}"),
        &[("Cookie", &cookie)],
        "",
    );
    let token = csrf(&page.body);
    let cancel = format!("/instances/{id}/cancel");
    let body = format!("csrf={token}");

    let refused: Vec<Attempt> = vec![
        (
            "another origin",
            vec![("Cookie", &cookie), ("Origin", "http://evil.example")],
            body.clone(),
        ),
        (
            "another site's fetch",
            vec![
                ("Cookie", &cookie),
                ("Origin", &origin),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            body.clone(),
        ),
        ("no origin at all", vec![("Cookie", &cookie)], body.clone()),
        ("no session", vec![("Origin", &origin)], body.clone()),
        (
            "no CSRF token",
            vec![("Cookie", &cookie), ("Origin", &origin)],
            String::new(),
        ),
        (
            "a wrong CSRF token",
            vec![("Cookie", &cookie), ("Origin", &origin)],
            "csrf=0123".to_string(),
        ),
    ];
    for (why, headers, body) in &refused {
        let reply = send(&server, "POST", &cancel, headers, body);
        assert_eq!(reply.status, 403, "{why}: {}", reply.body);
        assert!(
            reply.body.contains("Nothing was changed"),
            "{why}: {}",
            reply.body
        );
        let signal = send(
            &server,
            "POST",
            &format!("/instances/{id}/signals/write"),
            headers,
            &format!("{body}&arg.text=x&arg.times=1"),
        );
        assert_eq!(signal.status, 403, "{why}: {}", signal.body);
    }
    assert_eq!(
        instance(&server, "tok", &id)["status"],
        "STALLED",
        "nothing changed"
    );
    assert_eq!(instance(&server, "tok", &id)["facts"]["note"], json!(null));

    let confirm = send(&server, "GET", &cancel, &[("Cookie", &cookie)], "");
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("Yes, cancel the instance"),
        "{}",
        confirm.body
    );
    let ok = send(
        &server,
        "POST",
        &cancel,
        &[("Cookie", &cookie), ("Origin", &origin)],
        &body,
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(instance(&server, "tok", &id)["status"], "CANCELLED");
    let again = send(
        &server,
        "POST",
        &cancel,
        &[("Cookie", &cookie), ("Origin", &origin)],
        &body,
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("CANCELLED"), "{}", again.body);
}

#[test]
fn hostile_values_show_as_text_and_signal_forms_check_their_fields() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", NOTES)]);
    let server = Server::start(project.path(), &["--store", "state.db"], &[]);
    let hostile = "<script>window.__xss=1</script><img src=x onerror=\"alert(1)\">";
    let id = start_notes(&server, "", hostile);
    // Without a token a session is made on the first page.
    let first = send(&server, "GET", "/", &[], "");
    assert_eq!(first.status, 200, "{}", first.body);
    let cookie = session_cookie(&first);
    let origin = server.base.clone();
    let page = send(
        &server,
        "GET",
        &format!("/instances/{id}"),
        &[("Cookie", &cookie)],
        "",
    );
    let token = csrf(&page.body);
    assert!(
        page.body.contains("name=\"arg.times\" required"),
        "{}",
        page.body
    );

    // A field of the wrong type is refused, named, and nothing is sent.
    let bad = send(
        &server,
        "POST",
        &format!("/instances/{id}/signals/write"),
        &[("Cookie", &cookie), ("Origin", &origin)],
        &format!("csrf={token}&arg.text={}&arg.times=two", form(hostile)),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body
            .contains("`times`: &quot;two&quot; is not a whole number"),
        "{}",
        bad.body
    );
    assert_eq!(instance(&server, "", &id)["facts"]["note"], json!(null));

    let sent = send(
        &server,
        "POST",
        &format!("/instances/{id}/signals/write"),
        &[("Cookie", &cookie), ("Origin", &origin)],
        &format!("csrf={token}&arg.text={}&arg.times=2", form(hostile)),
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(instance(&server, "", &id)["facts"]["note"], json!(hostile));
    let back = sent.header("location").unwrap().to_string();
    let done = send(&server, "GET", &back, &[("Cookie", &cookie)], "");
    assert!(
        done.body.contains("Signal write was sent."),
        "{back}: {}",
        done.body
    );
    // A link cannot put its own words in the notice.
    let forged = send(
        &server,
        "GET",
        &format!("/instances/{id}?done=signal:pwned"),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(forged.status, 200);
    assert!(!forged.body.contains("pwned"), "{}", forged.body);

    for path in [
        format!("/instances/{id}"),
        format!("/?id={}", &id[..8]),
        "/workflows/Notes".to_string(),
    ] {
        let page = send(&server, "GET", &path, &[("Cookie", &cookie)], "");
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            !page.body.contains("<script>window"),
            "{path}: a raw script tag"
        );
        assert!(!page.body.contains("<img src=x"), "{path}: a raw img tag");
    }
    let page = send(
        &server,
        "GET",
        &format!("/instances/{id}"),
        &[("Cookie", &cookie)],
        "",
    );
    assert!(
        page.body
            .contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "{}",
        page.body
    );
    // A hostile id in the path is escaped too.
    let missing = send(
        &server,
        "GET",
        "/instances/%3Cscript%3Ex",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(missing.status, 404);
    assert!(!missing.body.contains("<script>x"), "{}", missing.body);
}

#[test]
fn the_example_s_pages_show_its_instances_rules_and_source() {
    the_example_s_pages(&["--store", "state.db"]);
}

#[test]
fn the_example_s_pages_show_its_instances_rules_and_source_on_postgres() {
    let Some(schema) = support::postgres::schema(
        "the_example_s_pages_show_its_instances_rules_and_source_on_postgres",
    ) else {
        return;
    };
    the_example_s_pages(&["--store", &schema.url]);
}

fn the_example_s_pages(store: &[&str]) {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let project = tempfile::tempdir().unwrap();
    copy_dir(&example, project.path());
    let server = Server::start(project.path(), store, &[]);
    let mut ids = Vec::new();
    for source in ["s3://media/long.mov", "s3://media/d.mov"] {
        let (status, body) = server.post(
            "/v1/workflows/Transcode/instances",
            json!({ "source": source }),
        );
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let start = std::time::Instant::now();
    while server.get(&format!("/v1/instances/{}", ids[0])).1["status"] != "STALLED" {
        assert!(
            start.elapsed().as_secs() < 60,
            "the long source never stalled"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let first = send(&server, "GET", "/?status=stalled", &[], "");
    let cookie = session_cookie(&first);
    assert!(
        first.body.contains(&ids[0]),
        "the stalled instance is listed"
    );
    assert!(!first.body.contains(&ids[1]), "only stalled ones");
    assert!(
        first.body.contains("stalled <strong>1</strong>"),
        "{}",
        first.body
    );

    let page = send(
        &server,
        "GET",
        &format!("/instances/{}", ids[0]),
        &[("Cookie", &cookie)],
        "",
    );
    assert!(
        page.body.contains("data-rule=\"transcode the ladder\""),
        "{}",
        page.body
    );
    let rule = &page.body[page
        .body
        .find("data-rule=\"transcode the ladder\"")
        .unwrap()..];
    let rule = &rule[..rule.find("</article>").unwrap()];
    assert!(rule.contains("not matching"), "{rule}");
    assert!(rule.contains("<tr class=\"false\"><td><code>reviewer != null</code></td><td>=</td><td><code>false</code>"), "{rule}");

    // The completed one's timeline says how long after their firing the calls came back.
    while server.get(&format!("/v1/instances/{}", ids[1])).1["status"] != "COMPLETED" {
        assert!(
            start.elapsed().as_secs() < 60,
            "the short source never completed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let done = send(
        &server,
        "GET",
        &format!("/instances/{}", ids[1]),
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(
        done.body.matches("after the firing").count(),
        5,
        "the probe and four transcodes"
    );
    assert!(
        done.body.contains("<dd data-status=\"COMPLETED\">"),
        "{}",
        done.body
    );

    let workflow = send(
        &server,
        "GET",
        "/workflows/Transcode",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(workflow.status, 200);
    assert!(workflow.body.contains("<svg class=\"graph\""), "the graph");
    assert!(
        workflow
            .body
            .contains("&quot;transcode the ladder&quot; reads reviewer"),
        "a read edge"
    );
    assert!(
        workflow.body.contains("signal review may assign reviewer"),
        "a signal's write edge"
    );
    assert!(
        workflow
            .body
            .contains("<span class=\"k\">workflow</span> <span class=\"t\">Transcode</span>"),
        "the source, highlighted"
    );

    let system = send(&server, "GET", "/system", &[("Cookie", &cookie)], "");
    assert_eq!(system.status, 200);
    assert!(
        system.body.contains("transcoders"),
        "the pools: {}",
        system.body
    );

    // Every page works under its content security policy: no inline script, no style
    // attribute, nothing from another origin.
    for path in [
        "/".to_string(),
        format!("/instances/{}", ids[0]),
        format!("/instances/{}/cancel", ids[0]),
        "/workflows".to_string(),
        "/workflows/Transcode".to_string(),
        "/system".to_string(),
    ] {
        let page = send(&server, "GET", &path, &[("Cookie", &cookie)], "");
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(" style="), "{path}: a style attribute");
        for script in page.body.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            assert!(
                tag.contains("src=\"/console/console.js\""),
                "{path}: an inline script"
            );
        }
        for fetched in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(
                !page.body.contains(fetched),
                "{path}: something from elsewhere"
            );
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == ".cosmos" {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_bundle_s_source_is_shown_only_while_the_files_match_it() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", NOTES)]);
    let compiled = support::cosmosc(&["compile", ".", "-o", "app.bundle"], project.path());
    assert_eq!(
        support::code(&compiled),
        0,
        "{}",
        support::stderr(&compiled)
    );

    let server = Server::start(
        project.path(),
        &["--bundle", "app.bundle", "--store", "a.db"],
        &[],
    );
    let page = send(&server, "GET", "/workflows/Notes", &[], "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<span class=\"k\">workflow</span> <span class=\"t\">Notes</span>"),
        "{}",
        page.body
    );
    drop(server);

    // The file changed since the bundle was compiled: its text is not the bundle's.
    std::fs::write(
        project.path().join("src/main.emx"),
        format!("{NOTES}\n// edited\n"),
    )
    .unwrap();
    let server = Server::start(
        project.path(),
        &["--bundle", "app.bundle", "--store", "b.db"],
        &[],
    );
    let page = send(&server, "GET", "/workflows/Notes", &[], "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("The source is not available"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("// edited"), "{}", page.body);
}
