//! Bundles: a checked, lowered project as one file, written by `cosmosc compile` and
//! loaded by the runtime without parsing or checking any source again.
//!
//! # File format (format 2)
//!
//! ```text
//! cosmos-bundle\n
//! sha256 3f…(64 lowercase hex digits)\n
//! {"format":2,"compiler_version":"0.1.0","ir_version":1,"project":"encode",
//!  "sources":[{"path":"src/main.emx","module":"main","sha256":"9f…","bytes":1234},…],
//!  "program":{…}}
//! ```
//!
//! The magic line `cosmos-bundle` is followed by a hash line, the SHA-256 of every
//! byte after that line, and one compact JSON document (shown wrapped here; it is a
//! single line in the file), ending with a newline. `sources` lists the project's own
//! `.emx` files (not the standard library, which belongs to the compiler version)
//! with the SHA-256 of their bytes, in lowercase hex, and their length; their text is
//! not in the bundle. `program` is the [`Program`] as serde writes it.
//!
//! # Loading is verification
//!
//! A bundle is code: the runtime runs its bodies natively and its external
//! functions' commands. [`Bundle::read`] therefore checks, in order, that
//!
//! 1. the file starts with the magic line and a well-formed hash line;
//! 2. `format`, `compiler_version` and `ir_version` are this compiler's (read first,
//!    alone, so that a bundle from another compiler is refused with a version error
//!    even when the rest of it no longer has the shape this crate expects);
//! 3. the content hashes to the hash line ([`BundleError::Hash`]): a file damaged
//!    in transit or on disk is refused before its JSON is decoded;
//! 4. the JSON decodes into a [`Program`];
//! 5. the program's IR is valid ([`crate::validate`]): every index, id, type and call
//!    agrees with the layouts and signatures, so that a bundle that was crafted or
//!    damaged in a way the hash cannot catch is refused with
//!    [`BundleError::Invalid`] rather than corrupting the runtime's memory.
//!
//! The hash detects accidents, not attacks (anyone who can change a bundle can
//! recompute it); docs/operations.md says who may write bundles. A bundle read back
//! from the runtime's store is named by the SHA-256 of its whole file, which
//! [`Bundle::read_stored`] checks too.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::validate::{self, InvalidIr};
use crate::{IR_VERSION, Program};

/// The first bytes of every bundle.
pub const MAGIC: &[u8] = b"cosmos-bundle\n";

/// The version of the bundle's own layout (the hash line, the header and `sources`);
/// the layout of `program` is [`IR_VERSION`].
pub const BUNDLE_FORMAT: u32 = 2;

/// How the hash line starts; 64 lowercase hex digits and a newline follow.
const HASH_PREFIX: &[u8] = b"sha256 ";

/// The extension `cosmosc compile` gives bundles.
pub const EXTENSION: &str = "cosmos";

/// A compiled project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`] when written.
    pub format: u32,
    /// The version of the `cosmosc` that wrote it; only the same version loads it.
    pub compiler_version: String,
    /// [`IR_VERSION`] when written.
    pub ir_version: u32,
    /// The project's name, from `cosmos.toml`.
    pub project: String,
    /// The project's source files the program was compiled from, sorted by path.
    pub sources: Vec<BundleSource>,
    pub program: Program,
}

/// One source file the bundle was compiled from: enough to tell whether the file
/// on disk is still the one compiled, without keeping its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSource {
    /// Relative to the project root, with `/` separators (`src/media/probe.emx`).
    pub path: String,
    /// The dotted module name (`media.probe`).
    pub module: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The file's length in bytes.
    pub bytes: u64,
}

