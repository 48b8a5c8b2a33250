//! Reading a location: every file it reaches (through globs and the
//! Location entities it holds), every YAML document in each, placeholders
//! resolved, each entity validated on its own.
//!
//! A registered `file` location is read through a cap-std directory opened
//! on its folder: nothing it points to — a nested location, a `$text`
//! placeholder, a symlink — can read outside that folder. A `url` location
//! may point to other URLs but never to files.

use crate::relations::{self, Relation};
use crate::rules::AllowedKinds;
use crate::url_reader::UrlReading;
use crate::validate::{self, Problem};
use crate::yaml::{self, Document, Position};
use crate::{DEFAULT_NAMESPACE, EntityRef};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

/// The annotation naming the file or URL an entity was read from.
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
/// The annotation naming the registered location that led to it.
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// A catalog file larger than this is refused: it is read whole into
/// memory, and no hand-written catalog comes near it (generated ones are
/// split into files).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Location entities may point to locations that point to locations; past
/// this depth it is a loop or a mistake.
const MAX_DEPTH: usize = 16;

/// What a reading of one location may do: which kinds it may provide
/// (the catalog rules) and which URLs it may read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The kinds the location may provide; other entities are refused as
    /// a problem naming the rule.
    pub kinds: AllowedKinds,
    /// How URLs are read (allow-list, private hosts, timeouts).
    pub urls: UrlReading,
}

impl Default for ReadOptions {
    /// Every kind; no URL (no host is allowed to be read).
    fn default() -> ReadOptions {
        ReadOptions {
            kinds: AllowedKinds::All,
            urls: UrlReading::default(),
        }
    }
}

/// The two kinds of location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationType {
    /// A file, or a glob of files, on the host's disk.
    File,
    /// A document fetched over HTTP(S).
    Url,
    /// Entities a plugin provides through the `catalog` import; the target
    /// is the plugin's id. Nothing is read on refresh: the plugin writes.
    Plugin,
}

impl LocationType {
    /// `file` or `url`.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationType::File => "file",
            LocationType::Url => "url",
            LocationType::Plugin => "plugin",
        }
    }

    /// Parses `file` or `url`.
    pub fn parse(text: &str) -> Option<LocationType> {
        match text {
            "file" => Some(LocationType::File),
            "url" => Some(LocationType::Url),
            "plugin" => Some(LocationType::Plugin),
            _ => None,
        }
    }
}

impl fmt::Display for LocationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid entity read from a location, ready to store.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The entity, with `metadata.namespace` and the managed-by annotations
    /// filled in.
    pub entity: Value,
    /// Its reference.
    pub entity_ref: EntityRef,
    /// The relations it generates.
    pub relations: Vec<Relation>,
    /// The file or URL it was read from (`file:/abs/path.yaml`).
    pub source: String,
    /// The Location entity whose target led to that file.
    pub parent_ref: String,
}

/// A problem found while reading: a file that cannot be read or parsed, or
/// an entity that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceProblem {
    /// The file or URL.
    pub source: String,
    /// The Location entity whose target led to it.
    pub parent_ref: String,
    /// Where in the file, when known.
    pub position: Option<Position>,
    /// The entity concerned, when it could be named.
    pub entity_ref: Option<String>,
    /// The rule broken or the failure.
    pub message: String,
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.strip_prefix("file:").unwrap_or(&self.source);
        match self.position {
            Some(p) => write!(f, "{source}:{}:{}: {}", p.line, p.column, self.message),
            None => write!(f, "{source}: {}", self.message),
        }
    }
}

/// Everything one registered location yielded.
#[derive(Debug, Default)]
pub struct Reading {
    /// The valid entities, the location's own generated Location first.
    pub entities: Vec<Ingested>,
    /// Every problem.
    pub problems: Vec<SourceProblem>,
    /// Files or URLs that could not be read at all: the entities stored
    /// from them are kept as they were, not orphaned.
    pub unreadable: HashSet<String>,
}

