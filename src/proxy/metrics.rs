//! Counters for `/metrics`, in the Prometheus text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the decision-latency histogram.
const BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
];

/// The proxy's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: Mutex<BTreeMap<(String, String, String), u64>>,
    /// Open client connections.
    pub active: AtomicI64,
    latency: Mutex<([u64; BUCKETS.len()], u64, f64)>,
    reloads: Mutex<BTreeMap<&'static str, u64>>,
    /// Connections refused at the limit.
    pub refused_at_limit: AtomicU64,
    /// Requests rejected as malformed (400, 431).
    pub rejected: AtomicU64,
}

impl Metrics {
    /// Counts a decision.
    pub fn decision(&self, decision: &str, country: &str, rule: &str) {
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry((decision.to_string(), country.to_string(), rule.to_string()))
                .or_default() += 1;
        }
    }

    /// Observes how long a decision took.
    pub fn observe(&self, seconds: f64) {
        if let Ok(mut l) = self.latency.lock() {
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    if let Some(c) = l.0.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            l.1 += 1;
            l.2 += seconds;
        }
    }

    /// Counts a reload (`ok` or `failed`).
    pub fn reload(&self, result: &'static str) {
        if let Ok(mut r) = self.reloads.lock() {
            *r.entry(result).or_default() += 1;
        }
    }

    /// The exposition text, with the gauge of idle keep-alive connections to
    /// destinations (the pool counts those).
    pub fn render(&self, idle_upstream: usize) -> String {
        let mut s = String::new();
        s.push_str("# HELP residency_proxy_decisions_total Egress decisions by decision, destination country and rule.\n# TYPE residency_proxy_decisions_total counter\n");
        if let Ok(m) = self.decisions.lock() {
            for ((d, c, r), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "residency_proxy_decisions_total{{decision=\"{}\",country=\"{}\",rule=\"{}\"}} {n}",
                    label(d),
                    label(c),
                    label(r)
                );
            }
        }
        let _ = write!(
            s,
            "# HELP residency_proxy_active_connections Open client connections.\n# TYPE residency_proxy_active_connections gauge\nresidency_proxy_active_connections {}\n",
            self.active.load(Ordering::Relaxed)
        );
        let _ = write!(
            s,
            "# HELP residency_proxy_idle_upstream_connections Keep-alive connections to destinations waiting to be reused.\n# TYPE residency_proxy_idle_upstream_connections gauge\nresidency_proxy_idle_upstream_connections {idle_upstream}\n",
        );
        s.push_str("# HELP residency_proxy_decision_seconds Time from request to decision (parse, resolve, place, decide).\n# TYPE residency_proxy_decision_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (b, c) in BUCKETS.iter().zip(l.0.iter()) {
                let _ = writeln!(
                    s,
                    "residency_proxy_decision_seconds_bucket{{le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                s,
                "residency_proxy_decision_seconds_bucket{{le=\"+Inf\"}} {}",
                l.1
            );
            let _ = writeln!(s, "residency_proxy_decision_seconds_sum {}", l.2);
            let _ = writeln!(s, "residency_proxy_decision_seconds_count {}", l.1);
        }
        s.push_str("# HELP residency_proxy_reloads_total Policy and geodb reloads by result.\n# TYPE residency_proxy_reloads_total counter\n");
        if let Ok(r) = self.reloads.lock() {
            for result in ["ok", "failed"] {
                let _ = writeln!(
                    s,
                    "residency_proxy_reloads_total{{result=\"{result}\"}} {}",
                    r.get(result).copied().unwrap_or(0)
                );
            }
        }
        let _ = write!(
            s,
            "# HELP residency_proxy_refused_connections_total Connections refused at the connection limit.\n# TYPE residency_proxy_refused_connections_total counter\nresidency_proxy_refused_connections_total {}\n\
             # HELP residency_proxy_rejected_requests_total Malformed requests rejected.\n# TYPE residency_proxy_rejected_requests_total counter\nresidency_proxy_rejected_requests_total {}\n",
            self.refused_at_limit.load(Ordering::Relaxed),
            self.rejected.load(Ordering::Relaxed)
        );
        s
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