/// Why a file could not be loaded (or a bundle written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a Cosmos bundle: it does not start with `cosmos-bundle`")]
    NotABundle,
    #[error(
        "the bundle has format {found}, but this compiler reads format {expected}; \
         recompile the project with `cosmosc compile`"
    )]
    Format { found: u32, expected: u32 },
    #[error(
        "the bundle was compiled by cosmosc {found_compiler} (IR version {found_ir}), \
         but this is cosmosc {expected_compiler} (IR version {expected_ir}); \
         recompile the project with `cosmosc compile`"
    )]
    Version {
        found_compiler: String,
        found_ir: u32,
        expected_compiler: String,
        expected_ir: u32,
    },
    #[error("the bundle is truncated: {0}")]
    Truncated(String),
    #[error("the bundle is corrupt: {0}")]
    Corrupt(String),
    /// The content does not hash to the hash line: the file was damaged or edited.
    #[error(
        "the bundle is corrupt: its content has SHA-256 {found}, but its hash line says \
         {expected}; recompile the project with `cosmosc compile`"
    )]
    Hash { expected: String, found: String },
    /// A bundle read back from the store does not hash to the name it is stored under.
    #[error(
        "stored bundle {name} is corrupt: its bytes have SHA-256 {found}; \
         deploy the bundle again"
    )]
    Stored { name: String, found: String },
    /// The program does not pass validation: the bundle was not written by
    /// `cosmosc compile`, or was changed since.
    #[error(
        "the bundle's program is invalid and was not loaded: {0}; \
         recompile the project with `cosmosc compile`"
    )]
    Invalid(#[from] InvalidIr),
    #[error("cannot write the bundle: {0}")]
    Write(String),
}

/// The fields read before anything else; serde skips every other field unread.
#[derive(Deserialize)]
struct Header {
    format: u32,
    compiler_version: String,
    ir_version: u32,
}

impl BundleSource {
    /// Describes a source file from its path, module and bytes.
    pub fn new(path: impl Into<String>, module: impl Into<String>, text: &[u8]) -> Self {
        BundleSource {
            path: path.into(),
            module: module.into(),
            sha256: sha256_hex(text),
            bytes: text.len() as u64,
        }
    }

    /// Whether `text` is the file this bundle was compiled from.
    pub fn matches(&self, text: &[u8]) -> bool {
        self.bytes == text.len() as u64 && self.sha256 == sha256_hex(text)
    }
}

impl Bundle {
    /// A bundle of the current format and IR version. `sources` are sorted by path.
    pub fn new(
        compiler_version: impl Into<String>,
        project: impl Into<String>,
        mut sources: Vec<BundleSource>,
        program: Program,
    ) -> Self {
        sources.sort_by(|a, b| a.path.cmp(&b.path));
        Bundle {
            format: BUNDLE_FORMAT,
            compiler_version: compiler_version.into(),
            ir_version: IR_VERSION,
            project: project.into(),
            sources,
            program,
        }
    }

    /// The file's bytes: [`MAGIC`], the hash line, then the bundle as compact JSON
    /// and a newline.
    ///
    /// The bytes are read back before being returned, so a bundle that could not be
    /// loaded (a non-finite float constant, which JSON cannot hold, or a program that
    /// fails validation) is refused here rather than when the runtime loads it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let mut json = serde_json::to_vec(self).map_err(|e| BundleError::Write(e.to_string()))?;
        json.push(b'\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(HASH_PREFIX);
        bytes.extend_from_slice(sha256_hex(&json).as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&json);
        Bundle::read(&bytes, &self.compiler_version).map_err(|e| match e {
            BundleError::Version { .. } | BundleError::Format { .. } => e,
            other => BundleError::Write(format!("it would not load back: {other}")),
        })?;
        Ok(bytes)
    }

