//! Finding a project on disk and reading its sources. Files are read in a sorted,
//! deterministic order so that file ids, and so diagnostics, never depend on the order
//! the file system lists a folder in.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use cosmos_diagnostics::FileId;

use crate::{Config, ProjectError};

/// The name of a project's manifest.
pub const MANIFEST: &str = "cosmos.toml";

/// A loaded project: its configuration and every source file's text.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `cosmos.toml`.
    pub root: PathBuf,
    pub config: Config,
    /// Sorted by path; `files[i].id == FileId(i)`.
    pub files: Vec<SourceFile>,
}

/// One `.emx` file of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub id: FileId,
    /// Relative to the project root with `/` separators, such as `src/media/types.emx`;
    /// this is the path diagnostics show.
    pub path: String,
    /// Dotted module name, such as `media.types`.
    pub module: String,
    pub text: String,
}

impl Project {
    /// The source root as a path on disk.
    pub fn source_root(&self) -> PathBuf {
        self.root.join(&self.config.project.source)
    }
}

/// The nearest folder at or above `start` that holds a `cosmos.toml`.
pub fn find_project_root(start: &Path) -> Result<PathBuf, ProjectError> {
    let start = fs::canonicalize(start).map_err(|e| ProjectError::io(start, e))?;
    let mut dir = Some(start.as_path());
    while let Some(candidate) = dir {
        if candidate.join(MANIFEST).is_file() {
            return Ok(candidate.to_path_buf());
        }
        dir = candidate.parent();
    }
    Err(ProjectError::NotFound { start })
}

/// Reads `root/cosmos.toml` and every `.emx` file under the source root. Hidden files
/// and folders (names starting with `.`) are skipped, as are files of other kinds.
pub fn load_project(root: &Path) -> Result<Project, ProjectError> {
    let manifest = root.join(MANIFEST);
    let text = fs::read_to_string(&manifest).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => ProjectError::NotUtf8 {
            path: manifest.clone(),
        },
        _ => ProjectError::io(&manifest, e),
    })?;
    let config = Config::parse(&manifest, &text)?;

    let source_root = root.join(&config.project.source);
    if !source_root.is_dir() {
        return Err(ProjectError::MissingSourceRoot { path: source_root });
    }
    let mut relative_paths = Vec::new();
    let mut visited = HashSet::new();
    collect_emx(
        &source_root,
        Path::new(""),
        &mut visited,
        &mut relative_paths,
    )?;
    relative_paths.sort();

    let display_root = slash_path(&config.project.source);
    let mut files = Vec::with_capacity(relative_paths.len());
    for (index, relative) in relative_paths.into_iter().enumerate() {
        let disk_path = source_root.join(&relative);
        let module = module_name(&relative).map_err(|segment| ProjectError::InvalidModuleName {
            path: disk_path.clone(),
            segment,
        })?;
        let bytes = fs::read(&disk_path).map_err(|e| ProjectError::io(&disk_path, e))?;
        let text = String::from_utf8(bytes).map_err(|_| ProjectError::NotUtf8 {
            path: disk_path.clone(),
        })?;
        let id = u32::try_from(index).map_err(|_| ProjectError::InvalidConfig {
            path: manifest.clone(),
            message: "too many source files".into(),
        })?;
        let relative = slash_path(&relative);
        let path = match display_root.as_str() {
            "" | "." => relative,
            root => format!("{}/{relative}", root.trim_end_matches('/')),
        };
        files.push(SourceFile {
            id: FileId(id),
            path,
            module,
            text,
        });
    }

    Ok(Project {
        root: root.to_path_buf(),
        config,
        files,
    })
}

/// Appends the paths (relative to `base`) of `.emx` files under `base/relative`.
/// Symbolic links are followed; `visited` keeps a link cycle from looping.
fn collect_emx(
    base: &Path,
    relative: &Path,
    visited: &mut HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<(), ProjectError> {
    let dir = base.join(relative);
    let canonical = fs::canonicalize(&dir).map_err(|e| ProjectError::io(&dir, e))?;
    if !visited.insert(canonical) {
        return Ok(());
    }
    let mut entries = fs::read_dir(&dir)
        .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ProjectError::io(&dir, e))?;
    // Sorted so that, when links make one folder reachable twice, the same path wins.
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // `metadata` follows symbolic links, so a link to a folder is walked.
        let metadata = fs::metadata(&path).map_err(|e| ProjectError::io(&path, e))?;
        let child = relative.join(&name);
        if metadata.is_dir() {
            collect_emx(base, &child, visited, out)?;
        } else if metadata.is_file() && path.extension().is_some_and(|ext| ext == "emx") {
            out.push(child);
        }
    }
    Ok(())
}

