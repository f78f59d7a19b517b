//! The server's view of the workspace: one [`Project`] (an analysis, and for each file
//! its URL, module name, text as on disk and text as in the editor) per `cosmos.toml`
//! found under the workspace folders or above an opened file, and one more for the
//! files outside every project, which get syntax diagnostics only.

use crate::convert::Texts;
use crate::stdlib::StdFile;
use cosmos_diagnostics::FileId;
use cosmos_semantics::Analysis;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::Uri;

/// Folders never searched for projects: build output, JavaScript packages, git's data.
const SKIPPED: &[&str] = &["target", "node_modules", ".git"];

/// How deep under a workspace folder projects are looked for.
const MAX_DEPTH: usize = 12;

pub struct Document {
    pub url: Uri,
    pub module: String,
    /// The text the analysis has: the editor's while open, else the disk's.
    pub text: String,
    pub disk_text: Option<String>,
    pub open: bool,
}

/// One Cosmos project and its analysis; or, without a root, the files that belong to
/// no project.
#[derive(Default)]
pub struct Project {
    pub analysis: Analysis,
    /// The project's files and the files opened from elsewhere; never the standard
    /// library's, so that its diagnostics are never published.
    pub documents: BTreeMap<FileId, Document>,
    /// The standard library's modules, as written to the cache folder.
    pub std_files: Vec<StdFile>,
    /// The folder holding `cosmos.toml`; `None` for the files outside every project.
    pub root: Option<PathBuf>,
    pub source_root: Option<PathBuf>,
    next_id: u32,
}

impl Texts for Project {
    fn url(&self, file: FileId) -> Option<Uri> {
        match self.documents.get(&file) {
            Some(d) => Some(d.url.clone()),
            None => self.std_file(file).map(|s| s.url.clone()),
        }
    }

    fn text(&self, file: FileId) -> Option<&str> {
        match self.documents.get(&file) {
            Some(d) => Some(d.text.as_str()),
            None => self.std_file(file).map(|s| s.text),
        }
    }
}

/// The local path of a `file:` URL.
pub fn file_path(url: &Uri) -> Option<PathBuf> {
    if !url.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    url.to_file_path().map(|p| p.into_owned())
}

