//! The server's view of the project: the analysis, and for each file its URL, module
//! name, text as on disk and text as in the editor.

use crate::convert::Texts;
use crate::stdlib::StdFile;
use cosmos_diagnostics::FileId;
use cosmos_semantics::Analysis;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tower_lsp::lsp_types::Url;

pub struct Document {
    pub url: Url,
    pub module: String,
    /// The text the analysis has: the editor's while open, else the disk's.
    pub text: String,
    pub disk_text: Option<String>,
    pub open: bool,
}

#[derive(Default)]
pub struct State {
    pub analysis: Analysis,
    /// The project's files and the files opened from elsewhere; never the standard
    /// library's, so that its diagnostics are never published.
    pub documents: BTreeMap<FileId, Document>,
    /// The standard library's modules, as written to the cache folder.
    pub std_files: Vec<StdFile>,
    /// The folder holding `cosmos.toml`.
    pub root: Option<PathBuf>,
    pub source_root: Option<PathBuf>,
    next_id: u32,
}

impl Texts for State {
    fn url(&self, file: FileId) -> Option<Url> {
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

impl State {
    fn std_file(&self, file: FileId) -> Option<&StdFile> {
        self.std_files.iter().find(|s| s.file == file)
    }

    /// Whether `url` is the written copy of a module of `std` (read-only).
    pub fn is_std(&self, url: &Url) -> bool {
        self.std_files.iter().any(|s| &s.url == url)
    }

    /// Loads the project holding `dir`, if there is one.
    pub fn load(&mut self, dir: &Path) -> Result<(), String> {
        let root = cosmos_project::find_project_root(dir).map_err(|e| e.to_string())?;
        let project = cosmos_project::load_project(&root).map_err(|e| e.to_string())?;
        self.root = Some(root);
        self.source_root = Some(project.source_root());
        self.analysis
            .set_declared_pools(project.config.pools.keys().cloned().collect());
        for file in &project.files {
            let path = project.root.join(&file.path);
            let Ok(url) = Url::from_file_path(&path) else {
                continue;
            };
            let id = self.allocate();
            self.analysis.set_file(id, &file.module, file.text.clone());
            self.documents.insert(
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
        Ok(())
    }

    fn allocate(&mut self) -> FileId {
        let id = FileId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The file at `url`: a document, or a module of `std`.
    pub fn file(&self, url: &Url) -> Option<FileId> {
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
    fn module_for(&self, url: &Url) -> String {
        let path = url.to_file_path().ok();
        let relative = path
            .as_ref()
            .zip(self.source_root.as_ref())
            .and_then(|(p, root)| p.strip_prefix(root).ok());
        if let Some(module) = relative.and_then(|r| cosmos_project::module_name(r).ok()) {
            return module;
        }
        path.as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "untitled".to_string())
    }

    /// The editor's text of a file, opened or changed. The copies of `std` are
    /// read-only: their text stays the compiled-in one.
    pub fn set_text(&mut self, url: &Url, text: String) {
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

    /// An `.emx` file changed on disk outside the editor (created, changed, deleted by
    /// a checkout, a generator, another editor). Files open in the editor keep the
    /// editor's text. Returns the URL of a file the analysis no longer has, whose
    /// diagnostics the editor must clear.
    pub fn disk_changed(&mut self, url: &Url) -> Option<Url> {
        if self.is_std(url) {
            return None;
        }
        let path = url.to_file_path().ok()?;
        let inside = self
            .source_root
            .as_ref()
            .is_some_and(|root| path.starts_with(root));
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
    pub fn saved(&mut self, url: &Url) {
        if let Some(doc) = self.file(url).and_then(|id| self.documents.get_mut(&id)) {
            doc.disk_text = Some(doc.text.clone());
        }
    }

    /// A file was closed: the analysis goes back to the disk's text, or forgets a file
    /// that is not on disk.
    pub fn close(&mut self, url: &Url) {
        if self.is_std(url) {
            return;
        }
        let Some(id) = self.file(url) else {
            return;
        };
        let disk = url
            .to_file_path()
            .ok()
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
