//! A fresh PostgreSQL schema per test, from the server `COSMOS_TEST_POSTGRES` names
//! (`postgres://postgres@127.0.0.1:5432/test`). Without that variable the tests that
//! need PostgreSQL print "skipped: set COSMOS_TEST_POSTGRES" and pass.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use postgres::{Client, NoTls};

pub const ENV: &str = "COSMOS_TEST_POSTGRES";

/// A schema that exists for the life of the value, dropped with everything in it.
pub struct TestSchema {
    base: String,
    pub name: String,
    /// The base URL with `search_path` set to the schema.
    pub url: String,
}

/// A fresh schema, or `None` (and a visible message) when no server is configured.
pub fn schema(test: &str) -> Option<TestSchema> {
    let Ok(base) = std::env::var(ENV) else {
        skipped(test);
        return None;
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut client = Client::connect(&base, NoTls)
        .unwrap_or_else(|e| panic!("{ENV}={base}: cannot connect: {e}"));
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    let url = with_param(&base, &format!("options=-c%20search_path%3D{name}"));
    Some(TestSchema { base, name, url })
}

/// Says, once per test binary, that the PostgreSQL tests are skipped: on stderr
/// itself, which the test harness does not capture (an `eprintln!` of a passing test
/// is not shown).
fn skipped(test: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: set {ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) to run the \
             PostgreSQL tests ({test} and the others of this file)"
        );
    });
}

/// `url` with one more query parameter.
pub fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

impl TestSchema {
    /// A plain client on the schema, for checks behind the store's back.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }

    /// A client outside the schema (terminating backends, ...).
    pub fn admin(&self) -> Client {
        Client::connect(&self.base, NoTls).unwrap()
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.base, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