/// `path`, with symbolic links resolved when it exists.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Project {
    fn std_file(&self, file: FileId) -> Option<&StdFile> {
        self.std_files.iter().find(|s| s.file == file)
    }

    /// Whether `url` is the written copy of a module of `std` (read-only).
    pub fn is_std(&self, url: &Uri) -> bool {
        self.std_files.iter().any(|s| &s.url == url)
    }

    /// Whether only syntax errors are reported: the files outside every project.
    pub fn syntax_only(&self) -> bool {
        self.root.is_none()
    }

    /// Loads the project whose `cosmos.toml` is in `root`.
    fn load(root: &Path, std_files: Vec<StdFile>) -> Result<Project, String> {
        let loaded = cosmos_project::load_project(root).map_err(|e| e.to_string())?;
        let mut project = Project {
            std_files,
            root: Some(root.to_path_buf()),
            source_root: Some(loaded.source_root()),
            ..Project::default()
        };
        project
            .analysis
            .set_declared_pools(loaded.config.pools.keys().cloned().collect());
        for file in &loaded.files {
            let path = loaded.root.join(&file.path);
            let Some(url) = Uri::from_file_path(&path) else {
                continue;
            };
            let id = project.allocate();
            project
                .analysis
                .set_file(id, &file.module, file.text.clone());
            project.documents.insert(
                id,
                Document {
                    url,
                    module: file.module.clone(),
                    text: file.text.clone(),
                    disk_text: Some(file.text.clone()),
                    open: false,
                },
            );
        }
        Ok(project)
    }

    fn allocate(&mut self) -> FileId {
        let id = FileId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The file at `url`: a document, or a module of `std`.
    pub fn file(&self, url: &Uri) -> Option<FileId> {
        self.documents
            .iter()
            .find(|(_, d)| &d.url == url)
            .map(|(id, _)| *id)
            .or_else(|| {
                self.std_files
                    .iter()
                    .find(|s| &s.url == url)
                    .map(|s| s.file)
            })
    }

    /// The path of the project's `cosmos.toml`.
    pub fn manifest(&self) -> Option<PathBuf> {
        self.root.as_ref().map(|root| root.join("cosmos.toml"))
    }

    /// Reads `cosmos.toml` again and gives the checker its pools. A manifest that does
    /// not parse leaves the previous configuration in place.
    pub fn reload_config(&mut self) -> Result<(), String> {
        let Some(manifest) = self.manifest() else {
            return Ok(());
        };
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        let config = cosmos_project::Config::parse(&manifest, &text).map_err(|e| e.to_string())?;
        self.analysis
            .set_declared_pools(config.pools.keys().cloned().collect());
        Ok(())
    }

    /// The module name of a file the project did not load: from its path under the
    /// source root, else its file name.
    fn module_for(&self, url: &Uri) -> String {
        let path = file_path(url);
        let relative = path
            .as_ref()
            .zip(self.source_root.as_ref())
            .and_then(|(p, root)| {
                p.strip_prefix(root)
                    .ok()
                    .map(Path::to_path_buf)
                    .or_else(|| canonical(p).strip_prefix(root).ok().map(Path::to_path_buf))
            });
        if let Some(module) = relative.and_then(|r| cosmos_project::module_name(&r).ok()) {
            return module;
        }
        let name = url.path().as_str().rsplit('/').next().unwrap_or_default();
        let stem = name.strip_suffix(".emx").unwrap_or(name);
        if stem.is_empty() {
            "untitled".to_string()
        } else {
            stem.to_string()
        }
    }

    /// The editor's text of a file, opened or changed. The copies of `std` are
    /// read-only: their text stays the compiled-in one.
    pub fn set_text(&mut self, url: &Uri, text: String) {
        if self.is_std(url) {
            return;
        }
        let id = match self.file(url) {
            Some(id) => id,
            None => {
                let id = self.allocate();
                let module = self.module_for(url);
                self.documents.insert(
                    id,
                    Document {
                        url: url.clone(),
                        module,
                        text: String::new(),
                        disk_text: None,
                        open: true,
                    },
                );
                id
            }
        };
        if let Some(doc) = self.documents.get_mut(&id) {
            doc.open = true;
            doc.text = text.clone();
            self.analysis.set_file(id, &doc.module, text);
        }
    }

    /// Whether `path` is under the project's source folder.
    fn holds_source(&self, path: &Path) -> bool {
        self.source_root
            .as_ref()
            .is_some_and(|root| path.starts_with(root) || canonical(path).starts_with(root))
    }

    /// An `.emx` file changed on disk outside the editor (created, changed, deleted by
    /// a checkout, a generator, another editor). Files open in the editor keep the
    /// editor's text. Returns the URL of a file the analysis no longer has, whose
    /// diagnostics the editor must clear.
    pub fn disk_changed(&mut self, url: &Uri) -> Option<Uri> {
        if self.is_std(url) {
            return None;
        }
        let path = file_path(url)?;
        let inside = self.holds_source(&path);
        let disk = std::fs::read_to_string(&path).ok();
        match (self.file(url), disk) {
            (Some(id), Some(text)) => {
                let doc = self.documents.get_mut(&id)?;
                doc.disk_text = Some(text.clone());
                if !doc.open {
                    doc.text = text.clone();
                    self.analysis.set_file(id, &doc.module, text);
                }
                None
            }
            (Some(id), None) => {
                if self.documents.get(&id).is_some_and(|d| d.open) {
                    return None;
                }
                self.documents.remove(&id);
                self.analysis.remove_file(id);
                Some(url.clone())
            }
            (None, Some(text)) if inside => {
                let id = self.allocate();
                let module = self.module_for(url);
                self.analysis.set_file(id, &module, text.clone());
                self.documents.insert(
                    id,
                    Document {
                        url: url.clone(),
                        module,
                        text: text.clone(),
                        disk_text: Some(text),
                        open: false,
                    },
                );
                None
            }
            (None, _) => None,
        }
    }

    /// A file was saved: what is on disk is now the editor's text.
    pub fn saved(&mut self, url: &Uri) {
        if let Some(doc) = self.file(url).and_then(|id| self.documents.get_mut(&id)) {
            doc.disk_text = Some(doc.text.clone());
        }
    }

    /// A file was closed: the analysis goes back to the disk's text, or forgets a file
    /// that is not on disk or not in the project.
    pub fn close(&mut self, url: &Uri) {
        if self.is_std(url) {
            return;
        }
        let Some(id) = self.file(url) else {
            return;
        };
        let disk = file_path(url)
            .filter(|p| self.holds_source(p))
            .and_then(|p| std::fs::read_to_string(p).ok());
        match (disk, self.documents.get_mut(&id)) {
            (Some(text), Some(doc)) => {
                doc.open = false;
                doc.text = text.clone();
                doc.disk_text = Some(text.clone());
                self.analysis.set_file(id, &doc.module, text);
            }
            _ => {
                self.documents.remove(&id);
                self.analysis.remove_file(id);
            }
        }
    }
}

