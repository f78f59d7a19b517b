//! Who may call the API: the configured bearer tokens, each with a scope.
//!
//! An `admin` token may use everything; a `worker` token only the worker endpoints
//! (`/v1/worker/…`). Several tokens of each scope may be configured (from the
//! environment or a file, see [`Tokens::parse_file`]), each with a name that logs and
//! errors use instead of the token. Only each token's SHA-256 digest is kept; a
//! presented token is hashed and compared with every configured digest in constant
//! time, so neither the time taken nor the token's length tells how much of it was
//! right, or which token it was close to.

use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use subtle::{Choice, ConstantTimeEq};
use thiserror::Error;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything: the API, the console, and the worker endpoints.
    Admin,
    /// Only the worker endpoints (`/v1/worker/…`): lease calls, report progress,
    /// complete them.
    Worker,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Worker => "worker",
        }
    }

    /// Whether a token of this scope may use an endpoint that needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Admin || self == needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configured token: its scope, its name, and the digest of its secret.
#[derive(Clone)]
struct Entry {
    scope: Scope,
    name: String,
    digest: [u8; 32],
}

/// The tokens a runtime accepts. Empty: the API is open (for a machine of one's own).
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

/// A token that the caller presented and that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub scope: Scope,
    pub name: String,
}

/// Why a token or a tokens file was refused. Never contains a token.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("{source_name}: the {scope} token `{name}` is empty")]
    Empty {
        source_name: String,
        scope: Scope,
        name: String,
    },
    #[error(
        "{source_name}: the {scope} token `{name}` contains whitespace or a comma; \
         a token is one word of printable characters"
    )]
    BadCharacter {
        source_name: String,
        scope: Scope,
        name: String,
    },
    #[error(
        "{source_name}: the {scope} token `{name}` is also configured as `{other}`; \
         give each token one name and one scope"
    )]
    Duplicate {
        source_name: String,
        scope: Scope,
        name: String,
        other: String,
    },
    #[error(
        "{path}:{line}: expected `admin NAME TOKEN` or `worker NAME TOKEN` \
         (a `#` starts a comment)"
    )]
    BadLine { path: String, line: usize },
    #[error("{path}:{line}: unknown scope `{scope}`; the scopes are `admin` and `worker`")]
    UnknownScope {
        path: String,
        line: usize,
        scope: String,
    },
    #[error("cannot read the tokens file {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error(
        "worker tokens are configured but no admin token: the rest of the API would be open \
         to anyone; set COSMOS_TOKEN or add an `admin NAME TOKEN` line to the tokens file"
    )]
    NoAdmin,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl Tokens {
    /// No tokens: the API is open.
    pub fn none() -> Self {
        Tokens::default()
    }

    /// One admin token named `admin` (what `COSMOS_TOKEN` gave before scopes).
    pub fn admin(secret: &str) -> Result<Self, TokenError> {
        let mut tokens = Tokens::none();
        tokens.add("COSMOS_TOKEN", Scope::Admin, "admin", secret)?;
        Ok(tokens)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many tokens of `scope` there are.
    pub fn count(&self, scope: Scope) -> usize {
        self.entries.iter().filter(|e| e.scope == scope).count()
    }

    /// Adds one token; `source_name` says where it came from, for errors.
    pub fn add(
        &mut self,
        source_name: &str,
        scope: Scope,
        name: &str,
        secret: &str,
    ) -> Result<(), TokenError> {
        let named = || (source_name.to_string(), scope, name.to_string());
        if secret.is_empty() {
            let (source_name, scope, name) = named();
            return Err(TokenError::Empty {
                source_name,
                scope,
                name,
            });
        }
        if secret
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c.is_control())
        {
            let (source_name, scope, name) = named();
            return Err(TokenError::BadCharacter {
                source_name,
                scope,
                name,
            });
        }
        let digest = digest(secret);
        if let Some(other) = self.entries.iter().find(|e| e.digest == digest) {
            let (source_name, scope, name) = named();
            return Err(TokenError::Duplicate {
                source_name,
                scope,
                name,
                other: other.name.clone(),
            });
        }
        self.entries.push(Entry {
            scope,
            name: name.to_string(),
            digest,
        });
        Ok(())
    }

    /// Adds the comma-separated tokens of an environment variable's value, named
    /// `VARIABLE`, `VARIABLE#2`, … Empty items are skipped (`a,,b`, a trailing comma).
    pub fn add_list(
        &mut self,
        variable: &str,
        scope: Scope,
        value: &str,
    ) -> Result<(), TokenError> {
        for (i, secret) in value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let name = if i == 0 {
                variable.to_string()
            } else {
                format!("{variable}#{}", i + 1)
            };
            self.add(variable, scope, &name, secret)?;
        }
        Ok(())
    }

    /// Adds the tokens of a tokens file: one `SCOPE NAME TOKEN` per line, `#` comments
    /// and blank lines ignored.
    pub fn add_file(&mut self, path: &Path) -> Result<(), TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Unreadable {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        self.add_file_text(&shown, &text)
    }

    /// [`Tokens::add_file`] over the file's text.
    pub fn add_file_text(&mut self, path: &str, text: &str) -> Result<(), TokenError> {
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let content = line.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let words: Vec<&str> = content.split_whitespace().collect();
            let [scope, name, secret] = words.as_slice() else {
                return Err(TokenError::BadLine {
                    path: path.to_string(),
                    line: line_no,
                });
            };
            let scope = match *scope {
                "admin" => Scope::Admin,
                "worker" => Scope::Worker,
                other => {
                    return Err(TokenError::UnknownScope {
                        path: path.to_string(),
                        line: line_no,
                        scope: other.to_string(),
                    });
                }
            };
            self.add(&format!("{path}:{line_no}"), scope, name, secret)?;
        }
        Ok(())
    }

    /// Refuses a set with worker tokens and no admin token (see [`TokenError::NoAdmin`]).
    pub fn validate(&self) -> Result<(), TokenError> {
        if self.count(Scope::Worker) > 0 && self.count(Scope::Admin) == 0 {
            return Err(TokenError::NoAdmin);
        }
        Ok(())
    }

    /// Who holds `given`, if it is one of the tokens. Compares it with every token, in
    /// constant time each, whatever matches.
    pub fn holder(&self, given: &str) -> Option<Holder> {
        let presented = digest(given);
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            let same: Choice = entry.digest.as_slice().ct_eq(presented.as_slice());
            if bool::from(same) {
                found = Some(entry);
            }
        }
        found.map(|e| Holder {
            scope: e.scope,
            name: e.name.clone(),
        })
    }
}

