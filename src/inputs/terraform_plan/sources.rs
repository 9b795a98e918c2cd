//! `--tf-root`: the `.tf` file and line of each resource block, following local
//! module sources (`./modules/x`), so annotations land on the code under review.

use super::parse::{ConfigModule, PlanSummary};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `type.name` -> (file, 1-based line) for the `.tf` files directly in `dir`.
fn index_dir(dir: &Path) -> HashMap<String, (PathBuf, usize)> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let Some(rest) = t.strip_prefix("resource") else {
                continue;
            };
            let parts: Vec<&str> = rest.split('"').collect();
            if let (Some(rtype), Some(name)) = (parts.get(1), parts.get(3)) {
                out.entry(format!("{rtype}.{name}"))
                    .or_insert((file.clone(), n + 1));
            }
        }
    }
    out
}

fn walk(
    module: &ConfigModule,
    dir: &Path,
    prefix: &str,
    out: &mut HashMap<String, (PathBuf, usize)>,
) {
    let blocks = index_dir(dir);
    for r in &module.resources {
        if let Some(place) = blocks.get(&r.address) {
            out.insert(format!("{prefix}{}", r.address), place.clone());
        }
    }
    for (name, call) in &module.module_calls {
        let Some(source) = call.source.as_deref() else {
            continue;
        };
        if source.starts_with("./") || source.starts_with("../") {
            walk(
                &call.module,
                &dir.join(source),
                &format!("{prefix}module.{name}."),
                out,
            );
        }
    }
}

/// Config address (`module.a.aws_s3_bucket.b`) -> the `.tf` file and line of its block.
pub fn source_places(plan: &PlanSummary, root: &Path) -> HashMap<String, (PathBuf, usize)> {
    let mut out = HashMap::new();
    walk(&plan.configuration.root_module, root, "", &mut out);
    out
}
