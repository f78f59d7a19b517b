//! A fresh PostgreSQL schema per test, on the server `COSMOS_TEST_POSTGRES` names
//! (`postgres://postgres@127.0.0.1:5432/test`); without it the test is skipped, with
//! a message.

#![allow(clippy::unwrap_used)]

const ENV: &str = "COSMOS_TEST_POSTGRES";

/// A schema dropped (with everything in it) when the value is.
pub struct Schema {
    pub base: String,
    pub name: String,
    /// The server's URL with this schema as the search path.
    pub url: String,
}

pub fn schema(test: &str) -> Option<Schema> {
    let Ok(base) = std::env::var(ENV) else {
        // Straight to stderr: the harness captures `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: set {ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) to run {test}"
        );
        return None;
    };
    let name = format!(
        "c_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut client = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    // The nodes' connections carry the schema's name, so that a test can find them.
    let url = format!("{base}{separator}options=-c%20search_path%3D{name}&application_name={name}");
    Some(Schema { base, name, url })
}

impl Schema {
    /// Terminates every server process the nodes are connected with; how many.
    pub fn terminate_connections(&self) -> usize {
        let mut client = postgres::Client::connect(&self.base, postgres::NoTls).unwrap();
        client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1",
                &[&self.name],
            )
            .unwrap()
            .len()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
