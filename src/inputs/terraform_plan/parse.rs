//! The streaming parser: a top-level map visitor that reduces each element of
//! `resource_changes` to a `PlanResource` as it goes, skips what the scan does not
//! need (`before`, `prior_state`, `planned_values` contents, ...) without building
//! trees, and keeps `variables` and `configuration` whole.

use super::replicas::{extract_copy_of, extract_replicas};
use super::{Action, LocationValue, PlanResource};
use crate::error::InputError;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// Everything the scan keeps from a plan.
#[derive(Debug, Default)]
pub struct PlanSummary {
    /// `format_version`.
    pub format_version: String,
    /// `terraform_version`.
    pub terraform_version: Option<String>,
    /// Compact resource records, in plan order.
    pub resources: Vec<PlanResource>,
    /// Root variable values.
    pub variables: HashMap<String, Value>,
    /// The configuration (providers, module calls, resource provider keys).
    pub configuration: Configuration,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The parts of `configuration` the scan uses.
#[derive(Debug, Default, Deserialize)]
pub struct Configuration {
    /// Provider configurations by key (`aws`, `aws.eu`, `module.x:aws`).
    #[serde(default)]
    pub provider_config: HashMap<String, ProviderConfig>,
    /// The root module.
    #[serde(default)]
    pub root_module: ConfigModule,
}

/// One provider configuration.
#[derive(Debug, Default, Deserialize)]
pub struct ProviderConfig {
    /// Provider name (`aws`).
    #[serde(default)]
    pub name: String,
    /// Alias, if any.
    #[serde(default)]
    pub alias: Option<String>,
    /// Module that declares it (`module.x`), if not the root.
    #[serde(default)]
    pub module_address: Option<String>,
    /// Its argument expressions.
    #[serde(default)]
    pub expressions: HashMap<String, Value>,
}

/// A module in the configuration.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigModule {
    /// Its resources.
    #[serde(default)]
    pub resources: Vec<ConfigResource>,
    /// Its module calls.
    #[serde(default)]
    pub module_calls: HashMap<String, ModuleCall>,
}

/// A resource block in the configuration.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigResource {
    /// Address relative to its module.
    pub address: String,
    /// The provider configuration it uses (already resolved to the declaring module's key).
    #[serde(default)]
    pub provider_config_key: Option<String>,
    /// The argument names set in configuration (values are not kept).
    #[serde(default, deserialize_with = "keys_only")]
    pub expressions: BTreeSet<String>,
}

/// A module call.
#[derive(Debug, Default, Deserialize)]
pub struct ModuleCall {
    /// Module source (`./modules/db`, a registry address, ...).
    #[serde(default)]
    pub source: Option<String>,
    /// Arguments passed to the module.
    #[serde(default)]
    pub expressions: HashMap<String, Value>,
    /// The called module.
    #[serde(default)]
    pub module: ConfigModule,
}

fn keys_only<'de, D: de::Deserializer<'de>>(d: D) -> Result<BTreeSet<String>, D::Error> {
    let map: HashMap<String, IgnoredAny> = HashMap::deserialize(d)?;
    Ok(map.into_keys().collect())
}

#[derive(Deserialize)]
struct RawChange {
    address: String,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    provider_name: String,
    change: RawBody,
}

#[derive(Deserialize)]
struct RawBody {
    actions: Vec<String>,
    #[serde(default)]
    after: Option<Value>,
    #[serde(default)]
    after_unknown: Option<Value>,
}

#[derive(Deserialize)]
struct RawVariable {
    #[serde(default)]
    value: Value,
}

/// `planned_values`, checked but not kept: counts resources and finds entries without `values`.
#[derive(Deserialize, Default)]
struct PlannedValues {
    #[serde(default)]
    root_module: Option<PlannedModule>,
}

#[derive(Deserialize, Default)]
struct PlannedModule {
    #[serde(default)]
    resources: Vec<PlannedResource>,
    #[serde(default)]
    child_modules: Vec<PlannedModule>,
}

#[derive(Deserialize)]
struct PlannedResource {
    #[serde(default)]
    address: String,
    #[serde(default)]
    values: Option<IgnoredAny>,
}

