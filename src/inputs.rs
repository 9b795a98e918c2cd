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

/// Expands directories (recursively, sorted) into `.yaml`, `.yml` and `.json` files.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                return Err(InputError::new(
                    p.display().to_string(),
                    "the directory holds no .yaml, .yml or .json file",
                ));
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            InputError::new(
                dir.display().to_string(),
                format!("cannot read directory: {e}"),
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
        {
            out.push(p);
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