/// The module name of a file at `relative` under the source root: `media/types.emx`
/// is `media.types`. On failure, returns the path segment that is not an identifier.
pub fn module_name(relative: &Path) -> Result<String, String> {
    let mut segments = Vec::new();
    let components: Vec<_> = relative.components().collect();
    for (i, component) in components.iter().enumerate() {
        let std::path::Component::Normal(os) = component else {
            return Err(component.as_os_str().to_string_lossy().into_owned());
        };
        let name = os.to_string_lossy();
        let segment = if i + 1 == components.len() {
            name.strip_suffix(".emx").unwrap_or(&name).to_string()
        } else {
            name.into_owned()
        };
        if !is_identifier(&segment) {
            return Err(segment);
        }
        segments.push(segment);
    }
    if segments.is_empty() {
        return Err(String::new());
    }
    Ok(segments.join("."))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A relative path with `/` separators whatever the platform.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &[u8]) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), MANIFEST, b"[project]\nname = \"demo\"\n");
        for (path, text) in files {
            write(dir.path(), path, text.as_bytes());
        }
        dir
    }

    #[test]
    fn module_names() {
        assert_eq!(module_name(Path::new("main.emx")).unwrap(), "main");
        assert_eq!(
            module_name(Path::new("media/types.emx")).unwrap(),
            "media.types"
        );
        assert_eq!(module_name(Path::new("a_1/_b.emx")).unwrap(), "a_1._b");
        assert_eq!(
            module_name(Path::new("my-lib/x.emx")).unwrap_err(),
            "my-lib"
        );
        assert_eq!(module_name(Path::new("1x.emx")).unwrap_err(), "1x");
        assert_eq!(module_name(Path::new("a.b.emx")).unwrap_err(), "a.b");
        assert_eq!(module_name(Path::new("é.emx")).unwrap_err(), "é");
    }

    #[test]
    fn loads_sorted_files_with_ids_and_modules() {
        let dir = project(&[
            ("src/main.emx", "workflow A {}"),
            ("src/media/types.emx", "type T { x: Int }"),
            ("src/media/a.emx", ""),
            ("src/notes.txt", "not a module"),
            ("src/.hidden/x.emx", "skipped"),
            ("src/.#main.emx", "editor lock file"),
            ("other/outside.emx", "not under the source root"),
        ]);
        let project = load_project(dir.path()).unwrap();
        assert_eq!(project.config.project.name, "demo");
        let summary: Vec<_> = project
            .files
            .iter()
            .map(|f| (f.id.0, f.path.as_str(), f.module.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (0, "src/main.emx", "main"),
                (1, "src/media/a.emx", "media.a"),
                (2, "src/media/types.emx", "media.types"),
            ]
        );
        assert_eq!(project.files[2].text, "type T { x: Int }");
        assert_eq!(project.source_root(), dir.path().join("src"));
    }

    #[test]
    fn custom_source_root() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            MANIFEST,
            b"[project]\nname = \"demo\"\nsource = \"rules/emx\"\n",
        );
        write(dir.path(), "rules/emx/a/b.emx", b"");
        let project = load_project(dir.path()).unwrap();
        assert_eq!(project.files[0].path, "rules/emx/a/b.emx");
        assert_eq!(project.files[0].module, "a.b");
    }

    #[test]
    fn invalid_module_name_names_the_file() {
        let dir = project(&[("src/my-lib/x.emx", "")]);
        let err = load_project(dir.path()).unwrap_err();
        assert!(
            matches!(&err, ProjectError::InvalidModuleName { segment, .. } if segment == "my-lib")
        );
        let message = err.to_string();
        assert!(
            message.contains("x.emx") && message.contains("`my-lib`"),
            "{message}"
        );
    }

    #[test]
    fn non_utf8_file_names_the_file() {
        let dir = project(&[]);
        write(dir.path(), "src/bad.emx", &[0x66, 0xff, 0xfe]);
        let err = load_project(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::NotUtf8 { .. }));
        assert!(err.to_string().contains("bad.emx"), "{err}");
    }

    #[test]
    fn missing_source_root() {
        let dir = project(&[]);
        let err = load_project(dir.path()).unwrap_err();
        assert!(
            matches!(err, ProjectError::MissingSourceRoot { .. }),
            "{err}"
        );
    }

    #[test]
    fn bad_manifest_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), MANIFEST, b"[project]\nname = \"x\"\nfoo = 1\n");
        write(dir.path(), "src/a.emx", b"");
        let err = load_project(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::Config { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("`foo`"), "{err}");
    }

    #[test]
    fn finds_root_from_a_subdirectory() {
        let dir = project(&[("src/media/types.emx", "")]);
        let root = fs::canonicalize(dir.path()).unwrap();
        assert_eq!(find_project_root(&root.join("src/media")).unwrap(), root);
        assert_eq!(find_project_root(&root).unwrap(), root);
    }

    #[test]
    fn no_manifest_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        // The temporary folder's ancestors may hold a cosmos.toml on a developer's
        // machine; only assert the error when none does.
        match find_project_root(dir.path()) {
            Err(ProjectError::NotFound { start }) => {
                assert_eq!(start, fs::canonicalize(dir.path()).unwrap());
            }
            Ok(found) => assert!(found.join(MANIFEST).is_file()),
            Err(other) => panic!("unexpected {other}"),
        }
        let missing = dir.path().join("nope");
        assert!(matches!(
            find_project_root(&missing),
            Err(ProjectError::Io { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_cycle_terminates() {
        let dir = project(&[("src/a/x.emx", "")]);
        std::os::unix::fs::symlink(dir.path().join("src"), dir.path().join("src/a/loop")).unwrap();
        let project = load_project(dir.path()).unwrap();
        assert_eq!(project.files.len(), 1);
    }
}