    /// Loads a bundle written by [`to_bytes`](Self::to_bytes), refusing one written
    /// by another compiler version or IR version, one whose content does not match
    /// its hash, one whose program fails validation, or any other kind of file.
    pub fn read(bytes: &[u8], expected_compiler_version: &str) -> Result<Bundle, BundleError> {
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            return Err(BundleError::NotABundle);
        };
        let (hash, json) = split_hash_line(rest)?;
        let depth = json_depth(json);
        if depth > MAX_JSON_DEPTH {
            return Err(BundleError::Corrupt(format!(
                "its JSON nests {depth} levels deep, more than the {MAX_JSON_DEPTH} a bundle may"
            )));
        }
        let header: Header = decode(json)?;
        if header.format != BUNDLE_FORMAT {
            return Err(BundleError::Format {
                found: header.format,
                expected: BUNDLE_FORMAT,
            });
        }
        if header.compiler_version != expected_compiler_version || header.ir_version != IR_VERSION {
            return Err(BundleError::Version {
                found_compiler: header.compiler_version,
                found_ir: header.ir_version,
                expected_compiler: expected_compiler_version.to_string(),
                expected_ir: IR_VERSION,
            });
        }
        let Some(expected) = hash else {
            return Err(BundleError::Corrupt(
                "it has no `sha256` line after `cosmos-bundle`".to_string(),
            ));
        };
        let found = sha256_hex(json);
        if found.as_bytes() != expected {
            return Err(BundleError::Hash {
                expected: String::from_utf8_lossy(expected).into_owned(),
                found,
            });
        }
        let bundle: Bundle = decode(json)?;
        validate::program(&bundle.program)?;
        Ok(bundle)
    }

    /// Loads a bundle read back from a store that names bundles by [`content_hash`]:
    /// refuses bytes that do not hash to `name`, then reads them as [`Bundle::read`].
    pub fn read_stored(
        name: &str,
        bytes: &[u8],
        expected_compiler_version: &str,
    ) -> Result<Bundle, BundleError> {
        let found = content_hash(bytes);
        if found != name {
            return Err(BundleError::Stored {
                name: name.to_string(),
                found,
            });
        }
        Bundle::read(bytes, expected_compiler_version)
    }

    /// How many workflows and bodies (IR functions) the program has.
    pub fn counts(&self) -> (usize, usize) {
        (self.program.workflows.len(), self.program.bodies().count())
    }
}

/// The deepest JSON nesting a bundle may have. The compiler's nesting limit
/// (`cosmos_syntax::MAX_NESTING`, 48 levels of source) bounds the IR's depth, and
/// with it the depth of the JSON serde writes for it; this leaves room above that
/// bound; decoding recurses once per level.
pub const MAX_JSON_DEPTH: usize = 4096;

/// Decodes a JSON document whose depth [`Bundle::read`] has bounded, without
/// serde_json's own recursion limit (128 levels, less than a checked program's IR
/// may need).
fn decode<'de, T: Deserialize<'de>>(json: &'de [u8]) -> Result<T, BundleError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    Ok(value)
}

/// How deep `json`'s arrays and objects nest, read without recursion.
pub fn json_depth(json: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn json_error(error: serde_json::Error) -> BundleError {
    if error.is_eof() {
        BundleError::Truncated(error.to_string())
    } else {
        BundleError::Corrupt(error.to_string())
    }
}

/// Splits the hash line off: its 64 hex digits (`None` when the line is missing,
/// as in a bundle of an older format, whose JSON follows the magic line), and the
/// bytes after it.
fn split_hash_line(rest: &[u8]) -> Result<(Option<&[u8]>, &[u8]), BundleError> {
    if rest.len() < HASH_PREFIX.len() && HASH_PREFIX.starts_with(rest) {
        return Err(BundleError::Truncated(
            "the hash line is cut short".to_string(),
        ));
    }
    let Some(line) = rest.strip_prefix(HASH_PREFIX) else {
        return Ok((None, rest));
    };
    let Some(end) = line.iter().position(|b| *b == b'\n') else {
        return Err(BundleError::Truncated(
            "the hash line is cut short".to_string(),
        ));
    };
    let (hex, json) = (&line[..end], &line[end + 1..]);
    if hex.len() != 64 || !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(BundleError::Corrupt(
            "its hash line is not `sha256 ` and 64 lowercase hex digits".to_string(),
        ));
    }
    Ok((Some(hex), json))
}