/// Every folder holding a `cosmos.toml` at or under `folder`, skipping [`SKIPPED`]
/// folders and symbolic links.
pub fn discover(folder: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(canonical(folder), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if dir.join("cosmos.toml").is_file() {
            out.push(dir.clone());
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() && !SKIPPED.iter().any(|s| name == *s) {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    out.sort();
    out
}

/// The workspace: its projects, and the files outside them.
#[derive(Default)]
pub struct State {
    pub projects: Vec<Project>,
    /// The files that belong to no project: syntax diagnostics only.
    pub loose: Project,
    /// The standard library's modules, as written to the cache folder.
    pub std_files: Vec<StdFile>,
}

impl State {
    pub fn set_std_files(&mut self, files: Vec<StdFile>) {
        self.loose.std_files = files.clone();
        for project in &mut self.projects {
            project.std_files = files.clone();
        }
        self.std_files = files;
    }

    /// Every project and the loose files.
    pub fn all(&self) -> impl Iterator<Item = &Project> {
        self.projects.iter().chain(std::iter::once(&self.loose))
    }

    /// Loads the project whose `cosmos.toml` is in `root`, unless it is loaded.
    pub fn load(&mut self, root: &Path) -> Result<(), String> {
        let root = canonical(root);
        if self.projects.iter().any(|p| p.root.as_ref() == Some(&root)) {
            return Ok(());
        }
        let project = Project::load(&root, self.std_files.clone())?;
        // Files opened before their project was known move into it.
        let moved: Vec<(Uri, String)> = self
            .loose
            .documents
            .values()
            .filter(|d| file_path(&d.url).is_some_and(|p| project.holds_source(&p)))
            .map(|d| (d.url.clone(), d.text.clone()))
            .collect();
        self.projects.push(project);
        for (url, text) in moved {
            if let Some(id) = self.loose.file(&url) {
                self.loose.documents.remove(&id);
                self.loose.analysis.remove_file(id);
            }
            if let Some(project) = self.projects.last_mut() {
                project.set_text(&url, text);
            }
        }
        Ok(())
    }

    /// Loads every project at or under `folder`, and the one holding it if it is inside
    /// a project. Returns the problems, one line each.
    pub fn load_folder(&mut self, folder: &Path) -> Vec<String> {
        let mut roots = discover(folder);
        if let Ok(above) = cosmos_project::find_project_root(folder)
            && !roots.contains(&above)
        {
            roots.push(above);
        }
        let mut problems = Vec::new();
        if roots.is_empty() {
            problems.push(format!(
                "no cosmos.toml found in or above {}: its .emx files get syntax checks only",
                folder.display()
            ));
        }
        for root in roots {
            if let Err(error) = self.load(&root) {
                problems.push(format!("project {} not loaded: {error}", root.display()));
            }
        }
        problems
    }

    /// The index of the project a file on disk belongs to: the one whose source folder
    /// holds it, the deepest if several do.
    fn project_of_path(&self, path: &Path) -> Option<usize> {
        self.projects
            .iter()
            .enumerate()
            .filter(|(_, p)| p.holds_source(path))
            .max_by_key(|(_, p)| p.source_root.as_ref().map_or(0, |r| r.as_os_str().len()))
            .map(|(i, _)| i)
    }

    /// The project that has `url`, and the file's id in it.
    pub fn locate(&self, url: &Uri) -> Option<(&Project, FileId)> {
        self.all()
            .find_map(|project| project.file(url).map(|file| (project, file)))
    }

    /// The project `url` belongs to: the one that has it, else the one whose source
    /// folder holds it, else the project found above it (loaded now), else the loose
    /// files.
    fn owner(&mut self, url: &Uri) -> &mut Project {
        let index = self
            .projects
            .iter()
            .position(|p| p.file(url).is_some())
            .or_else(|| {
                if self.loose.file(url).is_some() {
                    return None;
                }
                let path = file_path(url)?;
                if let Some(index) = self.project_of_path(&path) {
                    return Some(index);
                }
                let root = cosmos_project::find_project_root(path.parent()?).ok()?;
                self.load(&root).ok()?;
                self.project_of_path(&path)
            });
        match index {
            Some(index) => &mut self.projects[index],
            None => &mut self.loose,
        }
    }

    /// The editor's text of a file, opened or changed.
    pub fn set_text(&mut self, url: &Uri, text: String) {
        if self.std_files.iter().any(|s| &s.url == url) {
            return;
        }
        self.owner(url).set_text(url, text);
    }

    /// A file was saved.
    pub fn saved(&mut self, url: &Uri) {
        for project in self.projects.iter_mut().chain([&mut self.loose]) {
            project.saved(url);
        }
    }

    /// A file was closed. Returns whether no analysis has it any more.
    pub fn close(&mut self, url: &Uri) -> bool {
        for project in self.projects.iter_mut().chain([&mut self.loose]) {
            project.close(url);
        }
        self.locate(url).is_none()
    }

    /// An `.emx` file changed on disk; see [`Project::disk_changed`].
    pub fn disk_changed(&mut self, url: &Uri) -> Option<Uri> {
        let path = file_path(url)?;
        let index = self
            .projects
            .iter()
            .position(|p| p.file(url).is_some())
            .or_else(|| self.project_of_path(&path))?;
        self.projects[index].disk_changed(url)
    }

    /// The project whose `cosmos.toml` is at `url`.
    pub fn manifest_project(&mut self, url: &Uri) -> Option<&mut Project> {
        let path = file_path(url)?;
        let path = canonical(&path);
        self.projects
            .iter_mut()
            .find(|p| p.manifest().is_some_and(|m| m == path))
    }
}