/// Checks one entity and prepares it for the store: validated, its
/// namespace filled in, its relations generated, annotated with where it
/// came from (`source`, read for the registered location `origin`).
pub fn prepare_entity(
    mut entity: Value,
    source: &str,
    parent: &str,
    origin: &str,
) -> Result<Ingested, Vec<Problem>> {
    let problems = validate::validate(&entity);
    if !problems.is_empty() {
        return Err(problems);
    }
    let namespace = entity["metadata"]
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    let kind = entity["kind"].as_str().unwrap_or_default().to_owned();
    let name = entity["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let relations = relations::generate(&entity, &entity_ref)?;
    entity["metadata"]["namespace"] = json!(namespace);
    let annotations = entity["metadata"]
        .as_object_mut()
        .expect("validated: metadata is a mapping")
        .entry("annotations")
        .or_insert_with(|| json!({}));
    annotations[MANAGED_BY_LOCATION] = json!(managed_by(source));
    annotations[MANAGED_BY_ORIGIN_LOCATION] = json!(origin);
    Ok(Ingested {
        entity,
        entity_ref,
        relations,
        source: source.to_owned(),
        parent_ref: parent.to_owned(),
    })
}

impl Reading {
    /// Adds another reading's findings to this one.
    pub fn merge(&mut self, other: Reading) {
        self.entities.extend(other.entities);
        self.problems.extend(other.problems);
        self.unreadable.extend(other.unreadable);
    }

    fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.problems.is_empty() && self.unreadable.is_empty()
    }
}

/// The name Backstage gives the Location entity it creates for a
/// registered location: `generated-` and a hash of `type:target`.
pub fn generated_location_name(kind: LocationType, target: &str) -> String {
    let digest = Sha256::digest(format!("{kind}:{target}").as_bytes());
    format!("generated-{}", &hex::encode(digest)[..40])
}

/// Reads a registered location and everything it leads to, with the
/// default [`ReadOptions`] (every kind, no URL).
pub fn read_location(kind: LocationType, target: &str) -> Reading {
    read_location_with(kind, target, &ReadOptions::default())
}

/// Reads a registered location and everything it leads to, as `options`
/// allow.
pub fn read_location_with(kind: LocationType, target: &str, options: &ReadOptions) -> Reading {
    let mut all = Reading::default();
    read_location_in_batches(kind, target, options, &mut |batch| all.merge(batch));
    all
}

/// Reads a registered location and everything it leads to, handing what
/// each file yielded to `sink` as soon as that file is read: a catalog of
/// any size is ingested with one file's entities in memory at a time. The
/// generated Location entity comes first.
pub fn read_location_in_batches(
    kind: LocationType,
    target: &str,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Reading),
) {
    let origin = format!("{kind}:{target}");
    let root_ref = EntityRef::new(
        "location",
        DEFAULT_NAMESPACE,
        &generated_location_name(kind, target),
    );
    let mut reader = Reader {
        origin: origin.clone(),
        reading: Reading::default(),
        seen: HashSet::new(),
        options,
        deadline: Instant::now() + options.urls.location_budget,
        sink,
    };
    let root_entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": root_ref.name(),
            "namespace": DEFAULT_NAMESPACE,
            "annotations": {
                MANAGED_BY_LOCATION: origin,
                MANAGED_BY_ORIGIN_LOCATION: origin,
            }
        },
        "spec": {"type": kind.as_str(), "target": target}
    });
    reader.reading.entities.push(Ingested {
        entity: root_entity,
        entity_ref: root_ref.clone(),
        relations: Vec::new(),
        source: origin.clone(),
        parent_ref: root_ref.key(),
    });
    reader.flush();
    match kind {
        LocationType::File => {
            let path = Path::new(target);
            let (folder, pattern) = split_glob(path);
            match Dir::open_ambient_dir(&folder, ambient_authority()) {
                Ok(dir) => {
                    let files = FileTree {
                        dir,
                        folder: folder.clone(),
                    };
                    reader.read_file_target(&files, &pattern, &root_ref.key(), 0);
                }
                Err(error) => reader.unreadable(
                    &format!("file:{}", path.display()),
                    &root_ref.key(),
                    format!("cannot open the folder {}: {error}", folder.display()),
                ),
            }
        }
        LocationType::Plugin => {}
        LocationType::Url => match url::Url::parse(target) {
            Ok(url) => reader.read_url(&url, &root_ref.key(), 0),
            Err(error) => reader.unreadable(
                target,
                &root_ref.key(),
                format!("\"{target}\" is not a URL: {error}"),
            ),
        },
    }
    reader.flush();
}

