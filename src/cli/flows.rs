//! `residency flows`: where data actually went, from flow logs.

use super::common::{open_geodb, parse_as_of, today};
use super::output::Output;
use super::ExitStatus;
use crate::engine::egress::{lowest, network_key, network_text, EgressAddress, TopNetwork};
use crate::engine::LegalKnowledge;
use crate::engine::{evaluate_egress, Class};
use crate::geo::ranges::{CloudRanges, RangesFirst};
use crate::geo::{classify_memo, GeoAnswer, METADATA_ADDRESS};
use crate::inputs::flow_log::generic::ColumnMap;
use crate::inputs::flow_log::{read_log, Destination, DestinationRanges, FlowFormat, FlowTally};
use crate::inputs::{expand_paths, Wanted};
use crate::knowledge::countries::country_name;
use crate::knowledge::regions::Catalogue;
use crate::knowledge::Knowledge;
use crate::report::flows::{self, CountryTraffic, FlowReport, FlowSummary, InputMeta, NetworkPort};
use clap::{Args, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use time::Date;

const FLOWS_HELP: &str = "\
Examples:
  residency flows vpc-flow-logs/2026/11/*.log.gz
  residency flows AWSLogs/123456789012/vpcflowlogs/eu-central-1/2026/11/
  residency flows conn.log --format table
  zcat flows.log.gz | residency flows - --input-format vpc

Every accepted flow is classed by its destination: internal (private, loopback, link-local, CGNAT,
ULA, documentation; the cloud metadata address is counted apart), eea, adequate, conditional (US,
CA: adequacy only for certified recipients), third_country, or unknown (no geodb record).
Rejected, NODATA and SKIPDATA records carry no transfer and are counted apart. Bad lines are
counted and the first ones reported with their line numbers (a line over 1 MiB is a bad line,
and the rest of it is not read); --strict makes any bad line an error.";

/// Arguments of `flows`.
#[derive(Debug, Args)]
#[command(after_help = FLOWS_HELP)]
pub struct FlowsArgs {
    /// Flow logs (`-` for standard input), or directories of them (walked in name order
    /// for `.log`, `.json`, `.jsonl`, `.ndjson`, `.csv`, `.tsv` and `.txt` files; hidden
    /// ones skipped); gzip-compressed files are read transparently.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Force the input format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<FlowFormat>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FlowsFormat::Table)]
    pub format: FlowsFormat,
    /// IP-to-country database (default: the one `geodb update` installed, else the embedded one).
    #[arg(long, value_name = "FILE", env = "RESIDENCY_GEODB")]
    pub geodb: Option<PathBuf>,
    /// Imported cloud ranges (default: the file `ranges import` wrote, if any).
    #[arg(long, value_name = "FILE")]
    pub ranges: Option<PathBuf>,
    /// Replacement adequacy list (JSON).
    #[arg(long, value_name = "FILE")]
    pub adequacy: Option<PathBuf>,
    /// Class destinations as of this date. Default: today (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub as_of: Option<Date>,
    /// For JSON lines and CSV: which columns hold the flow fields, e.g.
    /// `dst=dest_ip,port=dport,bytes=sent_bytes,src=src_ip,start=ts,action=verdict`
    /// (default: common names such as `dst`, `dst_ip`, `dstaddr`, `bytes`, `bytes_out`).
    #[arg(long, value_name = "FIELD=COLUMN,...")]
    pub columns: Option<String>,
    /// Any bad line is an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Policy: a preset (gdpr, eea-only, sovereign) or a TOML file (`[egress] allowed_cidrs`,
    /// `[[approved_recipient]]`).
    #[arg(long, short = 'p', default_value = crate::policies::DEFAULT, value_name = "NAME|FILE")]
    pub policy: String,
    /// Lowest unwaived severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = super::scan::FailOn::Error)]
    pub fail_on: super::scan::FailOn,
    /// Write the report to FILE instead of stdout. FILE's directory is checked before
    /// any input is read; an existing FILE is replaced only once the new report is
    /// complete, so a run that fails leaves it as it was.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to record the run.
    #[command(flatten)]
    pub record: super::audit::RecordArgs,
}

/// Output formats of `flows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowsFormat {
    /// A table per destination country.
    Table,
    /// JSON (summary, findings, destinations, malformed lines).
    Json,
    /// CSV: one row per destination country, network and port.
    Csv,
    /// Markdown: verdict, traffic per country, findings.
    Markdown,
}

/// The per-address view the engine judges, in address order, and the traffic
/// summed per class and country. Each range of destinations is made, placed and
/// summed on a thread of its own, and its destinations are never listed: a month
/// of flow logs reaches tens of thousands of them.
pub fn place_ranges(
    ranges: &DestinationRanges,
    geo: &(dyn crate::geo::GeoLookup + Sync),
    geo_label: &str,
    legal: &LegalKnowledge,
    as_of: Date,
) -> anyhow::Result<(Vec<EgressAddress>, CountrySums)> {
    let source = format!("geodb {geo_label}");
    // A text per thread: one shared by all would have its count written by both
    // cores at every address.
    let range = |k: usize| -> anyhow::Result<(Vec<EgressAddress>, CountrySums)> {
        let source: std::sync::Arc<str> = source.as_str().into();
        let mut memo = crate::geo::GeoMemo::default();
        // Room for all the ranges' addresses in the first one's list, which the
        // others are added to: memory that is not written is not touched.
        let room = match k {
            0 => (0..ranges.len()).map(|k| ranges.room(k)).sum(),
            _ => ranges.room(k),
        };
        let mut placed = Vec::with_capacity(room);
        let mut sums = CountrySums::default();
        ranges.each(k, |ip, d| -> anyhow::Result<()> {
            let a = place(ip, d, geo, &source, &mut memo)?;
            sums.add(ip, d, &a, legal, as_of);
            placed.push(a);
            Ok(())
        })?;
        Ok((placed, sums))
    };
    // The first range on this thread, the others on threads of their own.
    let (first, others) = std::thread::scope(|scope| {
        let others: Vec<_> = (1..ranges.len())
            .map(|k| scope.spawn(move || range(k)))
            .collect();
        let first = range(0);
        let others: Vec<_> = others.into_iter().map(|h| h.join()).collect();
        (first, others)
    });
    let (mut addresses, mut sums) = first?;
    for other in others {
        let (placed, more) = other.map_err(|_| anyhow::anyhow!("placing addresses failed"))??;
        addresses.extend(placed);
        sums.merge(more);
    }
    Ok((addresses, sums))
}

/// Places one destination address.
fn place(
    ip: IpAddr,
    d: &Destination,
    geo: &dyn crate::geo::GeoLookup,
    source: &std::sync::Arc<str>,
    memo: &mut crate::geo::GeoMemo,
) -> anyhow::Result<EgressAddress> {
    let (country, internal) = match classify_memo(geo, ip, memo)? {
        GeoAnswer::Internal(_) => (None, true),
        GeoAnswer::Country(c) => (Some(c), false),
        GeoAnswer::NotFound => (None, false),
    };
    let top = d
        .ports
        .iter()
        .max_by(|a, b| a.1.bytes.cmp(&b.1.bytes).then_with(|| b.0.cmp(&a.0)))
        .map(|(port, _)| TopNetwork::of(ip, *port));
    Ok(EgressAddress {
        ip,
        country,
        internal,
        flows: d.flows,
        bytes: d.bytes,
        first_seen: d.first_seen,
        last_seen: d.last_seen,
        sample_source: d.sample_source,
        top,
        source: source.clone(),
    })
}

/// A country's traffic per network and port, and its top rows: built from
/// destinations in address order, so each network's rows are the last ones (from
/// `open`) while it is seen, and final once the next network starts. Only rows
/// that may still be among the best are kept: once `keep` rows are known, a
/// closed row with no more bytes than the worst of them is dropped (a later
/// network loses a tie on bytes), and when rows pile up the best are picked again.
struct NetworkRows {
    /// (network, port, flows, bytes).
    rows: Vec<(IpAddr, u16, u64, u64)>,
    /// The network being added to, and where its rows start.
    open: Option<(IpAddr, usize)>,
    /// Rows made, kept or not.
    total: usize,
    /// How many rows [`NetworkRows::top`] gives.
    keep: usize,
    /// The bytes of the worst of the best `keep` rows so far, once there are as many.
    bar: Option<u64>,
}

/// Rows by bytes, most first; ties by network and port.
fn row_order(a: &(IpAddr, u16, u64, u64), b: &(IpAddr, u16, u64, u64)) -> std::cmp::Ordering {
    b.3.cmp(&a.3).then_with(|| (a.0, a.1).cmp(&(b.0, b.1)))
}

impl NetworkRows {
    fn new(keep: usize) -> Self {
        NetworkRows {
            rows: Vec::new(),
            open: None,
            total: 0,
            keep,
            bar: None,
        }
    }

    fn add(&mut self, net: IpAddr, ports: &[(u16, crate::inputs::flow_log::PortCount)]) {
        let start = match self.open {
            Some((open, start)) if open == net => start,
            _ => {
                // Every row is final: the last network's that cannot make the
                // top go, and when too many are left, only the best stay.
                if let (Some(bar), Some((_, start))) = (self.bar, self.open) {
                    let mut k = start;
                    while k < self.rows.len() {
                        if self.rows.get(k).is_some_and(|r| r.3 <= bar) {
                            self.rows.swap_remove(k);
                        } else {
                            k += 1;
                        }
                    }
                }
                if self.rows.len() >= 4 * self.keep.max(16) {
                    self.best();
                    self.bar = self
                        .keep
                        .checked_sub(1)
                        .and_then(|i| self.rows.get(i))
                        .map(|r| r.3);
                }
                self.open = Some((net, self.rows.len()));
                self.rows.len()
            }
        };
        for (port, pc) in ports {
            let open = self.rows.get_mut(start..).unwrap_or_default();
            match open.iter_mut().find(|r| r.1 == *port) {
                Some(r) => {
                    r.2 += pc.flows;
                    r.3 += pc.bytes;
                }
                None => {
                    self.rows.push((net, *port, pc.flows, pc.bytes));
                    self.total += 1;
                }
            }
        }
    }

    /// Adds the rows of networks after these ones (none of them seen here).
    fn merge(&mut self, other: NetworkRows) {
        let before = self.rows.len();
        self.rows.extend(other.rows);
        self.total += other.total;
        self.open = other.open.map(|(net, start)| (net, before + start));
        // Each side has `keep` rows at or above its bar, if it has one.
        self.bar = self.bar.max(other.bar);
    }

    /// Keeps the `keep` best rows (all rows must be final), the worst of them
    /// last, the others in no order.
    fn best(&mut self) {
        let n = self.keep;
        if self.rows.len() > n && n > 0 {
            self.rows.select_nth_unstable_by(n - 1, row_order);
        }
        self.rows.truncate(n);
    }

    /// The `keep` rows with the most bytes (ties by network and port), and how
    /// many rows there are in all.
    fn top(mut self) -> (Vec<NetworkPort>, usize) {
        self.best();
        self.rows.sort_unstable_by(row_order);
        let top = self
            .rows
            .into_iter()
            .map(|(net, port, flows, bytes)| NetworkPort {
                network: network_text(net),
                port,
                flows,
                bytes,
            })
            .collect();
        (top, self.total)
    }
}

/// Networks kept per country in reports (by bytes); the rest are counted.
pub const TOP_NETWORKS: usize = 100;

/// What a country's traffic is keyed by: a small copyable key; names and
/// strings are made once per country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Internal,
    Unknown,
    Country(crate::engine::Country),
}

/// Traffic summed per class and per country over some destinations (a range of
/// them, or all).
#[derive(Default)]
pub struct CountrySums {
    classes: crate::report::flows::Classes,
    metadata_flows: u64,
    by_key: rustc_hash::FxHashMap<Key, (CountryTraffic, NetworkRows)>,
}

impl CountrySums {
    /// Adds a destination and its placed address.
    fn add(
        &mut self,
        ip: IpAddr,
        d: &Destination,
        a: &EgressAddress,
        legal: &LegalKnowledge,
        as_of: Date,
    ) {
        let key = match (a.internal, a.country) {
            (true, _) => {
                if ip == IpAddr::V4(METADATA_ADDRESS) {
                    self.metadata_flows += d.flows;
                }
                Key::Internal
            }
            (false, Some(c)) => Key::Country(c),
            (false, None) => Key::Unknown,
        };
        let (e, n) = self.by_key.entry(key).or_insert_with(|| {
            let (country, name, class) = match key {
                Key::Internal => ("internal".into(), "internal ranges".into(), Class::Internal),
                Key::Unknown => ("unknown".into(), "no geodb record".into(), Class::Unknown),
                Key::Country(c) => (c.to_string(), country_name(c), legal.class(c, as_of)),
            };
            let traffic = CountryTraffic {
                country,
                name,
                class,
                flows: 0,
                bytes: 0,
                addresses: 0,
                first_seen: None,
                last_seen: None,
                sample_source: None,
                networks: Vec::new(),
                networks_total: 0,
            };
            (traffic, NetworkRows::new(TOP_NETWORKS))
        });
        *self.classes.of(e.class) += d.flows;
        e.flows += d.flows;
        e.bytes += d.bytes;
        e.addresses += 1;
        e.first_seen = lowest(e.first_seen, d.first_seen);
        e.last_seen = e.last_seen.max(d.last_seen);
        e.sample_source = lowest(e.sample_source, d.sample_source);
        n.add(network_key(ip), &d.ports);
    }

    /// Adds the sums of destinations after these (a later range: no network has
    /// addresses in both).
    fn merge(&mut self, other: CountrySums) {
        self.classes.add(&other.classes);
        self.metadata_flows += other.metadata_flows;
        for (key, (c, n)) in other.by_key {
            match self.by_key.get_mut(&key) {
                Some((e, rows)) => {
                    e.flows += c.flows;
                    e.bytes += c.bytes;
                    e.addresses += c.addresses;
                    e.first_seen = lowest(e.first_seen, c.first_seen);
                    e.last_seen = e.last_seen.max(c.last_seen);
                    e.sample_source = lowest(e.sample_source, c.sample_source);
                    rows.merge(n);
                }
                None => {
                    self.by_key.insert(key, (c, n));
                }
            }
        }
    }

    /// The summary (with the tally's counts) and the per-country traffic, most
    /// bytes first.
    pub fn finish(self, tally: &FlowTally) -> (FlowSummary, Vec<CountryTraffic>) {
        let mut s = FlowSummary {
            records: tally.records,
            rejected: tally.rejected,
            skipped: tally.skipped,
            malformed: tally.malformed,
            classes: self.classes,
            metadata_flows: self.metadata_flows,
            ..FlowSummary::default()
        };
        let mut out = Vec::with_capacity(self.by_key.len());
        for (mut c, n) in self.by_key.into_values() {
            if c.class != Class::Internal {
                s.flows_by_country.insert(c.country.clone(), c.flows);
                s.bytes_by_country.insert(c.country.clone(), c.bytes);
            }
            (c.networks, c.networks_total) = n.top();
            out.push(c);
        }
        out.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| a.country.cmp(&b.country))
        });
        (s, out)
    }
}

/// Runs `flows`.
pub fn run(args: FlowsArgs) -> anyhow::Result<ExitStatus> {
    let (legal, _) = Knowledge::load_legal(args.adequacy.as_deref())?;
    let geodb_file = open_geodb(args.geodb.as_deref())?;
    let ranges_file = super::ranges::load(args.ranges.as_deref())?;
    // The provider catalogue places imported cloud ranges: with none, it is
    // not read.
    let catalogue = if ranges_file.ranges.is_empty() {
        Catalogue::default()
    } else {
        Catalogue::embedded()?
    };
    let ranges = CloudRanges::new(&ranges_file.ranges, &catalogue);
    let geo = RangesFirst {
        ranges: &ranges,
        geo: &geodb_file,
    };
    let as_of = args.as_of.unwrap_or_else(today);
    // The policy before the logs: a month of them takes minutes to read, and a
    // mistyped policy should not wait for that.
    let policy = crate::policies::load(&args.policy)?;
    // Open the store first: a store that cannot be written fails the run before any output.
    let mut store = args.record.open()?;
    // And the report's file: a path that cannot be written fails before the logs are read.
    let output = Output::open(args.output.as_deref())?;
    let mut tally = FlowTally::default();
    let mut inputs = Vec::new();
    let columns = match &args.columns {
        Some(spec) => ColumnMap::parse(spec).map_err(|e| {
            anyhow::anyhow!(
                "--columns: {e}\n  hint: fields are {}",
                crate::inputs::flow_log::generic::FIELDS.join(", ")
            )
        })?,
        None => ColumnMap::default(),
    };
    let paths = expand_paths(&args.paths, Wanted::FlowLogs)?;
    for p in &paths {
        // The audit record names each log by its digest.
        let digest = store.is_some();
        let read = read_log(
            p,
            args.input_format,
            &columns,
            args.strict,
            digest,
            &mut tally,
        )?;
        inputs.push(InputMeta {
            path: p.display().to_string(),
            format: read.format,
            sha256: read.sha256,
        });
    }
    let info = geodb_file.info();
    let geodb = format!("{} ({})", info.path, info.build_date);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = tally.take_ranges(cores);
    let (mut addresses, sums) = place_ranges(&parts, &geo, &geodb, &legal, as_of)?;
    let (summary, destinations) = sums.finish(&tally);
    for a in &mut addresses {
        if let Some((provider, region, _)) = ranges.lookup(a.ip) {
            let source = ranges_file
                .sources
                .get(provider)
                .map(String::as_str)
                .unwrap_or("imported ranges");
            a.source = format!("{provider} {region} ({source})").into();
        }
    }
    let mut findings = evaluate_egress(&addresses, &policy.policy, &legal, as_of);
    findings
        .sort_by(|a, b| (a.severity, a.rule, &a.subject).cmp(&(b.severity, b.rule, &b.subject)));
    let worst = findings
        .iter()
        .filter(|f| f.waived.is_none())
        .map(|f| f.severity)
        .min();
    let fails = args.fail_on.fails_at(worst);
    let report = FlowReport {
        as_of,
        policy_name: &policy.policy.name,
        policy_hash: &policy.hash,
        adequacy_list_date: &legal.list_date,
        geodb: &geodb,
        inputs,
        summary,
        findings: &findings,
        destinations,
        malformed_lines: &tally.bad_lines,
    };
    if let Some(store) = &mut store {
        super::audit::record_flows(store, &report, &policy)?;
    }
    output.write(|out| {
        match args.format {
            FlowsFormat::Json => flows::json::write(&report, out)?,
            FlowsFormat::Csv => flows::csv::write(&report, out)?,
            FlowsFormat::Markdown => flows::markdown::write(&report, out)?,
            FlowsFormat::Table => flows::table::write(&report, out)?,
        }
        Ok(())
    })?;
    Ok(if fails {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::inputs::flow_log::PortCount;
    use std::collections::BTreeMap;

    /// A test geodb: an IPv4 address is in DE, US or FR by its second octet, and
    /// in none when its third octet is 7.
    struct ByOctet;

    impl crate::geo::GeoLookup for ByOctet {
        fn country(
            &self,
            ip: IpAddr,
        ) -> Result<Option<crate::engine::Country>, crate::geo::GeoError> {
            let IpAddr::V4(v4) = ip else { return Ok(None) };
            let code = ["DE", "US", "FR"][usize::from(v4.octets()[1] % 3)];
            Ok((v4.octets()[2] != 7)
                .then(|| crate::engine::Country::new(code))
                .flatten())
        }
    }

    /// A tally of `n` destinations, two or three in each /24 network, each reached
    /// on port 443 and on another port with more bytes, read from VPC lines.
    fn tally_of(n: u32) -> FlowTally {
        let mut data = String::new();
        for k in 0..n {
            let ip = std::net::Ipv4Addr::from(0x0B00_0000 + k * 97);
            let source = k % 200 + 1;
            data.push_str(&format!(
                "2 1 eni-1 10.0.0.{source} {ip} 1 443 6 1 1 1700000000 1700000060 ACCEPT OK\n"
            ));
            for _ in 0..1 + k % 3 {
                data.push_str(&format!(
                    "2 1 eni-1 10.0.1.1 {ip} 1 {} 6 1 {} 1700000100 1700000160 ACCEPT OK\n",
                    k % 1000,
                    2 + k % 17
                ));
            }
        }
        let mut tally = FlowTally::default();
        crate::inputs::flow_log::read_lines(
            FlowFormat::Vpc,
            &ColumnMap::default(),
            data.as_bytes(),
            &mut tally,
        )
        .unwrap();
        tally
    }

    fn as_of() -> Date {
        Date::from_calendar_date(2026, time::Month::January, 1).unwrap()
    }

    /// Addresses placed range by range, on one thread or several, come back one
    /// per destination, in address order, each with its own country, flows and
    /// top port.
    #[test]
    fn addresses_are_placed_in_order_on_every_thread() {
        let one = tally_of(9_000).take_destinations();
        assert_eq!(one.len(), 9_000);
        let legal = LegalKnowledge::default();
        for n in [1, 2, 3, 8] {
            let ranges = tally_of(9_000).take_ranges(n);
            assert_eq!(ranges.len(), n, "{n}");
            let (placed, _) = place_ranges(&ranges, &ByOctet, "test", &legal, as_of()).unwrap();
            assert_eq!(placed.len(), one.len());
            for (a, (ip, d)) in placed.iter().zip(&one) {
                assert_eq!((a.ip, a.flows, a.bytes), (*ip, d.flows, d.bytes));
                let want = crate::geo::GeoLookup::country(&ByOctet, *ip).unwrap();
                assert_eq!(a.country, want, "{ip}");
                let top = d
                    .ports
                    .iter()
                    .max_by_key(|(p, c)| (c.bytes, std::cmp::Reverse(*p)));
                assert_eq!(a.top.map(|t| t.port), top.map(|t| t.0), "{ip}");
                assert_eq!(&*a.source, "geodb test");
            }
        }
    }

    /// The summary and every country's rows (its top networks among thousands, and
    /// how many there are) come out the same however the destinations are split
    /// into ranges: no network is split, and each range's rows add up.
    #[test]
    fn ranges_sum_as_the_whole() {
        let legal = LegalKnowledge::default();
        let report = |n: usize| {
            let mut tally = tally_of(9_000);
            let ranges = tally.take_ranges(n);
            let (_, sums) = place_ranges(&ranges, &ByOctet, "test", &legal, as_of()).unwrap();
            let (summary, countries) = sums.finish(&tally);
            serde_json::to_value((summary, countries)).unwrap()
        };
        let whole = report(1);
        let countries = whole[1].as_array().unwrap();
        assert_eq!(countries.len(), 4, "DE, US, FR and unknown");
        for c in countries.iter().filter(|c| c["country"] != "unknown") {
            assert_eq!(c["networks"].as_array().unwrap().len(), TOP_NETWORKS);
            assert!(
                c["networks_total"].as_u64().unwrap() > 1_000,
                "{}",
                c["networks_total"]
            );
        }
        for n in [2, 3, 8] {
            assert_eq!(report(n), whole, "{n} ranges");
        }
    }

    /// Networks are named by their /24 or /48, the three IPv6 groups always written.
    #[test]
    fn networks_are_named_by_their_prefix() {
        let net = |s: &str| network_text(s.parse().unwrap());
        assert_eq!(net("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(net("2a00:1450:4001:81c::200e"), "2a00:1450:4001::/48");
        assert_eq!(net("2a00::1"), "2a00:0:0::/48");
        // Every octet value, in each of the three places, as `Ipv4Addr` writes it.
        for v in 0..=255u8 {
            for [a, b, c] in [[v, 7, 200], [10, v, 0], [255, 99, v]] {
                let ip = std::net::Ipv4Addr::new(a, b, c, 77);
                assert_eq!(
                    network_text(IpAddr::V4(ip)),
                    format!("{}/24", std::net::Ipv4Addr::new(a, b, c, 0))
                );
            }
        }
    }

    /// Destinations added in address order, several per network and port, give
    /// the rows a plain map gives; the top rows are the ones with the most bytes,
    /// ties broken by network and port, and the total counts every row, however
    /// few rows are kept on the way.
    #[test]
    fn network_rows_agree_with_a_map() {
        let mut map: BTreeMap<(IpAddr, u16), (u64, u64)> = BTreeMap::new();
        let mut added = Vec::new();
        for i in 0..3_000u32 {
            // 300 networks of ten addresses each, in address order.
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(
                0x0A00_0000 + (i / 10) * 256 + i % 10,
            ));
            let ports: Vec<(u16, PortCount)> = [443u16, 80, 53]
                .iter()
                .take(1 + (i % 3) as usize)
                .map(|&p| {
                    let c = PortCount {
                        flows: 1,
                        // Few values: many ties, and rows one byte apart.
                        bytes: u64::from(i * 7919 % 13),
                    };
                    (p, c)
                })
                .collect();
            for (p, c) in &ports {
                let e = map.entry((network_key(ip), *p)).or_default();
                e.0 += c.flows;
                e.1 += c.bytes;
            }
            added.push((network_key(ip), ports));
        }
        let mut want: Vec<_> = map.into_iter().collect();
        want.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(&b.0)));
        for keep in [100, 10, 1] {
            let mut rows = NetworkRows::new(keep);
            for (net, ports) in &added {
                rows.add(*net, ports);
            }
            let (top, total) = rows.top();
            assert_eq!(total, want.len());
            assert_eq!(top.len(), keep);
            for (got, ((net, port), (flows, bytes))) in top.iter().zip(&want) {
                assert_eq!(
                    (got.network.as_str(), got.port, got.flows, got.bytes),
                    (network_text(*net).as_str(), *port, *flows, *bytes),
                    "keep {keep}"
                );
            }
        }
        // Many equal rows, then one a byte better: it is kept, whatever was
        // dropped before it, and ties go to the earlier networks.
        for keep in [1, 10] {
            let mut rows = NetworkRows::new(keep);
            let one = |bytes| [(443u16, PortCount { flows: 1, bytes })];
            let net = |k: u32| IpAddr::V4(std::net::Ipv4Addr::from(0x0A00_0000 + k * 256));
            for k in 0..300 {
                rows.add(net(k), &one(if k == 200 { 6 } else { 5 }));
            }
            let (top, total) = rows.top();
            assert_eq!(total, 300);
            let got: Vec<_> = top.iter().map(|r| (r.network.clone(), r.bytes)).collect();
            let want: Vec<_> = std::iter::once(200)
                .chain(0..)
                .take(keep)
                .map(|k| (network_text(net(k)), if k == 200 { 6 } else { 5 }))
                .collect();
            assert_eq!(got, want, "keep {keep}");
        }
    }
}