impl PlannedModule {
    fn walk<'a>(&'a self, out: &mut Vec<&'a PlannedResource>) {
        out.extend(self.resources.iter());
        for m in &self.child_modules {
            m.walk(out);
        }
    }
}

/// A reader that hashes what passes through it (state shared so the parser can own the reader).
struct Hashing<R> {
    inner: R,
    state: Rc<RefCell<(Sha256, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        let mut st = self.state.borrow_mut();
        st.0.update(got);
        st.1 += n as u64;
        Ok(n)
    }
}

#[derive(Default)]
struct State {
    format_version: Option<String>,
    terraform_version: Option<String>,
    errored: bool,
    complete: Option<bool>,
    variables: HashMap<String, Value>,
    resources: Vec<PlanResource>,
    saw_changes: bool,
    planned: Option<PlannedValues>,
    configuration: Option<Configuration>,
}

struct PlanVisitor<'a>(&'a mut State);

impl<'de> Visitor<'de> for PlanVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `terraform show -json` plan object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format_version" => {
                    let v: String = map.next_value()?;
                    let major = v.split('.').next().unwrap_or("");
                    if !matches!(major, "0" | "1") {
                        return Err(de::Error::custom(format!(
                            "unsupported plan format_version `{v}`: this build reads 0.x and 1.x"
                        )));
                    }
                    st.format_version = Some(v);
                }
                "terraform_version" => st.terraform_version = map.next_value()?,
                "errored" => st.errored = map.next_value()?,
                "complete" => st.complete = map.next_value()?,
                "variables" => {
                    let vars: HashMap<String, RawVariable> = map.next_value()?;
                    st.variables = vars.into_iter().map(|(k, v)| (k, v.value)).collect();
                }
                "resource_changes" => {
                    st.saw_changes = true;
                    map.next_value_seed(ChangesSeed(&mut st.resources))?;
                }
                "planned_values" => st.planned = Some(map.next_value()?),
                "configuration" => st.configuration = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ChangesSeed<'a>(&'a mut Vec<PlanResource>);

impl<'de> DeserializeSeed<'de> for ChangesSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChangesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of resource changes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<RawChange>()? {
            self.0.push(compact(raw));
        }
        Ok(())
    }
}

/// Strips instance keys: `module.a["x"].aws_s3_bucket.b[0]` -> `module.a.aws_s3_bucket.b`.
pub fn strip_instance_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut in_string = false;
    let mut prev = '\0';
    for ch in address.chars() {
        match ch {
            '"' if depth > 0 && prev != '\\' => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string && depth > 0 => {
                depth -= 1;
                prev = ch;
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            out.push(ch);
        }
        prev = ch;
    }
    out
}

/// Location attributes per provider prefix, in priority order.
fn location_attrs(rtype: &str) -> &'static [&'static str] {
    let prefix = rtype.split('_').next().unwrap_or("");
    match prefix {
        "aws" => &["region", "availability_zone"],
        "azurerm" => &["location"],
        "google" => &["location", "region", "zone"],
        "hcloud" => &["location", "datacenter", "home_location", "network_zone"],
        "ovh" => &["region", "region_name"],
        "openstack" => &["region"],
        "scaleway" => &["region", "zone"],
        "digitalocean" => &["region"],
        "oci" => &["region", "availability_domain"],
        "ionoscloud" => &["location"],
        "upcloud" | "exoscale" => &["zone"],
        _ => &["region", "location", "zone", "availability_zone"],
    }
}

/// Nested blocks whose location attributes count (`nodes[].region`, `cluster[].zone`, ...).
const NESTED_BLOCKS: [&str; 6] = [
    "nodes",
    "cluster",
    "node_pool",
    "placement",
    "replica_configuration",
    "node_config",
];

/// List-valued location attributes (every value is a location).
const LIST_ATTRS: [&str; 4] = ["node_locations", "availability_zones", "locations", "zones"];

fn string_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn is_unknown(after_unknown: Option<&Value>, key: &str) -> bool {
    after_unknown
        .and_then(|u| u.get(key))
        .is_some_and(|v| v == &Value::Bool(true))
}