/// Validates the documents of one text as a catalog file, without storing
/// anything: what `greenroom catalog validate` and `POST /validate-entity`
/// use. Placeholders are resolved relative to `folder` when given.
pub fn check_text(source: &str, text: &str, folder: Option<&Path>) -> Reading {
    let mut all = Reading::default();
    let mut sink = |batch| all.merge(batch);
    let options = ReadOptions::default();
    let mut reader = Reader {
        origin: source.to_owned(),
        reading: Reading::default(),
        seen: HashSet::new(),
        options: &options,
        deadline: Instant::now() + options.urls.location_budget,
        sink: &mut sink,
    };
    let files = folder.and_then(|folder| {
        Some(FileTree {
            dir: Dir::open_ambient_dir(folder, ambient_authority()).ok()?,
            folder: folder.to_owned(),
        })
    });
    let context = match &files {
        Some(files) => Context::File {
            files,
            relative: PathBuf::from(source),
        },
        None => Context::Detached,
    };
    reader.read_text(source, text, "", &context, 0);
    reader.flush();
    drop(reader);
    all
}

/// Splits `/a/b/**/*.yaml` into the folder without globs (`/a/b`) and the
/// pattern under it (`**/*.yaml`). A plain file path splits into its
/// parent folder and its file name.
fn split_glob(path: &Path) -> (PathBuf, String) {
    let components: Vec<_> = path.components().collect();
    let first_glob = components
        .iter()
        .position(|c| {
            c.as_os_str()
                .to_string_lossy()
                .contains(['*', '?', '[', '{'])
        })
        .unwrap_or(components.len().saturating_sub(1));
    let folder: PathBuf = components[..first_glob].iter().collect();
    let pattern: PathBuf = components[first_glob..].iter().collect();
    (folder, pattern.to_string_lossy().into_owned())
}

/// A registered file location's folder, opened once.
struct FileTree {
    dir: Dir,
    folder: PathBuf,
}

impl FileTree {
    fn source(&self, relative: &Path) -> String {
        format!("file:{}", self.folder.join(relative).display())
    }

