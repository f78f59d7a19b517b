//! `cosmosc compile` run as a real process: the bundle it writes (read back with
//! `cosmos_ir::bundle`), where it writes it, what it refuses to compile, and the IR
//! that `--emit ir` prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use cosmos_ir::bundle::{Bundle, BundleError, MAGIC};
use support::{MANIFEST, code, cosmosc, project, stderr, stdout};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A copy of `examples/encode` in a temporary folder, so nothing is written into the
/// repository.
fn example_copy() -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&source, dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// Where `compile` writes by default: the project root as `cosmosc` sees it (with
/// links resolved), then `target/<name>.cosmos`.
fn default_bundle(root: &Path, name: &str) -> PathBuf {
    root.canonicalize()
        .unwrap()
        .join("target")
        .join(format!("{name}.cosmos"))
}

const TINY: &str = r#"def double(n: Int): Int {
    n * 2
}

workflow Count {
    input {
        limit: Int = 3
    }

    facts {
        count: Int = 0
    }

    rule "step" {
        match { count < limit }
        action { double(count) }
        reaction { count += result }
    }

    complete when { count >= limit }
}
"#;

#[test]
fn the_example_compiles_to_a_bundle_that_reads_back() {
    let dir = example_copy();
    let output = cosmosc(&["compile"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "");

    let path = default_bundle(dir.path(), "encode");
    let bytes = fs::read(&path).unwrap();
    let bundle = Bundle::read(&bytes, VERSION).unwrap();
    let (workflows, bodies) = bundle.counts();
    assert_eq!(
        stderr(&output),
        format!(
            "compiled {workflows} workflow, {bodies} functions (the standard library's included) to {}\n",
            path.display()
        )
    );

    assert_eq!(bundle.project, "encode");
    assert_eq!(bundle.compiler_version, VERSION);
    assert_eq!(bundle.ir_version, cosmos_ir::IR_VERSION);
    let names: Vec<&str> = bundle
        .program
        .workflows
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(names, ["Transcode"]);
    let transcode = bundle.program.workflow("Transcode").unwrap();
    assert!(
        transcode
            .rules
            .iter()
            .any(|r| r.name == "probe the source" && r.matcher.is_some()),
        "{:?}",
        transcode.rules.iter().map(|r| &r.name).collect::<Vec<_>>()
    );

    // One entry per project source, sorted by path, each matching the file on disk.
    let paths: Vec<&str> = bundle.sources.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        ["src/main.emx", "src/media/probe.emx", "src/tests.emx"]
    );
    for source in &bundle.sources {
        let text = fs::read(dir.path().join(&source.path)).unwrap();
        assert_eq!(source.bytes, text.len() as u64, "{}", source.path);
        assert_eq!(source.sha256.len(), 64);
        assert!(source.matches(&text), "{}", source.path);
        assert!(!source.matches(b"something else"));
    }
    assert_eq!(bundle.sources[1].module, "media.probe");
    // No temporary file is left beside the bundle.
    let left: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn output_goes_where_o_says_relative_to_the_current_folder() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    let output = cosmosc(&["compile", "-o", "out/tiny.bundle"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "compiled 1 workflow, 30 functions (the standard library's included) to out/tiny.bundle\n"
    );
    let bytes = fs::read(dir.path().join("out/tiny.bundle")).unwrap();
    assert!(bytes.starts_with(MAGIC));
    let bundle = Bundle::read(&bytes, VERSION).unwrap();
    assert_eq!(bundle.project, "demo");
    assert!(!dir.path().join("target").exists());
}

#[test]
fn compiling_twice_writes_the_same_bytes() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    let path = default_bundle(dir.path(), "demo");
    assert_eq!(code(&cosmosc(&["compile"], dir.path())), 0);
    let first = fs::read(&path).unwrap();
    assert_eq!(code(&cosmosc(&["compile", "."], dir.path())), 0);
    assert_eq!(fs::read(&path).unwrap(), first);
}