impl fmt::Debug for Tokens {
    /// Names and scopes only: never a token, nor its digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| format!("{} {}", e.scope, e.name)),
            )
            .finish()
    }
}

/// Whether `given` is `expected`, in constant time (the console's CSRF tokens).
pub(crate) fn matches(expected: &str, given: &str) -> bool {
    digest(expected)
        .as_slice()
        .ct_eq(digest(given).as_slice())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        assert!(matches("s3cret", "s3cret"));
        assert!(!matches("s3cret", "s3cre"));
        assert!(!matches("s3cret", "s3cret "));
        assert!(!matches("s3cret", ""));
    }

    #[test]
    fn each_token_is_known_by_its_scope_and_name() {
        let mut tokens = Tokens::none();
        tokens
            .add_list("COSMOS_TOKEN", Scope::Admin, "a1,a2")
            .unwrap();
        tokens
            .add_file_text(
                "tokens",
                "# farm\nworker gpu w-gpu\n\nworker cpu   w-cpu  # the small ones\nadmin ops a3\n",
            )
            .unwrap();
        tokens.validate().unwrap();
        assert_eq!(tokens.count(Scope::Admin), 3);
        assert_eq!(tokens.count(Scope::Worker), 2);
        let holder = |t: &str| tokens.holder(t).map(|h| (h.scope, h.name));
        assert_eq!(holder("a2"), Some((Scope::Admin, "COSMOS_TOKEN#2".into())));
        assert_eq!(holder("w-cpu"), Some((Scope::Worker, "cpu".into())));
        assert_eq!(holder("a3"), Some((Scope::Admin, "ops".into())));
        assert_eq!(holder("w-cp"), None);
        assert_eq!(holder(""), None);
    }

    #[test]
    fn scopes_allow_what_they_cover() {
        assert!(Scope::Admin.allows(Scope::Admin));
        assert!(Scope::Admin.allows(Scope::Worker));
        assert!(Scope::Worker.allows(Scope::Worker));
        assert!(!Scope::Worker.allows(Scope::Admin));
    }

    #[test]
    fn bad_files_name_the_line_and_never_the_token() {
        let mut tokens = Tokens::none();
        let error = tokens
            .add_file_text("t.txt", "admin a x\nworker only-two\n")
            .unwrap_err();
        assert_eq!(
            error,
            TokenError::BadLine {
                path: "t.txt".into(),
                line: 2
            }
        );
        let error = Tokens::none()
            .add_file_text("t.txt", "root r sekrit\n")
            .unwrap_err();
        assert!(error.to_string().contains("t.txt:1: unknown scope `root`"));
        assert!(!error.to_string().contains("sekrit"));
        let error = Tokens::none()
            .add_file_text("t.txt", "admin a sekrit\nworker w sekrit\n")
            .unwrap_err();
        assert!(error.to_string().contains("`w` is also configured as `a`"));
        assert!(!error.to_string().contains("sekrit"));
    }

    #[test]
    fn worker_tokens_need_an_admin_token() {
        let mut tokens = Tokens::none();
        tokens
            .add_list("COSMOS_WORKER_TOKEN", Scope::Worker, "w")
            .unwrap();
        assert_eq!(tokens.validate(), Err(TokenError::NoAdmin));
    }

    #[test]
    fn tokens_are_one_word() {
        let mut tokens = Tokens::none();
        assert!(matches!(
            tokens.add("env", Scope::Admin, "a", "two words"),
            Err(TokenError::BadCharacter { .. })
        ));
        assert!(matches!(
            tokens.add("env", Scope::Admin, "a", ""),
            Err(TokenError::Empty { .. })
        ));
    }

    #[test]
    fn debug_shows_names_not_tokens() {
        let tokens = Tokens::admin("sekrit").unwrap();
        let shown = format!("{tokens:?}");
        assert!(shown.contains("admin admin"));
        assert!(!shown.contains("sekrit"));
    }
}