    fn read(&self, relative: &Path) -> Result<String, String> {
        let file = self.dir.open(relative).map_err(|e| e.to_string())?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
        }
        Ok(text)
    }

    /// The files under the folder matching `pattern`, sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        if !pattern.contains(['*', '?', '[', '{']) {
            return Ok(vec![PathBuf::from(pattern)]);
        }
        let matcher = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("bad glob \"{pattern}\": {e}"))?
            .compile_matcher();
        let mut found = Vec::new();
        let mut pending = vec![PathBuf::new()];
        while let Some(folder) = pending.pop() {
            let entries = if folder.as_os_str().is_empty() {
                self.dir.entries()
            } else {
                self.dir.read_dir(&folder)
            }
            .map_err(|e| e.to_string())?;
            for entry in entries.flatten() {
                let path = folder.join(entry.file_name());
                match entry.file_type() {
                    Ok(t) if t.is_dir() => pending.push(path),
                    Ok(t) if t.is_file() && matcher.is_match(&path) => found.push(path),
                    _ => {}
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Where the document being read came from, to resolve relative targets.
enum Context<'a> {
    File {
        files: &'a FileTree,
        relative: PathBuf,
    },
    Url(url::Url),
    Detached,
}

struct Reader<'s> {
    origin: String,
    /// What the file being read has yielded so far.
    reading: Reading,
    seen: HashSet<String>,
    options: &'s ReadOptions,
    /// When the location's time budget for URL reads runs out.
    deadline: Instant,
    sink: &'s mut dyn FnMut(Reading),
}

impl Reader<'_> {
    /// Hands what was read so far to the sink.
    fn flush(&mut self) {
        if !self.reading.is_empty() {
            (self.sink)(std::mem::take(&mut self.reading));
        }
    }

    fn unreadable(&mut self, source: &str, parent: &str, message: String) {
        self.reading.unreadable.insert(source.to_owned());
        self.problem(source, parent, None, None, message);
        self.flush();
    }

    fn problem(
        &mut self,
        source: &str,
        parent: &str,
        position: Option<Position>,
        entity_ref: Option<String>,
        message: String,
    ) {
        self.reading.problems.push(SourceProblem {
            source: source.to_owned(),
            parent_ref: parent.to_owned(),
            position,
            entity_ref,
            message,
        });
    }

    fn read_file_target(&mut self, files: &FileTree, pattern: &str, parent: &str, depth: usize) {
        let matches = match files.glob(pattern) {
            Ok(matches) => matches,
            Err(error) => {
                let source = files.source(Path::new(pattern));
                return self.unreadable(&source, parent, error);
            }
        };
        for relative in matches {
            let source = files.source(&relative);
            if !self.seen.insert(source.clone()) {
                continue;
            }
            match files.read(&relative) {
                Ok(text) => {
                    let context = Context::File { files, relative };
                    self.read_text(&source, &text, parent, &context, depth);
                }
                Err(error) => {
                    self.unreadable(&source, parent, format!("cannot read the file: {error}"))
                }
            }
        }
    }

    fn read_url(&mut self, url: &url::Url, parent: &str, depth: usize) {
        let source = url.to_string();
        if !self.seen.insert(source.clone()) {
            return;
        }
        match self.fetch(url) {
            Ok(text) => self.read_text(&source, &text, parent, &Context::Url(url.clone()), depth),
            Err(error) => self.unreadable(&source, parent, error),
        }
    }

    fn fetch(&mut self, url: &url::Url) -> Result<String, String> {
        self.options.urls.fetch(url, self.deadline)
    }

    fn read_text(
        &mut self,
        source: &str,
        text: &str,
        parent: &str,
        context: &Context<'_>,
        depth: usize,
    ) {
        let documents = match yaml::parse_documents(text) {
            Ok(documents) => documents,
            Err(error) => {
                // A file that does not parse yields nothing, so what was
                // stored from it stays as it was.
                self.reading.unreadable.insert(source.to_owned());
                self.problem(
                    source,
                    parent,
                    Some(error.position),
                    None,
                    format!("YAML error: {}", error.message),
                );
                return self.flush();
            }
        };
        let mut locations = Vec::new();
        for mut document in documents {
            if let Some(found) = self.read_document(source, &mut document, parent, context) {
                locations.push((found, document));
            }
        }
        // The file's entities go to the sink before the files its Location
        // entities point to are read.
        self.flush();
        for ((spec, this), document) in locations {
            self.follow_location(source, &spec, &this, context, depth, &document);
        }
    }

    /// Reads one document into the batch; a Location entity's spec and
    /// reference are returned, for its targets to be read next.
    fn read_document(
        &mut self,
        source: &str,
        document: &mut Document,
        parent: &str,
        context: &Context<'_>,
    ) -> Option<(Value, String)> {
        let named = naive_ref(&document.value);
        let report = |reader: &mut Reader, problems: Vec<Problem>, document: &Document| {
            for problem in problems {
                let position = document.position(&problem.pointer);
                reader.problem(
                    source,
                    parent,
                    Some(position),
                    named.clone(),
                    problem.message,
                );
            }
        };
        if let Some(refusal) = document.refusal() {
            let message = refusal.message.clone();
            self.problem(source, parent, Some(refusal.position), named, message);
            return None;
        }
        // Before its placeholders are read: a refused entity reads nothing.
        let kind = document.value.get("kind").and_then(Value::as_str);
        if let Some(refusal) = kind.and_then(|kind| self.options.kinds.refusal(kind, &self.origin))
        {
            let position = Some(document.position("/kind"));
            self.problem(source, parent, position, named, refusal);
            return None;
        }
        let placeholders = self.resolve_placeholders(&mut document.value, "", context);
        if !placeholders.is_empty() {
            report(self, placeholders, document);
            return None;
        }
        let ingested = match prepare_entity(document.value.clone(), source, parent, &self.origin) {
            Ok(ingested) => ingested,
            Err(problems) => {
                report(self, problems, document);
                return None;
            }
        };
        let location = (ingested.entity_ref.kind() == "location")
            .then(|| (ingested.entity["spec"].clone(), ingested.entity_ref.key()));
        self.reading.entities.push(ingested);
        location
    }

    /// Reads the targets of a Location entity found in a file.
    fn follow_location(
        &mut self,
        source: &str,
        spec: &Value,
        this: &str,
        context: &Context<'_>,
        depth: usize,
        document: &Document,
    ) {
        if depth >= MAX_DEPTH {
            let position = Some(document.position("/spec"));
            return self.problem(
                source,
                this,
                position,
                Some(this.to_owned()),
                format!("locations nest deeper than {MAX_DEPTH}; is there a loop?"),
            );
        }
        let targets: Vec<(String, &str)> = match (spec.get("target"), spec.get("targets")) {
            (Some(Value::String(one)), _) => vec![("/spec/target".into(), one.as_str())],
            (_, Some(Value::Array(many))) => many
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((format!("/spec/targets/{i}"), t.as_str()?)))
                .collect(),
            _ => Vec::new(),
        };
        let declared = spec.get("type").and_then(Value::as_str);
        for (pointer, target) in targets {
            let position = Some(document.position(&pointer));
            let fail = |reader: &mut Reader, message: String| {
                reader.problem(source, this, position, Some(this.to_owned()), message)
            };
            match (declared, context) {
                (Some("url"), _) | (None, Context::Url(_)) => {
                    let url = match context {
                        Context::Url(base) => base.join(target),
                        _ => url::Url::parse(target),
                    };
                    match url {
                        Ok(url) => self.read_url(&url, this, depth + 1),
                        Err(error) => {
                            fail(self, format!("target \"{target}\" is not a URL: {error}"))
                        }
                    }
                }
                (Some("file") | None, Context::File { files, relative }) => {
                    match inside(files, relative, target) {
                        Ok(pattern) => self.read_file_target(files, &pattern, this, depth + 1),
                        Err(message) => fail(self, message),
                    }
                }
                (Some("file") | None, _) => fail(
                    self,
                    format!("target \"{target}\": a file can only be read from a file location"),
                ),
                (Some(other), _) => fail(
                    self,
                    format!("location type \"{other}\" is not supported (file, url)"),
                ),
            }
        }
    }

    /// Replaces `{$text: …}`, `{$json: …}` and `{$yaml: …}` with what they
    /// point to, as Backstage's PlaceholderProcessor does.
    fn resolve_placeholders(
        &mut self,
        value: &mut Value,
        pointer: &str,
        context: &Context<'_>,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        match value {
            Value::Object(map) if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) => {
                let (key, target) = map.iter().next().expect("one entry");
                let Some(target) = target.as_str() else {
                    problems.push(Problem::new(
                        pointer,
                        format!("placeholder {key} must name a file or URL"),
                    ));
                    return problems;
                };
                let resolved =
                    self.read_relative(target, context)
                        .and_then(|text| match key.as_str() {
                            "$text" => Ok(Value::String(text)),
                            "$json" => serde_json::from_str(&text)
                                .map_err(|e| format!("{target} is not JSON: {e}")),
                            "$yaml" => yaml::parse_documents(&text)
                                .map_err(|e| format!("{target} is not YAML: {e}"))
                                .and_then(|docs| match docs.into_iter().next() {
                                    None => Ok(Value::Null),
                                    Some(doc) => match doc.refusal() {
                                        Some(refusal) => Err(format!(
                                            "{target}:{}:{}: {refusal}",
                                            refusal.position.line, refusal.position.column
                                        )),
                                        None => Ok(doc.value),
                                    },
                                }),
                            other => Err(format!(
                                "placeholder {other} is not supported ($text, $json, $yaml)"
                            )),
                        });
                match resolved {
                    Ok(resolved) => *value = resolved,
                    Err(message) => problems.push(Problem::new(
                        pointer,
                        format!("placeholder {key}: {message}"),
                    )),
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let child = format!("{pointer}/{}", validate::escape(key));
                    problems.extend(self.resolve_placeholders(item, &child, context));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    problems.extend(self.resolve_placeholders(
                        item,
                        &format!("{pointer}/{i}"),
                        context,
                    ));
                }
            }
            _ => {}
        }
        problems
    }

    fn read_relative(&mut self, target: &str, context: &Context<'_>) -> Result<String, String> {
        if let Ok(url) = url::Url::parse(target)
            && matches!(url.scheme(), "http" | "https")
        {
            return self.fetch(&url);
        }
        match context {
            Context::File { files, relative } => {
                let path = inside(files, relative, target)?;
                files
                    .read(Path::new(&path))
                    .map_err(|e| format!("cannot read {target}: {e}"))
            }
            Context::Url(base) => {
                let url = base.join(target).map_err(|e| format!("{target}: {e}"))?;
                self.fetch(&url)
            }
            Context::Detached => Err(format!(
                "cannot read {target} here: the entity has no location"
            )),
        }
    }
}