fn compact(raw: RawChange) -> PlanResource {
    let RawChange {
        address,
        module_address,
        mode,
        rtype,
        provider_name,
        change,
    } = raw;
    let action = Action::from_actions(&change.actions);
    let after = change.after.unwrap_or(Value::Null);
    let unknown = change.after_unknown;
    let mut locations = Vec::new();
    let mut unknown_location = None;
    for attr in location_attrs(&rtype) {
        if let Some(v) = string_at(&after, attr) {
            locations.push(LocationValue {
                path: (*attr).to_string(),
                value: v.to_string(),
            });
        } else if is_unknown(unknown.as_ref(), attr) && unknown_location.is_none() {
            unknown_location = Some((*attr).to_string());
        }
    }
    // Spanner and similar: `config = "regional-europe-west1"`.
    if let Some(cfg) = string_at(&after, "config").filter(|_| rtype == "google_spanner_instance") {
        let region = cfg.strip_prefix("regional-").unwrap_or(cfg);
        locations.push(LocationValue {
            path: "config".into(),
            value: region.to_string(),
        });
    }
    for block in NESTED_BLOCKS {
        if let Some(items) = after.get(block).and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                for attr in ["region", "zone", "location"] {
                    if let Some(v) = string_at(item, attr) {
                        locations.push(LocationValue {
                            path: format!("{block}[{i}].{attr}"),
                            value: v.to_string(),
                        });
                    }
                }
            }
        }
    }
    for attr in LIST_ATTRS {
        if let Some(items) = after.get(attr).and_then(Value::as_array) {
            for (i, v) in items.iter().enumerate() {
                if let Some(s) = v.as_str() {
                    locations.push(LocationValue {
                        path: format!("{attr}[{i}]"),
                        value: s.to_string(),
                    });
                }
            }
        }
    }
    if rtype == "google_storage_bucket" {
        let data_locations = after
            .get("custom_placement_config")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|c| c.get("data_locations"))
            .and_then(Value::as_array);
        if let Some(list) = data_locations {
            locations.retain(|l| l.path != "location");
            for (i, v) in list.iter().enumerate() {
                if let Some(s) = v.as_str() {
                    locations.push(LocationValue {
                        path: format!("custom_placement_config[0].data_locations[{i}]"),
                        value: s.to_string(),
                    });
                }
            }
        }
    }
    let (classification, categories) = classification(&after);
    let bucket_name = match rtype.as_str() {
        "aws_s3_bucket" | "google_storage_bucket" | "scaleway_object_bucket" => {
            string_at(&after, "bucket")
                .or_else(|| string_at(&after, "name"))
                .map(str::to_string)
        }
        _ => None,
    };
    let source_bucket = (rtype == "aws_s3_bucket_replication_configuration")
        .then(|| string_at(&after, "bucket").map(str::to_string))
        .flatten();
    let replicas = extract_replicas(&rtype, &after, locations.first().map(|l| l.value.as_str()));
    let copy_of = extract_copy_of(&rtype, &after);
    PlanResource {
        config_address: strip_instance_keys(&address),
        module_address: module_address.unwrap_or_default(),
        address,
        rtype,
        mode,
        provider_name,
        action,
        locations,
        unknown_location,
        classification,
        categories,
        bucket_name,
        source_bucket,
        replicas,
        copy_of,
    }
}