/// The SHA-256 of a whole bundle file, in lowercase hex: the name the runtime's
/// store keeps it under.
pub fn content_hash(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Const, Expr, ExprKind, Function, RuleIr, Ty, WorkflowIr};

    fn program() -> Program {
        let matcher = Function {
            name: "rule \"go\" match".to_string(),
            params: 0,
            defaults: Vec::new(),
            slots: Vec::new(),
            ret: Ty::Bool,
            body: Block {
                stmts: Vec::new(),
                value: Some(Box::new(Expr::new(
                    ExprKind::Const(Const::Bool(true)),
                    Ty::Bool,
                ))),
            },
        };
        Program {
            files: vec!["main".to_string()],
            workflows: vec![WorkflowIr {
                module: "main".to_string(),
                name: "Go".to_string(),
                inputs: Vec::new(),
                facts: Vec::new(),
                rules: vec![RuleIr {
                    name: "go".to_string(),
                    priority: 0,
                    reads: Vec::new(),
                    writes: Vec::new(),
                    timeout_ms: None,
                    matcher: Some(matcher),
                    action: None,
                    reaction: None,
                    error: None,
                }],
                signals: Vec::new(),
                complete_when: None,
                output: None,
                output_type: None,
            }],
            ..Program::default()
        }
    }

    fn bundle() -> Bundle {
        let text = b"workflow Go { rule \"go\" { match { true } } }\n";
        Bundle::new(
            "1.2.3",
            "demo",
            vec![BundleSource::new("src/main.emx", "main", text)],
            program(),
        )
    }

    #[test]
    fn round_trip() {
        let bundle = bundle();
        let bytes = bundle.to_bytes().unwrap();
        assert!(bytes.starts_with(MAGIC));
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 3);
        let read = Bundle::read(&bytes, "1.2.3").unwrap();
        assert_eq!(read, bundle);
        assert_eq!(read.format, BUNDLE_FORMAT);
        assert_eq!(read.ir_version, IR_VERSION);
        assert_eq!(read.counts(), (1, 1));
    }

    #[test]
    fn source_hashes_are_sha256() {
        let source = BundleSource::new("src/a.emx", "a", b"abc");
        assert_eq!(
            source.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(source.bytes, 3);
        assert!(source.matches(b"abc"));
        assert!(!source.matches(b"abd"));
    }

    #[test]
    fn another_compiler_version_is_refused_naming_both() {
        let bytes = bundle().to_bytes().unwrap();
        let error = Bundle::read(&bytes, "1.2.4").unwrap_err();
        assert_eq!(
            error,
            BundleError::Version {
                found_compiler: "1.2.3".to_string(),
                found_ir: IR_VERSION,
                expected_compiler: "1.2.4".to_string(),
                expected_ir: IR_VERSION,
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("1.2.3") && message.contains("1.2.4"),
            "{message}"
        );
        assert!(message.contains("recompile"), "{message}");
        assert!(message.contains("`cosmosc compile`"), "{message}");
    }

    #[test]
    fn another_ir_version_is_refused_even_if_the_program_changed_shape() {
        let bytes = crafted(|json| {
            json["ir_version"] = serde_json::json!(IR_VERSION + 1);
            json["program"] = serde_json::json!({"a shape": "from the future"});
        });
        let error = Bundle::read(&bytes, "1.2.3").unwrap_err();
        assert!(
            matches!(error, BundleError::Version { found_ir, .. } if found_ir == IR_VERSION + 1)
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("IR version {}", IR_VERSION + 1))
                && message.contains(&format!("IR version {IR_VERSION}")),
            "{message}"
        );
    }

    #[test]
    fn another_format_is_refused() {
        let bytes = bundle().to_bytes().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let text = text.replacen(&format!("\"format\":{BUNDLE_FORMAT}"), "\"format\":99", 1);
        let error = Bundle::read(text.as_bytes(), "1.2.3").unwrap_err();
        assert_eq!(
            error,
            BundleError::Format {
                found: 99,
                expected: BUNDLE_FORMAT
            }
        );
    }

    #[test]
    fn garbage_is_not_a_bundle() {
        for garbage in [
            &b""[..],
            b"cosmos",
            b"\x7fELF\x02\x01\x01\0",
            b"{\"format\":1}",
            b"workflow Go {}\n",
        ] {
            assert_eq!(
                Bundle::read(garbage, "1.2.3").unwrap_err(),
                BundleError::NotABundle
            );
        }
        let message = BundleError::NotABundle.to_string();
        assert!(message.contains("not a Cosmos bundle"), "{message}");
    }

    #[test]
    fn a_bundle_with_a_corrupt_body_is_corrupt() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(b"not json at all");
        assert!(matches!(
            Bundle::read(&bytes, "1.2.3"),
            Err(BundleError::Corrupt(_))
        ));
        let mut bytes = MAGIC.to_vec();
        bytes.extend(
            format!(
                "{{\"format\":{BUNDLE_FORMAT},\"compiler_version\":\"1.2.3\",\"ir_version\":{IR_VERSION}}}"
            )
            .as_bytes(),
        );
        let error = Bundle::read(&bytes, "1.2.3").unwrap_err();
        assert!(matches!(error, BundleError::Corrupt(_)), "{error:?}");
        assert!(error.to_string().contains("no `sha256` line"), "{error}");
    }

    #[test]
    fn a_truncated_bundle_is_truncated() {
        let bytes = bundle().to_bytes().unwrap();
        for len in [
            MAGIC.len(),
            MAGIC.len() + 1,
            bytes.len() / 2,
            bytes.len() - 3,
        ] {
            let error = Bundle::read(&bytes[..len], "1.2.3").unwrap_err();
            assert!(
                matches!(error, BundleError::Truncated(_)),
                "{len}: {error:?}"
            );
            assert!(error.to_string().starts_with("the bundle is truncated"));
        }
    }

    #[test]
    fn a_non_finite_float_is_refused_when_writing() {
        let mut bundle = bundle();
        if let Some(block) = bundle.program.workflows[0].rules[0]
            .matcher
            .as_mut()
            .map(|f| &mut f.body)
        {
            block.value = Some(Box::new(Expr::new(
                ExprKind::Const(Const::Float(f64::INFINITY)),
                Ty::Float,
            )));
        }
        let error = bundle.to_bytes().unwrap_err();
        assert!(matches!(error, BundleError::Write(_)), "{error:?}");
    }

    /// `to_bytes` with the program's JSON edited by `edit` and the hash line made
    /// to match, as someone crafting a bundle would.
    pub(crate) fn crafted(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut json: serde_json::Value = serde_json::to_value(bundle()).unwrap();
        edit(&mut json);
        let mut body = serde_json::to_vec(&json).unwrap();
        body.push(b'\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend(format!("sha256 {}\n", sha256_hex(&body)).as_bytes());
        bytes.extend(body);
        bytes
    }

    #[test]
    fn the_hash_line_covers_every_byte_after_it() {
        let bytes = bundle().to_bytes().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let edited = text.replacen("\"project\":\"demo\"", "\"project\":\"dema\"", 1);
        assert_ne!(edited, text);
        let error = Bundle::read(edited.as_bytes(), "1.2.3").unwrap_err();
        let BundleError::Hash { expected, found } = &error else {
            panic!("{error:?}");
        };
        assert_ne!(expected, found);
        assert!(text.contains(expected.as_str()));
        let message = error.to_string();
        assert!(
            message.contains("corrupt") && message.contains(found.as_str()),
            "{message}"
        );
        // The same edit with a matching hash line loads.
        let recrafted = crafted(|json| json["project"] = serde_json::json!("dema"));
        assert_eq!(Bundle::read(&recrafted, "1.2.3").unwrap().project, "dema");
    }

    #[test]
    fn a_malformed_hash_line_is_corrupt() {
        let bytes = bundle().to_bytes().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let start = MAGIC.len() + HASH_PREFIX.len();
        for bad in ["ABCDEF", "xyz", ""] {
            let mut edited = text.clone();
            edited.replace_range(start..start + 64, bad);
            let error = Bundle::read(edited.as_bytes(), "1.2.3").unwrap_err();
            assert!(matches!(error, BundleError::Corrupt(_)), "{bad}: {error:?}");
        }
    }

    #[test]
    fn a_stored_bundle_must_hash_to_its_name() {
        let bytes = bundle().to_bytes().unwrap();
        let name = content_hash(&bytes);
        assert!(Bundle::read_stored(&name, &bytes, "1.2.3").is_ok());
        let other = "0".repeat(64);
        let error = Bundle::read_stored(&other, &bytes, "1.2.3").unwrap_err();
        assert_eq!(
            error,
            BundleError::Stored {
                name: other,
                found: name
            }
        );
    }

    #[test]
    fn a_bundle_whose_program_is_invalid_is_refused_naming_what_failed() {
        let bytes = crafted(|json| {
            json["program"]["workflows"][0]["rules"][0]["matcher"]["body"]["value"] =
                serde_json::json!({"kind": {"Fact": 268435455u32}, "ty": "Bool"});
        });
        let error = Bundle::read(&bytes, "1.2.3").unwrap_err();
        let BundleError::Invalid(invalid) = &error else {
            panic!("{error:?}");
        };
        assert!(invalid.body.contains("workflow Go"), "{invalid:?}");
        assert!(invalid.problem.contains("fact 268435455"), "{invalid:?}");
        assert!(error.to_string().contains("invalid"), "{error}");
    }
}