#[test]
fn a_type_error_is_exit_1_and_writes_nothing() {
    let dir = project(&[MANIFEST, ("src/main.emx", "def f(): Float {\n    1\n}\n")]);
    let output = cosmosc(&["compile", "--color", "never"], dir.path());
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.contains("E0201"), "{err}");
    assert!(
        err.ends_with("checked 1 file: 1 error, 0 warnings\n"),
        "{err}"
    );
    assert!(!dir.path().join("target").exists());

    let output = cosmosc(&["compile", "-o", "x.cosmos", "--emit", "ir"], dir.path());
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(!dir.path().join("x.cosmos").exists());
}

#[test]
fn no_project_is_exit_2_with_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = cosmosc(&["compile"], dir.path());
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn emit_ir_prints_every_body_and_writes_no_bundle() {
    let dir = example_copy();
    let output = cosmosc(&["compile", "--emit", "ir"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let ir = stdout(&output);
    for rule in [
        "rule \"probe the source\" match",
        "rule \"probe the source\" action",
        "rule \"probe the source\" reaction",
        "rule \"probe the source\" error",
        "rule \"short sources need no review\"",
        "def rungs",
        "workflow main.Transcode",
    ] {
        assert!(ir.contains(rule), "{rule} missing from:\n{ir}");
    }
    assert!(!dir.path().join("target").exists());

    // The same project prints the same IR.
    let again = cosmosc(&["compile", "--emit", "ir"], dir.path());
    assert_eq!(stdout(&again), ir);
}

#[test]
fn emit_ir_with_o_also_writes_the_bundle() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    let output = cosmosc(
        &["compile", "--emit", "ir", "-o", "tiny.cosmos"],
        dir.path(),
    );
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert!(stdout(&output).contains("workflow main.Count"));
    assert_eq!(
        stderr(&output),
        "compiled 1 workflow, 30 functions (the standard library's included) to tiny.cosmos\n"
    );
    let bundle = Bundle::read(&fs::read(dir.path().join("tiny.cosmos")).unwrap(), VERSION);
    assert_eq!(bundle.unwrap().program.dump(), stdout(&output));
}

#[test]
fn ir_of_a_tiny_project() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    let output = cosmosc(&["compile", "--emit", "ir"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn emit_clif_prints_the_cranelift_ir_of_every_body_and_writes_nothing() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    let output = cosmosc(&["compile", "--emit", "clif"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("function "), "{text}");
    assert!(text.contains("return"), "{text}");
    assert!(
        !dir.path().join("target").exists(),
        "--emit alone writes no bundle"
    );
    let again = stdout(&cosmosc(&["compile", "--emit", "clif"], dir.path()));
    assert_eq!(text, again, "the CLIF text is deterministic");
    let help = stdout(&cosmosc(&["compile", "--help"], dir.path()));
    assert!(help.contains("clif"), "{help}");
}

#[test]
fn a_bundle_from_another_compiler_version_is_refused() {
    let dir = project(&[MANIFEST, ("src/main.emx", TINY)]);
    assert_eq!(code(&cosmosc(&["compile"], dir.path())), 0);
    let bytes = fs::read(default_bundle(dir.path(), "demo")).unwrap();

    // This bundle, loaded by a newer compiler.
    let error = Bundle::read(&bytes, "99.0.0").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, BundleError::Version { .. }), "{error:?}");
    assert!(
        message.contains(&format!("cosmosc {VERSION}")) && message.contains("cosmosc 99.0.0"),
        "{message}"
    );
    assert!(
        message.contains("recompile the project with `cosmosc compile`"),
        "{message}"
    );

    // A bundle written by another compiler, loaded by this one.
    let text = String::from_utf8(bytes).unwrap();
    let old = text.replacen(
        &format!("\"compiler_version\":\"{VERSION}\""),
        "\"compiler_version\":\"0.0.1-old\"",
        1,
    );
    assert_ne!(old, text);
    let message = Bundle::read(old.as_bytes(), VERSION)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("cosmosc 0.0.1-old") && message.contains(&format!("cosmosc {VERSION}")),
        "{message}"
    );
}

#[test]
fn a_source_file_is_not_a_bundle() {
    let error = Bundle::read(TINY.as_bytes(), VERSION).unwrap_err();
    assert_eq!(error, BundleError::NotABundle);
}