/// `target` (relative to the file `relative`, or absolute) as a path inside
/// the location's folder, or why it is not inside.
fn inside(files: &FileTree, relative: &Path, target: &str) -> Result<String, String> {
    let target_path = Path::new(target);
    let joined = if target_path.is_absolute() {
        target_path
            .strip_prefix(&files.folder)
            .map_err(|_| outside(files, target))?
            .to_owned()
    } else {
        relative.parent().unwrap_or(Path::new("")).join(target_path)
    };
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return Err(outside(files, target));
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside(files, target)),
        }
    }
    Ok(normal.to_string_lossy().into_owned())
}

fn outside(files: &FileTree, target: &str) -> String {
    format!(
        "target \"{target}\" is outside the location's folder {}; a file location can only read files inside its folder",
        files.folder.display()
    )
}

fn managed_by(source: &str) -> String {
    if source.starts_with("file:") || source.starts_with("plugin:") {
        source.to_owned()
    } else {
        format!("url:{source}")
    }
}

/// `kind:namespace/name` of a document that may be invalid, when it names
/// a kind and a name at all: errors are attached to it.
fn naive_ref(value: &Value) -> Option<String> {
    let kind = value.get("kind")?.as_str()?;
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_NAMESPACE);
    Some(EntityRef::new(kind, namespace, name).key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: NAME\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

    fn component(name: &str) -> String {
        COMPONENT.replace("NAME", name)
    }

    fn names(reading: &Reading) -> Vec<String> {
        reading
            .entities
            .iter()
            .map(|e| e.entity_ref.to_string())
            .collect()
    }

    #[test]
    fn a_bad_entity_does_not_block_the_good_ones_in_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}---\n{}", component("Pay_Svc!"), component("pay"));
        fs::write(dir.path().join("catalog-info.yaml"), text).unwrap();
        let target = dir.path().join("catalog-info.yaml");
        let reading = read_location(LocationType::File, target.to_str().unwrap());
        assert_eq!(names(&reading)[1..], ["component:default/pay"]);
        assert_eq!(reading.problems.len(), 1);
        let shown = reading.problems[0].to_string();
        let expected = format!(
            "{}:4:9: metadata.name \"Pay_Svc!\" must be sequences",
            target.display()
        );
        assert!(shown.starts_with(&expected), "{shown}");
    }

    #[test]
    fn follows_location_entities_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("teams/a")).unwrap();
        fs::write(
            dir.path().join("all.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets: [./teams/**/*.yaml]\n",
        )
        .unwrap();
        fs::write(dir.path().join("teams/a/one.yaml"), component("one")).unwrap();
        fs::write(dir.path().join("teams/two.yaml"), component("two")).unwrap();
        let reading = read_location(
            LocationType::File,
            dir.path().join("all.yaml").to_str().unwrap(),
        );
        assert_eq!(
            names(&reading)[1..],
            [
                "location:default/all",
                "component:default/one",
                "component:default/two"
            ]
        );
        assert!(reading.problems.is_empty(), "{:?}", reading.problems);
        assert_eq!(reading.entities[2].parent_ref, "location:default/all");
    }

    #[test]
    fn placeholders_read_files_beside_the_entity_but_never_outside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("cat")).unwrap();
        fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
        fs::write(dir.path().join("cat/openapi.yaml"), "openapi: 3.0.0\n").unwrap();
        let api = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: NAME\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: TARGET\n";
        let text = format!(
            "{}---\n{}",
            api.replace("NAME", "good")
                .replace("TARGET", "./openapi.yaml"),
            api.replace("NAME", "sneaky")
                .replace("TARGET", "../secret.txt")
        );
        fs::write(dir.path().join("cat/apis.yaml"), text).unwrap();
        let reading = read_location(
            LocationType::File,
            dir.path().join("cat/apis.yaml").to_str().unwrap(),
        );
        assert_eq!(names(&reading)[1..], ["api:default/good"]);
        assert_eq!(
            reading.entities[1].entity["spec"]["definition"],
            "openapi: 3.0.0\n"
        );
        assert_eq!(reading.problems.len(), 1);
        let problem = &reading.problems[0];
        assert!(
            problem.message.contains("outside the location's folder"),
            "{problem}"
        );
        assert_eq!(problem.position.unwrap().line, 21, "the placeholder's line");
        assert_eq!(problem.entity_ref.as_deref(), Some("api:default/sneaky"));
    }

    #[test]
    fn a_symlink_out_of_the_folder_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("cat")).unwrap();
        fs::write(dir.path().join("outside.yaml"), component("outside")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside.yaml"),
            dir.path().join("cat/link.yaml"),
        )
        .unwrap();
        let reading = read_location(
            LocationType::File,
            dir.path().join("cat/link.yaml").to_str().unwrap(),
        );
        assert_eq!(reading.entities.len(), 1, "only the generated location");
        assert_eq!(reading.unreadable.len(), 1);
    }

    #[test]
    fn malformed_yaml_names_the_line_and_keeps_nothing_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("c.yaml"),
            format!("{}  bad: [\n", component("x")),
        )
        .unwrap();
        let reading = read_location(
            LocationType::File,
            dir.path().join("c.yaml").to_str().unwrap(),
        );
        assert_eq!(reading.entities.len(), 1);
        assert_eq!(reading.problems.len(), 1);
        assert!(
            reading.problems[0].message.starts_with("YAML error"),
            "{:?}",
            reading.problems
        );
        assert!(reading.problems[0].position.is_some());
        assert!(!reading.unreadable.is_empty());
    }

    #[test]
    fn a_missing_file_is_unreadable_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let reading = read_location(
            LocationType::File,
            dir.path().join("nope.yaml").to_str().unwrap(),
        );
        assert_eq!(reading.unreadable.len(), 1);
        assert!(
            reading.problems[0].message.contains("cannot read"),
            "{:?}",
            reading.problems
        );
    }

    #[test]
    fn splits_globs_from_their_folder() {
        assert_eq!(
            split_glob(Path::new("/a/b/**/*.yaml")),
            (PathBuf::from("/a/b"), "**/*.yaml".into())
        );
        assert_eq!(
            split_glob(Path::new("/a/b/c.yaml")),
            (PathBuf::from("/a/b"), "c.yaml".into())
        );
    }
}
