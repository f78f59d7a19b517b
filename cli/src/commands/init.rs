//! `cosmosc init [DIR]`: writes a small working project — a workflow, the function
//! script it calls, a test, a `.gitignore` and a CI example — that `check`, `test` and
//! `run` accept as it is. It never overwrites: if any file it would write exists,
//! it names them and writes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Status;
use crate::args::InitArgs;

/// Why `init` could not write the project (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitError {
    #[error("{dir} already holds {files}; nothing was written (choose another folder)")]
    Exists { dir: String, files: String },
    #[error("cannot create `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The files of a new project: path under its folder, contents, executable or not.
fn files(name: &str) -> Vec<(&'static str, String, bool)> {
    vec![
        ("cosmos.toml", manifest(name), false),
        (
            "src/main.emx",
            include_str!("init/main.emx").to_string(),
            false,
        ),
        (
            "src/tests.emx",
            include_str!("init/tests.emx").to_string(),
            false,
        ),
        (
            "functions/greet.sh",
            include_str!("init/greet.sh").to_string(),
            true,
        ),
        (
            ".gitignore",
            include_str!("init/gitignore").to_string(),
            false,
        ),
        (
            ".github/workflows/cosmos.yml",
            include_str!("init/ci.yml").to_string(),
            false,
        ),
    ]
}

fn manifest(name: &str) -> String {
    format!(
        "[project]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         source = \"src\"\n\
         \n\
         # Functions run in pools; each pool runs at most `max` processes at once.\n\
         [pools.default]\n\
         max = 4\n"
    )
}

pub(crate) fn run(args: &InitArgs) -> Result<Status, InitError> {
    let dir = &args.dir;
    let name = project_name(dir);
    let files = files(&name);
    let existing: Vec<&str> = files
        .iter()
        .filter(|(path, _, _)| dir.join(path).exists())
        .map(|(path, _, _)| *path)
        .collect();
    if !existing.is_empty() {
        return Err(InitError::Exists {
            dir: shown(dir),
            files: existing
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for (path, text, executable) in &files {
        let target = dir.join(path);
        write(&target, text, *executable).map_err(|source| InitError::Write {
            path: target.display().to_string(),
            source,
        })?;
    }
    let cd = if dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {} && ", shell_quoted(&dir.display().to_string()))
    };
    eprintln!("created the Cosmos project `{name}` in {}", shown(dir));
    eprintln!("next:");
    eprintln!("  {cd}cosmosc check");
    eprintln!("  {cd}cosmosc test");
    eprintln!("  {cd}cosmosc run Hello --input '{{\"name\": \"Ada\"}}'");
    Ok(Status::Clean)
}

fn write(path: &Path, text: &str, executable: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    Ok(())
}

fn shown(dir: &Path) -> String {
    if dir == Path::new(".") {
        "the current folder".to_string()
    } else {
        format!("`{}`", dir.display())
    }
}

/// A path as a POSIX shell word: as it is when that is safe, else in single quotes.
fn shell_quoted(path: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c);
    if !path.is_empty() && path.chars().all(plain) {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// The project's name: the folder's name, lowercased, with every character other than
/// a letter, a digit, `-` or `_` turned into `-` (`"project"` when nothing is left).
fn project_name(dir: &Path) -> String {
    let absolute: PathBuf = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    };
    let folder = absolute
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_default();
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "project".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_folder() {
        assert_eq!(project_name(Path::new("/tmp/My Encodes")), "my-encodes");
        assert_eq!(project_name(Path::new("/srv/encode_v2/")), "encode_v2");
        assert_eq!(project_name(Path::new("/")), "project");
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quoted("hello"), "hello");
        assert_eq!(shell_quoted("a/b-c.d"), "a/b-c.d");
        assert_eq!(shell_quoted("hello world"), "'hello world'");
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
    }
}
