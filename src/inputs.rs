//! Input adapters: where untrusted bytes come in. Each adapter turns a file into
//! engine assets with resolved locations, or an `InputError` naming the place.

pub mod flow_log;
pub mod inventory;
pub mod source;
pub mod terraform_plan;

use crate::error::InputError;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What kind of file an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An inventory in YAML.
    InventoryYaml,
    /// An inventory in JSON.
    InventoryJson,
    /// `terraform show -json` output.
    TerraformPlan,
}

/// One input file, read and identified.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// The path as given.
    pub path: String,
    /// Detected format.
    pub format: Format,
    /// SHA-256 of the bytes, for the evidence record.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: usize,
    /// The text.
    #[serde(skip)]
    pub text: String,
}

/// Which files a directory walk takes (see [`expand_paths`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Inventories and plans: `.yaml`, `.yml` and `.json`.
    Inventories,
    /// Flow logs: `.log`, `.json`, `.jsonl`, `.ndjson`, `.csv`, `.tsv` and `.txt`,
    /// each also gzipped (`.log.gz`, as AWS delivers VPC Flow Logs to S3).
    FlowLogs,
}

impl Wanted {
    /// Whether a walk takes a file of this name.
    pub fn takes(self, name: &str) -> bool {
        let ext = |name: &str| name.rsplit_once('.').map(|(_, x)| x.to_ascii_lowercase());
        match self {
            Wanted::Inventories => {
                matches!(ext(name).as_deref(), Some("yaml" | "yml" | "json"))
            }
            Wanted::FlowLogs => {
                let lower = name.to_ascii_lowercase();
                let plain = lower.strip_suffix(".gz").unwrap_or(&lower);
                matches!(
                    ext(plain).as_deref(),
                    Some("log" | "json" | "jsonl" | "ndjson" | "csv" | "tsv" | "txt")
                )
            }
        }
    }

    /// The files it takes, for messages.
    fn names(self) -> &'static str {
        match self {
            Wanted::Inventories => ".yaml, .yml or .json file",
            Wanted::FlowLogs => {
                ".log, .json, .jsonl, .ndjson, .csv, .tsv or .txt file (gzipped or not)"
            }
        }
    }
}

/// Expands directories into the files a walk takes (`wanted`), recursively and in
/// name order; files are kept as given. Hidden entries (`.terraform`, `.git`, names
/// starting with a dot) are skipped, and so are links to directories, so that no
/// link loop makes the walk endless. A directory with no such file is an error: an
/// audit of nothing is not a pass.
pub fn expand_paths(paths: &[PathBuf], wanted: Wanted) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, wanted, &mut out)?;
            if out.len() == before {
                return Err(InputError::new(
                    p.display().to_string(),
                    format!("the directory holds no {}", wanted.names()),
                )
                .hint("hidden files and directories (names starting with a dot) are skipped"));
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, wanted: Wanted, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let cannot = |e: std::io::Error| {
        InputError::new(
            dir.display().to_string(),
            format!("cannot read directory: {e}"),
        )
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(cannot)?;
        let path = entry.path();
        // A link counts as what it names, unless that is a directory (only a link
        // costs a second look).
        let is_dir = kind.is_dir();
        let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
        if is_dir || (wanted.takes(&name) && is_file) {
            entries.push((path, is_dir));
        }
    }
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            walk(&path, wanted, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads a file and detects its format.
pub fn read_input(path: &Path) -> Result<InputFile, InputError> {
    let shown = path.display().to_string();
    // Plans can be close to 1 GB: look at the head first and leave plans to the
    // streaming reader (it fills in the hash and size).
    if let Some(size) = sniff_plan(path) {
        return Ok(InputFile {
            path: shown,
            format: Format::TerraformPlan,
            sha256: String::new(),
            bytes: size,
            text: String::new(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let msg = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => format!("cannot read: {e}"),
        };
        InputError::new(&shown, msg)
    })?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let size = bytes.len();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::new(&shown, "the file is empty").hint(
            "an inventory starts with `version: 1` and lists `assets:`; see fixtures/demo/webinar-platform.yaml",
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = crate::error::line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        InputError::new(&shown, "not UTF-8 text (a binary file?)")
            .at(Some(line), Some(col))
            .hint("expected an inventory in YAML or JSON, or `terraform show -json` output")
    })?;
    if text.contains('\0') {
        return Err(
            InputError::new(&shown, "not a text file (contains NUL bytes)")
                .hint("expected an inventory in YAML or JSON, or `terraform show -json` output"),
        );
    }
    let format = detect(path, &text);
    Ok(InputFile {
        path: shown,
        format,
        sha256,
        bytes: size,
        text,
    })
}

/// The file size, when the head of the file looks like `terraform show -json` output.
fn sniff_plan(path: &Path) -> Option<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let mut head = vec![0u8; 64 * 1024];
    let n = f.read(&mut head).ok()?;
    let head = String::from_utf8_lossy(head.get(..n)?);
    let t = head.trim_start();
    let looks = t.starts_with('{')
        && head.contains("\"format_version\"")
        && (head.contains("\"terraform_version\"")
            || head.contains("\"resource_changes\"")
            || head.contains("\"planned_values\""));
    looks.then(|| usize::try_from(size).unwrap_or(usize::MAX))
}

fn detect(path: &Path, text: &str) -> Format {
    let trimmed = text.trim_start();
    let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
    if trimmed.starts_with('{') || ext == "json" {
        let head = text.get(..text.len().min(4096)).unwrap_or(text);
        if head.contains("\"format_version\"")
            && (text.contains("\"resource_changes\"") || text.contains("\"planned_values\""))
        {
            return Format::TerraformPlan;
        }
        return Format::InventoryJson;
    }
    Format::InventoryYaml
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
