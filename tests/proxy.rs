//! The egress proxy on loopback: a test geodb places 127.0.0.2 in DE (allowed),
//! 127.0.0.3 in the US and 127.0.0.4 in India (not allowed under the gdpr preset
//! without a transfer basis), and the policy looks loopback up in it
//! (`loopback_is_public`). Origins are local servers that count the connections
//! they accept, so a test can show that a denied destination saw none.
//! The attack suite follows the functional tests. No traffic leaves the machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

mod common;

use residency::audit::{Key, Kind, Store};
use residency::proxy::decide::{Resolve, SystemResolver};
use residency::proxy::server::{Limits, Mode};
use residency::proxy::{Config, Running, Sources};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DE: &str = "127.0.0.2";
const US: &str = "127.0.0.3";

/// A local server that counts connections; `http` answers every request with
/// `hello from ADDR` (keep-alive), otherwise it echoes bytes back.
struct Origin {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

async fn origin(ip: &str, http: bool) -> Origin {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut pending = Vec::new();
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if !http {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let body = format!("hello from {addr}");
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Origin { addr, accepted }
}

struct Setup {
    dir: tempfile::TempDir,
    policy: PathBuf,
    geodb: PathBuf,
}

/// A test geodb and a policy allowing `ports`, plus `extra` policy lines.
fn setup(ports: &[u16], extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let geodb = dir.path().join("test.mmdb");
    common::write_geodb(
        &geodb,
        "test-loopback",
        &[
            (DE, 32, serde_json::json!({"country_code": "DE"})),
            (US, 32, serde_json::json!({"country_code": "US"})),
            ("127.0.0.4", 32, serde_json::json!({"country_code": "IN"})),
        ],
    );
    let policy = dir.path().join("policy.toml");
    write_policy(&policy, ports, extra);
    Setup { dir, policy, geodb }
}

fn write_policy(path: &Path, ports: &[u16], extra: &str) {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    std::fs::write(
        path,
        format!(
            "[policy]\nname = \"proxy-test\"\nextends = \"gdpr\"\n\n[proxy]\nloopback_is_public = true\nports = [{}]\n{extra}\n",
            ports.join(", ")
        ),
    )
    .unwrap();
}

fn config(s: &Setup, mode: Mode, resolver: Arc<dyn Resolve>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        authz_listen: Some("127.0.0.1:0".parse().unwrap()),
        mode,
        sources: Sources {
            policy: s.policy.display().to_string(),
            geodb: Some(s.geodb.clone()),
            adequacy: None,
        },
        resolver,
        json_log: false,
        store: None,
        limits: Limits {
            header_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
        drain_timeout: Duration::from_secs(2),
        watch_interval: None,
    }
}

fn resolver(entries: &[(&str, &str)]) -> Arc<dyn Resolve> {
    let mut r = SystemResolver::default();
    for (h, a) in entries {
        r.overrides
            .entry((*h).to_string())
            .or_default()
            .push(a.parse().unwrap());
    }
    Arc::new(r)
}

async fn start(s: &Setup, mode: Mode) -> Running {
    residency::proxy::start(config(s, mode, resolver(&[])))
        .await
        .unwrap()
}

/// Sends raw bytes and reads until the peer closes or goes quiet.
async fn exchange(proxy: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(raw).await.unwrap();
    read_some(&mut s, Duration::from_millis(700)).await
}

async fn read_some(s: &mut TcpStream, quiet: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match tokio::time::timeout(quiet, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status(resp: &str) -> u16 {
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The proxy still works: an allowed plain-HTTP request goes through.
async fn still_serving(p: &Running, de: &Origin) {
    let r = exchange(
        p.listen,
        format!(
            "GET http://{}/ HTTP/1.1\r\nHost: {}\r\n\r\n",
            de.addr, de.addr
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status(&r), 200, "{r}");
}

// ---------------------------------------------------------------- functional

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_connect_relays_bytes_both_ways() {
    let de = origin(DE, false).await;
    let s = setup(&[de.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    c.write_all(format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", de.addr).as_bytes())
        .await
        .unwrap();
    let head = read_some(&mut c, Duration::from_millis(300)).await;
    assert_eq!(status(&head), 200, "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("x-residency-decision: allow"));
    for msg in ["ping", "a longer message through the tunnel"] {
        c.write_all(msg.as_bytes()).await.unwrap();
        let back = read_some(&mut c, Duration::from_millis(300)).await;
        assert_eq!(back, msg);
    }
    assert_eq!(de.accepted.load(Ordering::SeqCst), 1);
    p.shutdown().await.unwrap();
}

/// An admin or authz address that is taken fails the start, naming it, and
/// leaves nothing listening: not even the proxy's own address, bound first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_side_address_that_is_taken_fails_the_start_and_leaves_nothing_listening() {
    let s = setup(&[443], "");
    for side in ["admin", "authz"] {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_at = taken.local_addr().unwrap();
        // A free address for the proxy itself.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = free.local_addr().unwrap();
        drop(free);
        let mut c = config(&s, Mode::Enforce, resolver(&[]));
        c.listen = listen;
        match side {
            "admin" => c.admin_listen = Some(taken_at),
            _ => c.authz_listen = Some(taken_at),
        }
        let e = match residency::proxy::start(c).await {
            Ok(_) => panic!("{side}: started on a taken address"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains(&format!("cannot listen on {taken_at}")),
            "{side}: {e}"
        );
        assert!(
            std::net::TcpListener::bind(listen).is_ok(),
            "{side}: the proxy's address is still held"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_carries_megabytes_intact_and_passes_on_the_close() {
    let de = origin(DE, false).await;
    let s = setup(&[de.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    // Bytes sent in the same write as the CONNECT reach the destination first.
    let mut first = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", de.addr).into_bytes();
    first.extend_from_slice(b"early:");
    c.write_all(&first).await.unwrap();
    // 16 MiB that no two positions of a short cycle could fake, written while the
    // echo comes back (the pipe fills and drains many times, partly each time).
    let data: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (mut r, mut w) = c.into_split();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        for chunk in sent.chunks(100_003) {
            w.write_all(chunk).await.unwrap();
        }
        w.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), r.read_to_end(&mut got))
        .await
        .expect("the tunnel closes after the client does")
        .unwrap();
    writer.await.unwrap();
    let head_end = got.windows(4).position(|x| x == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(status(&String::from_utf8_lossy(&got[..head_end])), 200);
    let body = &got[head_end..];
    assert_eq!(&body[..6], b"early:");
    assert_eq!(body.len() - 6, data.len());
    assert!(
        body[6..] == data[..],
        "the echoed bytes differ from the sent ones"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_connect_gets_403_and_the_destination_sees_nothing() {
    let us = origin(US, false).await;
    let s = setup(&[us.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let r = exchange(
        p.listen,
        format!(
            "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\nsecret payload",
            us.addr
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status(&r), 403, "{r}");
    let lower = r.to_ascii_lowercase();
    assert!(
        lower.contains("x-residency-decision: deny") && lower.contains("x-residency-rule: res012")
    );
    let body: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap().trim()).unwrap();
    assert_eq!(body["decision"], "deny");
    assert_eq!(body["rule"], "RES012");
    assert_eq!(body["country"], "US");
    assert_eq!(body["destination"], us.addr.to_string());
    assert!(
        body["reason"].as_str().unwrap().starts_with("US:"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        us.accepted.load(Ordering::SeqCst),
        0,
        "the denied origin saw a connection"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_proxied_with_keep_alive() {
    let de = origin(DE, true).await;
    let s = setup(&[de.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    for _ in 0..3 {
        c.write_all(
            format!(
                "GET http://{0}/x HTTP/1.1\r\nHost: {0}\r\nProxy-Connection: keep-alive\r\n\r\n",
                de.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let r = read_some(&mut c, Duration::from_millis(300)).await;
        assert_eq!(status(&r), 200, "{r}");
        assert!(r.ends_with(&format!("hello from {}", de.addr)), "{r}");
    }
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_mode_lets_traffic_through_and_logs_would_deny() {
    let us = origin(US, false).await;
    let s = setup(&[us.addr.port()], "");
    let store_path = s.dir.path().join("audit.sqlite");
    let key = Key::from_bytes(&[7u8; 32], "test");
    let mut cfg = config(&s, Mode::Report, resolver(&[]));
    cfg.store = Some(Store::open(&store_path, Some(key.clone())).unwrap());
    let p = residency::proxy::start(cfg).await.unwrap();
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    c.write_all(format!("CONNECT {0} HTTP/1.1\r\n\r\n", us.addr).as_bytes())
        .await
        .unwrap();
    assert_eq!(
        status(&read_some(&mut c, Duration::from_millis(300)).await),
        200
    );
    c.write_all(b"hi").await.unwrap();
    assert_eq!(read_some(&mut c, Duration::from_millis(300)).await, "hi");
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    p.shutdown().await.unwrap();
    let store = Store::open(&store_path, Some(key)).unwrap();
    let d = store.loose(Kind::Decision, None, None).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].body["decision"], "would_deny");
    assert_eq!(d[0].body["mode"], "report");
    assert_eq!(d[0].body["country"], "US");
    assert_eq!(d[0].body["bytes_up"], 2);
    assert_eq!(d[0].body["bytes_down"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_are_recorded_in_the_audit_store_and_reported() {
    let de = origin(DE, true).await;
    let us = origin(US, true).await;
    let s = setup(&[de.addr.port(), us.addr.port()], "");
    let store_path = s.dir.path().join("audit.sqlite");
    let key = Key::from_bytes(&[9u8; 32], "test");
    let mut cfg = config(&s, Mode::Enforce, resolver(&[]));
    cfg.store = Some(Store::open(&store_path, Some(key.clone())).unwrap());
    let p = residency::proxy::start(cfg).await.unwrap();
    for _ in 0..5 {
        still_serving(&p, &de).await;
    }
    for _ in 0..3 {
        let r = exchange(
            p.listen,
            format!("GET http://{0}/ HTTP/1.1\r\nHost: {0}\r\n\r\n", us.addr).as_bytes(),
        )
        .await;
        assert_eq!(status(&r), 403);
    }
    p.shutdown().await.unwrap();
    let store = Store::open(&store_path, Some(key)).unwrap();
    assert!(store.verify().unwrap().ok());
    let view = residency::audit::view::build(&store, Default::default()).unwrap();
    assert_eq!(view.egress["DE"].flows, 5);
    assert_eq!(view.egress["US"].denied, 3);
    assert_eq!(view.top_denied[0], (US.to_string(), "US".to_string(), 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_on_reload_keeps_the_old_one() {
    let de = origin(DE, true).await;
    let us = origin(US, true).await;
    let s = setup(&[de.addr.port(), us.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    std::fs::write(
        &s.policy,
        "[policy]\nname = \"broken\"\nextends = \"gdpr\"\n[proxy]\nports = [\"not a port\"]\n",
    )
    .unwrap();
    assert!(p.reload().is_err());
    still_serving(&p, &de).await;
    let r = exchange(
        p.listen,
        format!("GET http://{0}/ HTTP/1.1\r\nHost: {0}\r\n\r\n", us.addr).as_bytes(),
    )
    .await;
    assert_eq!(status(&r), 403, "the old policy still denies the US");
    // A valid change takes effect: allow the US explicitly.
    write_policy(
        &s.policy,
        &[de.addr.port(), us.addr.port()],
        &format!("\n[egress]\nallowed_cidrs = [\"{US}/32\"]"),
    );
    p.reload().unwrap();
    let r = exchange(
        p.listen,
        format!("GET http://{0}/ HTTP/1.1\r\nHost: {0}\r\n\r\n", us.addr).as_bytes(),
    )
    .await;
    assert_eq!(status(&r), 200, "{r}");
    let admin = p.admin.unwrap();
    let m = exchange(admin, b"GET /metrics HTTP/1.1\r\nHost: admin\r\n\r\n").await;
    assert!(
        m.contains("residency_proxy_reloads_total{result=\"failed\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("residency_proxy_reloads_total{result=\"ok\"} 1"),
        "{m}"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_and_ext_authz() {
    let de = origin(DE, true).await;
    let us = origin(US, true).await;
    let s = setup(&[de.addr.port(), us.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    still_serving(&p, &de).await;
    let admin = p.admin.unwrap();
    assert_eq!(
        status(&exchange(admin, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await),
        200
    );
    assert_eq!(
        status(&exchange(admin, b"GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n").await),
        200
    );
    let m = exchange(admin, b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert!(
        m.contains(
            "residency_proxy_decisions_total{decision=\"allow\",country=\"DE\",rule=\"\"} 1"
        ),
        "{m}"
    );
    assert!(
        m.contains("residency_proxy_decision_seconds_count 1"),
        "{m}"
    );
    assert!(m.contains("# TYPE residency_proxy_active_connections gauge"));
    assert!(m.contains("# TYPE residency_proxy_idle_upstream_connections gauge"));
    // Envoy's check request carries the original Host.
    let authz = p.authz.unwrap();
    let ok = exchange(
        authz,
        format!("GET /api/v1 HTTP/1.1\r\nHost: {}\r\n\r\n", de.addr).as_bytes(),
    )
    .await;
    assert_eq!(status(&ok), 200, "{ok}");
    let no = exchange(
        authz,
        format!("GET /api/v1 HTTP/1.1\r\nHost: {}\r\n\r\n", us.addr).as_bytes(),
    )
    .await;
    assert_eq!(status(&no), 403, "{no}");
    assert!(no.contains("\"rule\":\"RES012\""));
    assert_eq!(us.accepted.load(Ordering::SeqCst), 0);
    p.shutdown().await.unwrap();
}

// -------------------------------------------------------------- attack suite

/// A resolver that answers `first` the first time and `later` after that: a
/// DNS-rebinding attacker.
struct Rebinding {
    calls: AtomicUsize,
    first: IpAddr,
    later: IpAddr,
}

impl Resolve for Rebinding {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(vec![if n == 0 { self.first } else { self.later }])
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_dns_rebinding_cannot_reach_the_second_answer() {
    let de = origin(DE, false).await;
    let us = origin(US, false).await;
    // Same port on both addresses is not guaranteed: allow both ports.
    let s = setup(&[de.addr.port(), us.addr.port()], "");
    let r = Arc::new(Rebinding {
        calls: AtomicUsize::new(0),
        first: DE.parse().unwrap(),
        later: US.parse().unwrap(),
    });
    let p = residency::proxy::start(config(&s, Mode::Enforce, r.clone()))
        .await
        .unwrap();
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    c.write_all(
        format!(
            "CONNECT rebind.example.eu:{} HTTP/1.1\r\n\r\n",
            de.addr.port()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(
        status(&read_some(&mut c, Duration::from_millis(300)).await),
        200
    );
    c.write_all(b"x").await.unwrap();
    assert_eq!(read_some(&mut c, Duration::from_millis(300)).await, "x");
    assert_eq!(r.calls.load(Ordering::SeqCst), 1, "resolved more than once");
    assert_eq!(
        us.accepted.load(Ordering::SeqCst),
        0,
        "dialled the rebinding answer"
    );
    assert_eq!(de.accepted.load(Ordering::SeqCst), 1);
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_mixed_answers_dial_only_a_checked_allowed_address() {
    let de = origin(DE, false).await;
    let s = setup(&[de.addr.port()], "");
    let p = residency::proxy::start(config(
        &s,
        Mode::Enforce,
        resolver(&[("mixed.example.eu", US), ("mixed.example.eu", DE)]),
    ))
    .await
    .unwrap();
    let r = exchange(
        p.listen,
        format!(
            "CONNECT mixed.example.eu:{} HTTP/1.1\r\n\r\n",
            de.addr.port()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(de.accepted.load(Ordering::SeqCst), 1);
    p.shutdown().await.unwrap();
}

/// Runs one request that must be rejected with `expect` and leave `origin` untouched.
async fn refused(raw: String, expect: u16) {
    let de = origin(DE, true).await;
    let us = origin(US, true).await;
    let raw = raw
        .replace("{DE}", &de.addr.to_string())
        .replace("{US}", &us.addr.to_string())
        .replace("{USPORT}", &us.addr.port().to_string())
        .replace("{DEPORT}", &de.addr.port().to_string());
    let s = setup(
        &[de.addr.port(), us.addr.port(), 80, 443],
        "deny_hosts = [\"*.evil.example\"]",
    );
    let p = residency::proxy::start(config(
        &s,
        Mode::Enforce,
        resolver(&[("localhost", "127.0.0.1"), ("api.evil.example", DE)]),
    ))
    .await
    .unwrap();
    let r = exchange(p.listen, raw.as_bytes()).await;
    assert_eq!(status(&r), expect, "{raw:?} -> {r}");
    assert_eq!(
        us.accepted.load(Ordering::SeqCst),
        0,
        "{raw:?} reached the US origin"
    );
    still_serving(&p, &de).await;
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_ipv4_mapped_ipv6_literal() {
    refused(
        "CONNECT [::ffff:127.0.0.3]:{USPORT} HTTP/1.1\r\n\r\n".into(),
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_ipv4_mapped_ipv6_literal_in_hex() {
    refused(
        "CONNECT [::ffff:7f00:3]:{USPORT} HTTP/1.1\r\n\r\n".into(),
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_decimal_literal() {
    refused("CONNECT 2130706435:{USPORT} HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_octal_literal() {
    refused("CONNECT 0177.0.0.3:{USPORT} HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_hex_literal() {
    refused(
        "GET http://0x7f000003:{USPORT}/ HTTP/1.1\r\n\r\n".into(),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_shortened_literal() {
    refused("CONNECT 127.3:{USPORT} HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_connect_target_differs_from_host_header() {
    refused("CONNECT {DE} HTTP/1.1\r\nHost: {US}\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_absolute_uri_differs_from_host_header() {
    refused(
        "GET http://{DE}/ HTTP/1.1\r\nHost: {US}\r\n\r\n".into(),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_userinfo_in_the_url() {
    refused("GET http://user:pw@{US}/ HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_userinfo_hiding_the_real_host() {
    refused("GET http://{DE}@{US}/ HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_content_length_plus_transfer_encoding() {
    // RFC 9112 6.3: with both, Transfer-Encoding wins and the connection is closed
    // after the response, so a request smuggled behind the body is never read.
    let de = origin(DE, true).await;
    let us = origin(US, true).await;
    let s = setup(&[de.addr.port(), us.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let raw = format!(
        "POST http://{0}/ HTTP/1.1\r\nHost: {0}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://{1}/ HTTP/1.1\r\nHost: {1}\r\n\r\n",
        de.addr, us.addr
    );
    let r = exchange(p.listen, raw.as_bytes()).await;
    assert_eq!(r.matches("HTTP/1.1 ").count(), 1, "{r}");
    assert!(r.to_ascii_lowercase().contains("connection: close"), "{r}");
    assert_eq!(
        us.accepted.load(Ordering::SeqCst),
        0,
        "the smuggled request reached the US"
    );
    still_serving(&p, &de).await;
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_oversized_headers() {
    let big = "a".repeat(64 * 1024);
    refused(
        format!("GET http://{{US}}/ HTTP/1.1\r\nHost: {{US}}\r\nX-Big: {big}\r\n\r\n"),
        431,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_oversized_request_line() {
    let path = "a".repeat(64 * 1024);
    let de = origin(DE, true).await;
    let s = setup(&[de.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let r = exchange(
        p.listen,
        format!("GET http://{}/{path} HTTP/1.1\r\n\r\n", de.addr).as_bytes(),
    )
    .await;
    assert!(
        matches!(status(&r), 400 | 414 | 431),
        "{}",
        &r[..r.len().min(200)]
    );
    assert_eq!(de.accepted.load(Ordering::SeqCst), 0);
    still_serving(&p, &de).await;
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_slowloris_is_cut_off() {
    let de = origin(DE, true).await;
    let s = setup(&[de.addr.port()], "");
    let p = start(&s, Mode::Enforce).await;
    let mut c = TcpStream::connect(p.listen).await.unwrap();
    c.write_all(b"GET http://").await.unwrap();
    let started = std::time::Instant::now();
    let mut closed = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if c.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
        let mut b = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(10), c.read(&mut b)).await {
            if n == 0 || b.starts_with(b"HTTP/1.1 408") {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a trickling client kept its connection");
    assert!(started.elapsed() < Duration::from_secs(4));
    still_serving(&p, &de).await;
    p.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_metadata_address() {
    refused("CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n".into(), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_metadata_address_mapped_into_ipv6() {
    refused(
        "GET http://[::ffff:169.254.169.254]/latest/meta-data/ HTTP/1.1\r\n\r\n".into(),
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_metadata_address_in_decimal() {
    refused(
        "GET http://2852039166/latest/meta-data/ HTTP/1.1\r\n\r\n".into(),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_this_network_address() {
    refused("CONNECT 0.0.0.0:{USPORT} HTTP/1.1\r\n\r\n".into(), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_localhost_by_name() {
    refused("CONNECT localhost:{USPORT} HTTP/1.1\r\n\r\n".into(), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_ipv6_zone_id() {
    refused("CONNECT [fe80::1%25lo]:443 HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_percent_encoded_host() {
    refused("CONNECT 127.0.0.%33:{USPORT} HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_two_host_headers() {
    refused(
        "GET http://{DE}/ HTTP/1.1\r\nHost: {DE}\r\nHost: {US}\r\n\r\n".into(),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_denied_host_pattern_in_an_allowed_country() {
    refused(
        "CONNECT api.evil.example:{DEPORT} HTTP/1.1\r\n\r\n".into(),
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_port_not_allowed() {
    refused("CONNECT 127.0.0.2:25 HTTP/1.1\r\n\r\n".into(), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_origin_form_request_to_the_proxy() {
    refused("GET / HTTP/1.1\r\nHost: {US}\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_https_uri_without_connect() {
    refused("GET https://{US}/ HTTP/1.1\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_garbage_request() {
    refused("\u{1}\u{2}\u{3} NOT HTTP AT ALL\r\n\r\n".into(), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_many_connections_hit_the_limit_cleanly() {
    let de = origin(DE, true).await;
    let s = setup(&[de.addr.port()], "");
    let mut cfg = config(&s, Mode::Enforce, resolver(&[]));
    cfg.limits.max_connections = 50;
    cfg.limits.header_timeout = Duration::from_secs(30);
    let p = residency::proxy::start(cfg).await.unwrap();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(p.listen).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Beyond the limit, connections get 503 and are closed.
    let mut last = idle.pop().unwrap();
    let r = read_some(&mut last, Duration::from_millis(500)).await;
    assert_eq!(status(&r), 503, "{r}");
    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_serving(&p, &de).await;
    let m = exchange(
        p.admin.unwrap(),
        b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    assert!(
        m.contains("residency_proxy_refused_connections_total 250"),
        "{m}"
    );
    p.shutdown().await.unwrap();
}

// ------------------------------------------------------------ the binary

/// `residency proxy` on 127.0.0.1:0 with the setup's policy and geodb, no decision
/// log, a clean environment and stderr piped; with `ulimit`, started through a
/// shell that first sets that limit (`-Sn 256`).
fn proxy_binary(s: &Setup, ulimit: Option<&str>, extra: &[&str]) -> std::process::Command {
    let bin = env!("CARGO_BIN_EXE_residency");
    let mut c = match ulimit {
        Some(u) => {
            let mut c = std::process::Command::new("bash");
            c.args(["-c", &format!("ulimit {u} && exec \"$0\" \"$@\""), bin]);
            c
        }
        None => std::process::Command::new(bin),
    };
    c.args(["proxy", "--listen", "127.0.0.1:0", "--log", "none"])
        .args(extra)
        .arg("--policy")
        .arg(&s.policy)
        .arg("--geodb")
        .arg(&s.geodb)
        .env_clear()
        .env("HOME", s.dir.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stderr(std::process::Stdio::piped());
    c
}

#[test]
fn the_binary_reloads_on_sighup_and_drains_on_sigterm() {
    use std::io::BufRead;
    let s = setup(&[443], "");
    let mut child = proxy_binary(&s, None, &["--watch-interval", "0"])
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
        }
    }
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let pid = child.id().to_string();
    let mut child = KillOnDrop(child);
    // Reads stderr until a line holds `needle` (a message can span lines: hints).
    let mut wait_for = |needle: &str| loop {
        let line = err.next().expect("stderr closed").unwrap();
        if line.contains(needle) {
            return line;
        }
    };
    wait_for("residency proxy listening on 127.0.0.1:");
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, pid.as_str()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    std::fs::write(
        &s.policy,
        "[policy]\nname = \"broken\"\nextends = \"no-such-preset\"\n",
    )
    .unwrap();
    signal("-HUP");
    wait_for("reload failed, keeping the old policy");
    write_policy(&s.policy, &[443, 8443], "");
    signal("-HUP");
    wait_for("reloaded policy and geodb");
    signal("-TERM");
    wait_for("draining");
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn bad_proxy_arguments_are_usage_errors() {
    for (args, needle) in [
        (
            vec!["proxy", "--resolve", "api.example.eu"],
            "expected HOST:ADDR",
        ),
        (
            vec!["proxy", "--resolve", "api.example.eu:not-an-ip"],
            "is not an IP address",
        ),
        (
            vec!["proxy", "--listen", "localhost"],
            "invalid socket address",
        ),
        (
            vec!["proxy", "--mode", "permissive"],
            "possible values: enforce, report, open",
        ),
        (vec!["proxy", "--max-connections", "0"], "0 is not in 1.."),
        (vec!["proxy", "--idle-timeout", "0"], "0 is not in 1.."),
        (
            vec!["proxy", "--max-header-bytes", "1024"],
            "1024 is not in 8192..",
        ),
        (
            vec!["proxy", "--header-timeout", "x"],
            "invalid value 'x' for '--header-timeout",
        ),
        (
            vec![
                "proxy",
                "--policy",
                "no-such-preset",
                "--listen",
                "127.0.0.1:0",
            ],
            "not a preset",
        ),
    ] {
        let o = common::residency(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            common::stderr(&o).contains(needle),
            "{args:?}: {}",
            common::stderr(&o)
        );
    }
}

/// Reads the soft and hard open-file limits of a process.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_string();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[3].to_string(), f[4].to_string())
}

/// The proxy raises its soft open-file limit to the hard one (a connection holds
/// a descriptor, a tunnel two); when even the hard limit is below what
/// `--max-connections` may need, it says so at start, with the way out.
#[test]
fn the_binary_raises_its_open_file_limit_and_warns_when_it_is_too_low() {
    use std::io::BufRead;
    let s = setup(&[443], "");
    for (ulimit, max, warned) in [("-Sn 256", "100", false), ("-n 256", "1000", true)] {
        let mut child = proxy_binary(&s, Some(ulimit), &["--max-connections", max])
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut before = Vec::new();
        loop {
            let line = lines.next().expect("stderr closed").unwrap();
            if line.contains("residency proxy listening on") {
                break;
            }
            before.push(line);
        }
        let (soft, hard) = open_file_limits(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let text = before.join("\n");
        if warned {
            assert_eq!((soft.as_str(), hard.as_str()), ("256", "256"));
            assert!(
                text.contains(
                    "the open-file limit is 256, and --max-connections 1000 may need 2064"
                ) && text.contains("hint: raise the hard limit"),
                "{text}"
            );
        } else {
            // The hard limit is the one this test runs under.
            let ours = open_file_limits(std::process::id()).1;
            assert_eq!(
                (soft.as_str(), hard.as_str()),
                (ours.as_str(), ours.as_str())
            );
            assert!(!text.contains("warning"), "{text}");
        }
    }
}