/// The `data_classification` and `data_categories` tags or labels.
fn classification(after: &Value) -> (Option<String>, Option<Vec<String>>) {
    let mut class = None;
    let mut cats = None;
    for field in ["tags_all", "tags", "labels", "effective_labels"] {
        let Some(map) = after.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (k, v) in map {
            let key = k.to_ascii_lowercase().replace(['-', '.'], "_");
            let Some(val) = v.as_str() else { continue };
            if key == "data_classification" && class.is_none() {
                class = Some(val.trim().to_ascii_lowercase());
            }
            if key == "data_categories" && cats.is_none() {
                cats = Some(
                    val.split([',', ' ', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
            }
        }
    }
    // Hetzner and Scaleway also use list-style tags: ["data_classification=none"].
    if class.is_none() {
        if let Some(list) = after.get("tags").and_then(Value::as_array) {
            for t in list.iter().filter_map(Value::as_str) {
                if let Some((k, v)) = t.split_once(['=', ':']) {
                    if k.trim().eq_ignore_ascii_case("data_classification") {
                        class = Some(v.trim().to_ascii_lowercase());
                    }
                }
            }
        }
    }
    (class, cats)
}

fn json_error(file: &str, e: &serde_json::Error) -> InputError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    let mut err = InputError::new(file, msg).at(Some(e.line()), Some(e.column()));
    if e.is_eof() {
        err = err.hint("the plan ends early: was it truncated? Re-run `terraform show -json plan.out > plan.json`");
    }
    err
}

/// Parses a plan file as a stream.
pub fn parse_plan(path: &Path) -> Result<PlanSummary, InputError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
    // The buffer sits outside the hashing layer and is owned by the parser: serde_json
    // reads byte by byte through std's inlined `BufReader` fast path, and the hash
    // sees the file in large blocks.
    let hashed = Rc::new(RefCell::new((Sha256::new(), 0u64)));
    let reader = BufReader::with_capacity(
        256 * 1024,
        Hashing {
            inner: file,
            state: Rc::clone(&hashed),
        },
    );
    let mut st = State::default();
    {
        let mut de = serde_json::Deserializer::from_reader(reader);
        de::Deserializer::deserialize_map(&mut de, PlanVisitor(&mut st))
            .map_err(|e| json_error(&shown, &e))?;
        de.end().map_err(|e| json_error(&shown, &e))?;
    }
    let Some(format_version) = st.format_version else {
        return Err(InputError::new(&shown, "no `format_version`: not `terraform show -json` output")
            .hint("produce it with `terraform plan -out=plan.out && terraform show -json plan.out > plan.json`"));
    };
    if st.errored {
        return Err(InputError::new(
            &shown,
            "the plan is marked `errored`: terraform plan failed, so it cannot be checked",
        )
        .field("errored")
        .hint("fix the errors `terraform plan` reported, then scan the new plan"));
    }
    let planned: Vec<&PlannedResource> = {
        let mut v = Vec::new();
        if let Some(root) = st.planned.as_ref().and_then(|p| p.root_module.as_ref()) {
            root.walk(&mut v);
        }
        v
    };
    if let Some(bad) = planned.iter().find(|r| r.values.is_none()) {
        return Err(InputError::new(
            &shown,
            format!("planned resource `{}` has no `values`", bad.address),
        )
        .field("planned_values")
        .hint("the file is not complete `terraform show -json` output"));
    }
    if !st.saw_changes && !planned.is_empty() {
        return Err(InputError::new(
            &shown,
            format!(
                "the plan lists {} planned resources but no `resource_changes`",
                planned.len()
            ),
        )
        .field("resource_changes")
        .hint("produce the plan with `terraform show -json plan.out`, not from a state file"));
    }
    let _ = st.complete;
    let (bytes, sha256) = {
        let h = hashed.borrow();
        (h.1, crate::inputs::hex(&h.0.clone().finalize()))
    };
    Ok(PlanSummary {
        format_version,
        terraform_version: st.terraform_version,
        resources: st.resources,
        variables: st.variables,
        configuration: st.configuration.unwrap_or_default(),
        bytes,
        sha256,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn instance_keys() {
        assert_eq!(strip_instance_keys("aws_s3_bucket.b[0]"), "aws_s3_bucket.b");
        assert_eq!(
            strip_instance_keys("module.a[\"x]y\"].aws_s3_bucket.b[\"k\"]"),
            "module.a.aws_s3_bucket.b"
        );
        assert_eq!(
            strip_instance_keys("module.a.module.b[2].google_storage_bucket.c"),
            "module.a.module.b.google_storage_bucket.c"
        );
    }

    #[test]
    fn actions() {
        let a =
            |v: &[&str]| Action::from_actions(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&["create"]), Action::Create);
        assert_eq!(a(&["delete", "create"]), Action::Replace);
        assert_eq!(a(&["create", "delete"]), Action::Replace);
        assert_eq!(a(&["delete"]), Action::Delete);
        assert_eq!(a(&["update"]), Action::Update);
        assert_eq!(a(&["no-op"]), Action::NoOp);
        assert_eq!(a(&["read"]), Action::Read);
    }
}
