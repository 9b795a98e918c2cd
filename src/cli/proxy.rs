//! `residency proxy`: the egress gatekeeper.

use super::ExitStatus;
use crate::proxy::decide::SystemResolver;
use crate::proxy::server::{Limits, Mode};
use crate::proxy::{Config, Sources};
use clap::{Args, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const PROXY_HELP: &str = "\
Examples:
  residency proxy --policy policy.toml --admin-listen 127.0.0.1:9090
  residency proxy --listen 0.0.0.0:3128 --mode report --audit /var/lib/residency/audit.sqlite
  residency proxy --authz-listen 127.0.0.1:9191          # Envoy / Istio ext_authz
  HTTPS_PROXY=http://127.0.0.1:3128 curl https://api.example.eu/

Clients use it as an HTTP proxy: CONNECT host:port for TLS (passed through untouched) and
absolute-form requests (GET http://host/path) for plain HTTP. Each destination is resolved once,
every address placed (internal ranges, geodb) and judged by the same engine and policy as
`scan` and `flows`; the connection goes to exactly an address that was checked. A denial is a
403 with a JSON body (decision, rule, reason, destination, country) and `x-residency-decision:
deny`, before any byte reaches the destination. The policy's [proxy] section adds host
allow/deny lists (`*.example.eu`), denied networks, ports (default 80, 443) and the internal
networks that may be reached; the cloud metadata address is always denied.

Signals: SIGHUP reloads the policy and geodb (validated first; an invalid one leaves the old in
force), as does a change to their files; SIGTERM and SIGINT stop accepting, let open connections
finish (--drain-timeout) and flush the decision log. docs/proxy.md has Envoy, Istio and Kubernetes
set-ups.";

/// Decision log format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per decision.
    Json,
    /// Nothing on stdout.
    None,
}

/// Arguments of `proxy`.
#[derive(Debug, Args)]
#[command(after_help = PROXY_HELP)]
pub struct ProxyArgs {
    /// Where clients connect (loopback by default).
    #[arg(long, default_value = "127.0.0.1:3128", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// enforce: refuse what the policy denies; report: allow, log `would_deny`; open: allow and log.
    #[arg(long, value_enum, default_value_t = Mode::Enforce)]
    pub mode: Mode,
    /// Policy: a preset (gdpr, eea-only, sovereign) or a TOML file.
    #[arg(long, short = 'p', default_value = crate::policies::DEFAULT, value_name = "NAME|FILE")]
    pub policy: String,
    /// IP-to-country database (default: the updated one, else the embedded one).
    #[arg(long, value_name = "FILE", env = "RESIDENCY_GEODB")]
    pub geodb: Option<PathBuf>,
    /// Replacement adequacy list (JSON).
    #[arg(long, value_name = "FILE")]
    pub adequacy: Option<PathBuf>,
    /// Resolve HOST to ADDR instead of asking DNS (repeatable; like curl's --resolve).
    #[arg(long, value_name = "HOST:ADDR", value_parser = parse_resolve)]
    pub resolve: Vec<(String, IpAddr)>,
    /// Admin listener: /metrics (Prometheus), /healthz, /readyz.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Envoy HTTP ext_authz listener: decides on the original request's Host.
    #[arg(long, value_name = "ADDR")]
    pub authz_listen: Option<SocketAddr>,
    /// Decision log on stdout.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log: LogFormat,
    /// Record every decision in the audit store (FILE, or the default store without a value).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "", env = "RESIDENCY_AUDIT")]
    pub audit: Option<PathBuf>,
    /// The key that signs the store's rows.
    #[arg(long, value_name = "FILE", env = "RESIDENCY_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// Open client connections at most (more get 503). Each may hold two
    /// descriptors: the soft open-file limit is raised to the hard one at start,
    /// with a warning if that is below 2 × N + 64.
    #[arg(long, default_value_t = 20_000, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Bytes of request line and headers at most (more get 431); 8192 at least.
    #[arg(long, default_value_t = 16 * 1024, value_name = "BYTES",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8192..))]
    pub max_header_bytes: usize,
    /// Seconds to receive a request's headers (slowloris), also between keep-alive requests.
    #[arg(long, default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds to connect to a destination.
    #[arg(long, default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: u64,
    /// Seconds a tunnel may stay silent both ways.
    #[arg(long, default_value_t = 300, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Seconds to let open connections finish on SIGTERM.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub drain_timeout: u64,
    /// Seconds between checks for changed policy or geodb files (0: only on SIGHUP).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub watch_interval: u64,
}

fn parse_resolve(s: &str) -> Result<(String, IpAddr), String> {
    let usage = || format!("`{s}`: expected HOST:ADDR, e.g. api.example.eu:127.0.0.2");
    // HOST:[v6] (the address holds colons), else HOST:v4 or HOST:v6 after the last colon.
    let (host, addr) = match s.strip_suffix(']').and_then(|x| x.rsplit_once(":[")) {
        Some(split) => split,
        None => s.rsplit_once(':').ok_or_else(usage)?,
    };
    // Tolerate curl's HOST:PORT:ADDR by dropping the port.
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if host.is_empty() {
        return Err(usage());
    }
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IP address"))?;
    Ok((host.trim_end_matches('.').to_ascii_lowercase(), ip))
}

/// Runs `proxy` until SIGTERM or SIGINT.
pub fn run(args: ProxyArgs) -> anyhow::Result<ExitStatus> {
    let store = super::audit::RecordArgs {
        audit: args.audit.clone(),
        audit_key: args.audit_key.clone(),
    }
    .open()?;
    let mut resolver = SystemResolver::default();
    for (host, ip) in &args.resolve {
        resolver
            .overrides
            .entry(host.clone())
            .or_default()
            .push(*ip);
    }
    let geodb = args
        .geodb
        .clone()
        .or_else(|| super::common::default_geodb_path().filter(|p| p.is_file()));
    let config = Config {
        listen: args.listen,
        admin_listen: args.admin_listen,
        authz_listen: args.authz_listen,
        mode: args.mode,
        sources: Sources {
            policy: args.policy.clone(),
            geodb,
            adequacy: args.adequacy.clone(),
        },
        resolver: Arc::new(resolver),
        json_log: args.log == LogFormat::Json,
        store,
        limits: Limits {
            max_connections: args.max_connections,
            max_header_bytes: args.max_header_bytes,
            header_timeout: Duration::from_secs(args.header_timeout),
            resolve_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(args.connect_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
        },
        drain_timeout: Duration::from_secs(args.drain_timeout),
        watch_interval: (args.watch_interval > 0).then(|| Duration::from_secs(args.watch_interval)),
    };
    let descriptors = raise_descriptor_limit();
    if let Some(warning) = descriptor_warning(descriptors, args.max_connections) {
        eprintln!("residency: warning: {warning}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
                // Handlers first: a signal sent as soon as the banner shows is handled.
        let mut hup = signal(SignalKind::hangup())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let running = crate::proxy::start(config).await?;
        eprintln!(
            "residency proxy listening on {} ({} mode){}{}",
            running.listen,
            args.mode.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
            running.admin.map(|a| format!(", admin on {a}")).unwrap_or_default(),
            running.authz.map(|a| format!(", ext_authz on {a}")).unwrap_or_default(),
        );

        loop {
            tokio::select! {
                _ = hup.recv() => match running.reload() {
                    Ok(()) => eprintln!("residency proxy: reloaded policy and geodb"),
                    Err(e) => eprintln!("residency proxy: reload failed, keeping the old policy: {e:#}"),
                },
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        eprintln!("residency proxy: draining");
        running.shutdown().await?;
        Ok(ExitStatus::Success)
    })
}

/// Raises the soft limit on open descriptors to the hard one, as servers do (a
/// connection holds one, a tunnel or a pooled request two), and returns the limit
/// in force (`None`: unlimited). Best effort: a limit that cannot be raised stays.
fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return limit.current;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => raised.current,
        Err(_) => limit.current,
    }
}

/// Descriptors `--max-connections` may need: two per connection (the client's and
/// the destination's sockets), and a few for listeners, the store and the files.
fn descriptors_needed(max_connections: usize) -> u64 {
    (max_connections as u64)
        .saturating_mul(2)
        .saturating_add(64)
}

/// A warning when the open-file limit is below what `--max-connections` may need:
/// past it, new connections wait to be accepted (not a 503) and dials fail.
fn descriptor_warning(limit: Option<u64>, max_connections: usize) -> Option<String> {
    let limit = limit?;
    let needed = descriptors_needed(max_connections);
    (limit < needed).then(|| {
        format!(
            "the open-file limit is {limit}, and --max-connections {max_connections} may need \
             {needed} (two per connection); past about {} busy connections, new ones wait to be \
             accepted and dials to destinations fail\n  \
             hint: raise the hard limit (`ulimit -Hn`, `LimitNOFILE=` in a systemd unit) or \
             lower --max-connections",
            limit.saturating_sub(64) / 2
        )
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn resolve_overrides_take_curl_forms() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            parse_resolve("API.example.eu.:127.0.0.2").unwrap(),
            ("api.example.eu".to_string(), ip("127.0.0.2"))
        );
        assert_eq!(
            parse_resolve("api.example.eu:443:127.0.0.2").unwrap(),
            ("api.example.eu".to_string(), ip("127.0.0.2"))
        );
        assert_eq!(parse_resolve("api.example.eu:[::1]").unwrap().1, ip("::1"));
        assert!(parse_resolve(":127.0.0.2").is_err());
        assert!(parse_resolve("api.example.eu:1.2.3").is_err());
    }

    #[test]
    fn a_limit_below_two_descriptors_a_connection_is_named() {
        assert_eq!(descriptor_warning(None, 20_000), None);
        assert_eq!(descriptor_warning(Some(40_064), 20_000), None);
        let w = descriptor_warning(Some(1024), 20_000).unwrap_or_default();
        assert!(w.contains("limit is 1024"), "{w}");
        assert!(w.contains("may need 40064"), "{w}");
        assert!(w.contains("past about 480 busy connections"), "{w}");
        assert!(descriptor_warning(Some(40_063), 20_000).is_some());
    }
}
