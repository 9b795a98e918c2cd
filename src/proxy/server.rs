//! The forward proxy: HTTP/1.1 `CONNECT` tunnels and absolute-form plain-HTTP
//! requests with keep-alive, the admin listener (`/metrics`, `/healthz`,
//! `/readyz`) and Envoy's HTTP `ext_authz` check.

use super::decide::{decide_all, Knowledge, Placed, Resolve};
use super::metrics::Metrics;
use super::record::{DecisionRecord, Sink};
use super::relay::relay;
use super::target::{parse_authority, Target};
use crate::engine::Verdict;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

type Body = BoxBody<Bytes, hyper::Error>;

/// Enforce, report or open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Refuse what the policy denies.
    Enforce,
    /// Allow everything, log what would have been denied (`would_deny`).
    Report,
    /// Allow everything, log every decision.
    Open,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Report => "report",
            Mode::Open => "open",
        }
    }
}

/// Resource limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open client connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Bytes of request line and headers at most (431 beyond); below 8192, hyper's
    /// smallest buffer, 8192 applies (`residency proxy` refuses such values).
    pub max_header_bytes: usize,
    /// Time to receive a request's headers, also between keep-alive requests (slowloris).
    pub header_timeout: Duration,
    /// Time to resolve a host.
    pub resolve_timeout: Duration,
    /// Time to connect to a destination.
    pub connect_timeout: Duration,
    /// A tunnel with no bytes either way for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 20_000,
            max_header_bytes: 16 * 1024,
            header_timeout: Duration::from_secs(10),
            resolve_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Everything the listeners share.
pub struct Shared {
    /// The policy, legal knowledge and geodb in force (swapped whole on reload).
    pub knowledge: RwLock<Arc<Knowledge>>,
    /// Name resolution.
    pub resolver: Arc<dyn Resolve>,
    /// The mode.
    pub mode: Mode,
    /// Counters.
    pub metrics: Metrics,
    /// Where decisions go.
    pub sink: Sink,
    /// Limits.
    pub limits: Limits,
    /// Set on SIGTERM: `/readyz` fails, listeners stop accepting.
    pub draining: AtomicBool,
    /// Idle upstream HTTP/1.1 connections, per checked address.
    pub pool: Pool,
}

/// Keep-alive connections to destinations, reused only for the same checked
/// address (a new decision picks the address; the pool never widens it). Bounded
/// in count (per address and in all) and in time: a connection not reused within
/// the idle time is dropped, which closes it, so destinations that keep idle
/// connections open cannot pile up descriptors.
pub struct Pool<T = Upstream> {
    state: std::sync::Mutex<PoolState<T>>,
    idle: Duration,
}

struct PoolState<T> {
    by_address: std::collections::HashMap<SocketAddr, Vec<(T, Instant)>>,
    count: usize,
    /// When the connections were last swept.
    swept: Instant,
}

type Upstream = hyper::client::conn::http1::SendRequest<Incoming>;

/// What the pool needs to know of a connection.
pub trait Pooled {
    /// It can take a request now.
    fn ready(&self) -> bool;
    /// The other end closed it, or it failed.
    fn closed(&self) -> bool;
}

impl Pooled for Upstream {
    fn ready(&self) -> bool {
        self.is_ready()
    }
    fn closed(&self) -> bool {
        self.is_closed()
    }
}

/// How long a pooled connection waits to be reused before it is closed.
pub const POOL_IDLE: Duration = Duration::from_secs(60);
/// Idle connections kept per destination address, and in all.
const POOL_PER_ADDRESS: usize = 256;
const POOL_MAX: usize = 1024;

impl<T: Pooled> Pool<T> {
    /// An empty pool whose connections wait at most `idle` to be reused.
    pub fn new(idle: Duration) -> Self {
        Pool {
            state: std::sync::Mutex::new(PoolState {
                by_address: std::collections::HashMap::new(),
                count: 0,
                swept: Instant::now(),
            }),
            idle,
        }
    }

    /// The newest idle connection to `addr` that can take a request; older,
    /// closed or stale ones met on the way are dropped.
    pub fn take(&self, addr: SocketAddr) -> Option<T> {
        let mut state = self.state.lock().ok()?;
        let state = &mut *state;
        let list = state.by_address.get_mut(&addr)?;
        let now = Instant::now();
        while let Some((c, since)) = list.pop() {
            state.count = state.count.saturating_sub(1);
            if c.ready() && !c.closed() && now.duration_since(since) < self.idle {
                return Some(c);
            }
        }
        None
    }

    /// Keeps a connection for reuse, unless the pool is full (then it is dropped).
    pub fn put(&self, addr: SocketAddr, c: T) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        // Full: sweep, but not at every put (a sweep visits every connection,
        // under the lock), so a pool full of fresh connections costs a put little.
        if state.count >= POOL_MAX && state.swept.elapsed() >= self.idle / 60 {
            self.sweep_state(&mut state);
        }
        let state = &mut *state;
        if state.count >= POOL_MAX {
            return;
        }
        let list = state.by_address.entry(addr).or_default();
        if list.len() < POOL_PER_ADDRESS {
            list.push((c, Instant::now()));
            state.count += 1;
        }
    }

    /// Drops the connections that are closed or waited longer than the idle time.
    pub fn sweep(&self) {
        if let Ok(mut state) = self.state.lock() {
            self.sweep_state(&mut state);
        }
    }

    fn sweep_state(&self, state: &mut PoolState<T>) {
        let now = Instant::now();
        state.swept = now;
        state.by_address.retain(|_, list| {
            list.retain(|(c, since)| !c.closed() && now.duration_since(*since) < self.idle);
            !list.is_empty()
        });
        state.count = state.by_address.values().map(Vec::len).sum();
    }

    /// Idle connections kept.
    pub fn idle_connections(&self) -> usize {
        self.state.lock().map_or(0, |s| s.count)
    }
}

impl Shared {
    /// The knowledge in force.
    pub fn current(&self) -> Option<Arc<Knowledge>> {
        self.knowledge.read().ok().map(|k| k.clone())
    }

    /// Puts new knowledge in force.
    pub fn swap(&self, k: Knowledge) {
        if let Ok(mut slot) = self.knowledge.write() {
            *slot = Arc::new(k);
        }
    }
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).map_err(|n| match n {}).boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn bad_request(shared: &Shared, why: &str) -> Response<Body> {
    shared.metrics.rejected.fetch_add(1, Ordering::Relaxed);
    let mut r = full(
        StatusCode::BAD_REQUEST,
        "text/plain; charset=utf-8",
        format!("{why}\n"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Accepts connections until `shutdown` turns true, then drains.
pub async fn serve_proxy(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((stream, client)) = accepted else {
            // Out of file descriptors and the like: back off a little.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shared
                .metrics
                .refused_at_limit
                .fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut s = stream;
                let _ = s
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            shared.metrics.active.fetch_add(1, Ordering::Relaxed);
            // No parser state until the client sends its first byte: an idle
            // connection costs a socket and a task, and is closed at the header timeout.
            // (`peek`, not `readable`: readiness can be reported before any byte is there.)
            let mut probe = [0u8; 1];
            let first =
                tokio::time::timeout(shared.limits.header_timeout, stream.peek(&mut probe)).await;
            if !matches!(first, Ok(Ok(n)) if n > 0) {
                shared.metrics.active.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
                return;
            }
            // Boxed: the parser's state is allocated only now, not in every idle task.
            // (A statement of its own, so the unboxed future is not kept in the task.)
            let serving = Box::pin(serve_connection(
                stream,
                client,
                shared.clone(),
                &mut shutdown,
            ));
            serving.await;
            shared.metrics.active.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// Serves one client connection (keep-alive, upgrades for CONNECT) until it
/// closes, or until shutdown, when it finishes the request in flight.
async fn serve_connection(
    stream: TcpStream,
    client: SocketAddr,
    shared: Arc<Shared>,
    shutdown: &mut watch::Receiver<bool>,
) {
    let svc_shared = shared.clone();
    let service = hyper::service::service_fn(move |req| {
        let s = svc_shared.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(req, client, s).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout)
        .max_buf_size(shared.limits.max_header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// The destination of a request, checked for the tricks that hide one.
fn target_of(req: &Request<Incoming>) -> Result<Target, String> {
    let headers = req.headers();
    // Content-Length with Transfer-Encoding never gets here: hyper reads such a
    // request as chunked and closes the connection after it (RFC 9112 6.3).
    if headers.get_all(header::HOST).iter().count() > 1 {
        return Err("more than one Host header".into());
    }
    let host_header = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let target = if req.method() == Method::CONNECT {
        let auth = req
            .uri()
            .authority()
            .ok_or("CONNECT needs host:port")?
            .as_str();
        let t = parse_authority(auth, None).map_err(|e| e.0)?;
        if let Some(h) = host_header {
            let hs =
                parse_authority(h, Some(t.port)).map_err(|e| format!("Host header: {}", e.0))?;
            if hs.host != t.host || hs.port != t.port {
                return Err(format!(
                    "the Host header `{h}` names another destination than CONNECT `{auth}`"
                ));
            }
        }
        t
    } else {
        let uri = req.uri();
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err("https URIs go through CONNECT".into()),
            Some(other) => return Err(format!("scheme `{other}` is not proxied")),
            None => {
                return Err(
                    "not a proxy request: use an absolute URI (http://host/path) or CONNECT".into(),
                )
            }
        }
        let auth = uri.authority().ok_or("the URI has no host")?.as_str();
        let t = parse_authority(auth, Some(80)).map_err(|e| e.0)?;
        if let Some(h) = host_header {
            let hs =
                parse_authority(h, Some(t.port)).map_err(|e| format!("Host header: {}", e.0))?;
            if hs.host != t.host || hs.port != t.port {
                return Err(format!(
                    "the Host header `{h}` names another destination than the URI `{auth}`"
                ));
            }
        }
        t
    };
    Ok(target)
}

/// The outcome of deciding a request.
struct Decided {
    target: Target,
    pick: Option<Placed>,
    /// `allow`, `deny` or `would_deny`.
    label: &'static str,
    proceed: bool,
}

async fn decide(shared: &Shared, target: Target) -> Result<Decided, (StatusCode, String)> {
    let k = shared.current().ok_or((
        StatusCode::SERVICE_UNAVAILABLE,
        "no policy loaded".to_string(),
    ))?;
    let addrs = match target.literal {
        Some(a) => vec![a],
        None => {
            match tokio::time::timeout(
                shared.limits.resolve_timeout,
                shared.resolver.resolve(&target.host, target.port),
            )
            .await
            {
                Ok(Ok(a)) if !a.is_empty() => a,
                Ok(Ok(_)) | Ok(Err(_)) => {
                    return Err((
                        StatusCode::BAD_GATEWAY,
                        format!("cannot resolve `{}`", target.host),
                    ))
                }
                Err(_) => {
                    return Err((
                        StatusCode::GATEWAY_TIMEOUT,
                        format!("resolving `{}` timed out", target.host),
                    ))
                }
            }
        }
    };
    let today = time::OffsetDateTime::now_utc().date();
    let placed = decide_all(&k, &target, &addrs, today);
    let pick = placed.into_iter().next();
    let allowed = pick
        .as_ref()
        .is_some_and(|p| p.decision.verdict == Verdict::Allow);
    let (label, proceed) = match (allowed, shared.mode) {
        (true, _) => ("allow", true),
        (false, Mode::Enforce) => ("deny", false),
        (false, Mode::Report) => ("would_deny", true),
        (false, Mode::Open) => ("allow", true),
    };
    Ok(Decided {
        target,
        pick,
        label,
        proceed,
    })
}

fn record(
    shared: &Shared,
    kind: &'static str,
    client: SocketAddr,
    d: &Decided,
    started: Instant,
) -> DecisionRecord {
    let p = d.pick.as_ref();
    DecisionRecord {
        time: crate::audit::store::now(),
        kind,
        client: client.to_string(),
        host: d.target.host.clone(),
        port: d.target.port,
        address: p.map(|p| p.addr.to_string()).unwrap_or_default(),
        country: p
            .and_then(|p| p.country)
            .map(|c| c.to_string())
            .unwrap_or_default(),
        decision: d.label,
        rule: p
            .and_then(|p| p.decision.rule)
            .map(|r| r.code().to_string())
            .unwrap_or_default(),
        reason: p.map(|p| p.decision.reason.clone()).unwrap_or_default(),
        mode: shared.mode.as_str(),
        bytes_up: 0,
        bytes_down: 0,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

fn denied(r: &DecisionRecord) -> Response<Body> {
    let body = serde_json::json!({
        "decision": "deny",
        "rule": r.rule,
        "reason": r.reason,
        "destination": format!("{}:{}", r.host, r.port),
        "address": r.address,
        "country": r.country,
    });
    let mut resp = full(
        StatusCode::FORBIDDEN,
        "application/json",
        format!("{body}\n"),
    );
    resp.headers_mut()
        .insert("x-residency-decision", HeaderValue::from_static("deny"));
    if let Ok(v) = HeaderValue::from_str(&r.rule) {
        resp.headers_mut().insert("x-residency-rule", v);
    }
    resp
}

async fn handle(req: Request<Incoming>, client: SocketAddr, shared: Arc<Shared>) -> Response<Body> {
    let started = Instant::now();
    let target = match target_of(&req) {
        Ok(t) => t,
        Err(why) => return bad_request(&shared, &why),
    };
    let kind = if req.method() == Method::CONNECT {
        "connect"
    } else {
        "http"
    };
    let d = match decide(&shared, target).await {
        Ok(d) => d,
        Err((status, why)) => return full(status, "text/plain; charset=utf-8", format!("{why}\n")),
    };
    shared.metrics.observe(started.elapsed().as_secs_f64());
    let mut rec = record(&shared, kind, client, &d, started);
    shared.metrics.decision(d.label, &rec.country, &rec.rule);
    let addr = match (&d.pick, d.proceed) {
        (Some(p), true) => SocketAddr::new(p.addr, d.target.port),
        _ => {
            let resp = denied(&rec);
            shared.sink.log(rec).await;
            return resp;
        }
    };
    if req.method() != Method::CONNECT {
        if let Some(sender) = shared.pool.take(addr) {
            return forward(req, Ok(sender), addr, &d.target, rec, started, shared).await;
        }
    }
    let upstream =
        match tokio::time::timeout(shared.limits.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                rec.reason = format!("{}; connect to {addr} failed: {e}", rec.reason);
                shared.sink.log(rec).await;
                return full(
                    StatusCode::BAD_GATEWAY,
                    "text/plain; charset=utf-8",
                    format!("cannot connect to {addr}\n"),
                );
            }
            Err(_) => {
                rec.reason = format!("{}; connect to {addr} timed out", rec.reason);
                shared.sink.log(rec).await;
                return full(
                    StatusCode::GATEWAY_TIMEOUT,
                    "text/plain; charset=utf-8",
                    format!("connecting to {addr} timed out\n"),
                );
            }
        };
    let _ = upstream.set_nodelay(true);
    if req.method() == Method::CONNECT {
        let idle = shared.limits.idle_timeout;
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                // The client's socket back from hyper: bytes then move socket to socket.
                let (up, down) = match upgraded.downcast::<TokioIo<TcpStream>>() {
                    Ok(parts) => relay(parts.io.into_inner(), parts.read_buf, upstream, idle).await,
                    // Connections are served over a plain `TcpStream`, so hyper
                    // always hands it back; were it not, the tunnel is closed
                    // unrelayed rather than relayed unmeasured.
                    Err(_) => {
                        rec.reason = format!("{}; tunnel not relayed", rec.reason);
                        (0, 0)
                    }
                };
                rec.bytes_up = up;
                rec.bytes_down = down;
            }
            rec.duration_ms = started.elapsed().as_millis() as u64;
            shared.sink.log(rec).await;
        });
        let mut r = Response::new(Full::new(Bytes::new()).map_err(|n| match n {}).boxed());
        r.headers_mut()
            .insert("x-residency-decision", HeaderValue::from_static("allow"));
        return r;
    }
    forward(req, Err(upstream), addr, &d.target, rec, started, shared).await
}

/// Hop-by-hop headers, never forwarded.
const HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

async fn forward(
    req: Request<Incoming>,
    upstream: Result<Upstream, TcpStream>,
    addr: SocketAddr,
    target: &Target,
    mut rec: DecisionRecord,
    started: Instant,
    shared: Arc<Shared>,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(uri) = path.parse::<http::Uri>() else {
        return bad_request(&shared, "bad path");
    };
    parts.uri = uri;
    for h in HOP {
        parts.headers.remove(h);
    }
    let host = if target.port == 80 {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    if let Ok(v) = HeaderValue::from_str(&host) {
        parts.headers.insert(header::HOST, v);
    }
    rec.bytes_up = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let out_req = Request::from_parts(parts, body);
    let mut sender = match upstream {
        Ok(pooled) => pooled,
        Err(stream) => match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok((sender, conn)) => {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }
            Err(e) => {
                rec.reason = format!("{}; upstream handshake failed: {e}", rec.reason);
                shared.sink.log(rec).await;
                return full(
                    StatusCode::BAD_GATEWAY,
                    "text/plain; charset=utf-8",
                    "upstream failed\n",
                );
            }
        },
    };
    let sent = sender.send_request(out_req).await;
    // Back to the pool: it is taken again only once the response body is through.
    shared.pool.put(addr, sender);
    match sent {
        Ok(resp) => {
            rec.bytes_down = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            rec.duration_ms = started.elapsed().as_millis() as u64;
            shared.sink.log(rec).await;
            let (mut parts, body) = resp.into_parts();
            for h in HOP {
                parts.headers.remove(h);
            }
            Response::from_parts(parts, body.boxed())
        }
        Err(e) => {
            rec.reason = format!("{}; upstream failed: {e}", rec.reason);
            shared.sink.log(rec).await;
            full(
                StatusCode::BAD_GATEWAY,
                "text/plain; charset=utf-8",
                "upstream failed\n",
            )
        }
    }
}

/// The admin listener: `/metrics`, `/healthz`, `/readyz`.
pub async fn serve_admin(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    serve_simple(listener, shared, shutdown, |req, shared| async move {
        match req.uri().path() {
            "/metrics" => full(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                shared.metrics.render(shared.pool.idle_connections()),
            ),
            "/healthz" => full(StatusCode::OK, "text/plain", "ok\n"),
            "/readyz" => {
                if shared.draining.load(Ordering::Relaxed) || shared.current().is_none() {
                    full(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "draining\n")
                } else {
                    full(StatusCode::OK, "text/plain", "ready\n")
                }
            }
            _ => full(
                StatusCode::NOT_FOUND,
                "text/plain",
                "try /metrics, /healthz, /readyz\n",
            ),
        }
    })
    .await;
}

/// Envoy's HTTP `ext_authz` service: Envoy forwards the original request's
/// headers; the decision is on its Host (`:authority`): 200 allows, 403 denies.
pub async fn serve_authz(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    serve_simple(listener, shared, shutdown, |req, shared| async move {
        let started = Instant::now();
        let Some(host) = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
        else {
            return bad_request(&shared, "no Host header");
        };
        let default_port = if req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|p| p.as_bytes() == b"http")
        {
            80
        } else {
            443
        };
        let target = match parse_authority(host, Some(default_port)) {
            Ok(t) => t,
            Err(e) => return bad_request(&shared, &e.0),
        };
        let client: SocketAddr = SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0);
        let d = match decide(&shared, target).await {
            Ok(d) => d,
            Err((status, why)) => {
                return full(status, "text/plain; charset=utf-8", format!("{why}\n"))
            }
        };
        shared.metrics.observe(started.elapsed().as_secs_f64());
        let rec = record(&shared, "authz", client, &d, started);
        shared.metrics.decision(d.label, &rec.country, &rec.rule);
        let resp = if d.proceed {
            let mut r = full(StatusCode::OK, "text/plain", "allow\n");
            r.headers_mut()
                .insert("x-residency-decision", HeaderValue::from_static("allow"));
            r
        } else {
            denied(&rec)
        };
        shared.sink.log(rec).await;
        resp
    })
    .await;
}

async fn serve_simple<F, Fut>(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    f: F,
) where
    F: Fn(Request<Incoming>, Arc<Shared>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        let f = f.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let s = shared.clone();
                let f = f.clone();
                async move { Ok::<_, std::convert::Infallible>(f(req, s).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// A connection whose closing the test controls.
    #[derive(Clone, Default)]
    struct Fake(Arc<AtomicBool>);

    impl Pooled for Fake {
        fn ready(&self) -> bool {
            true
        }
        fn closed(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 2], port))
    }

    #[test]
    fn a_connection_is_reused_only_for_its_address() {
        let pool = Pool::new(POOL_IDLE);
        pool.put(addr(1), Fake::default());
        assert!(pool.take(addr(2)).is_none());
        assert!(pool.take(addr(1)).is_some());
        assert!(pool.take(addr(1)).is_none());
        assert_eq!(pool.idle_connections(), 0);
    }

    #[test]
    fn stale_and_closed_connections_are_dropped() {
        let pool = Pool::new(Duration::from_millis(50));
        let closed = Fake::default();
        pool.put(addr(1), Fake::default());
        pool.put(addr(1), closed.clone());
        closed.0.store(true, Ordering::Relaxed);
        // The newest is closed: passed over for the older, still fresh one.
        assert!(pool.take(addr(1)).is_some_and(|c| !c.closed()));
        assert_eq!(pool.idle_connections(), 0);
        // Waiting past the idle time: not reused, and swept without a request.
        pool.put(addr(1), Fake::default());
        pool.put(addr(2), Fake::default());
        std::thread::sleep(Duration::from_millis(80));
        assert!(pool.take(addr(1)).is_none());
        assert_eq!(pool.idle_connections(), 1);
        pool.sweep();
        assert_eq!(pool.idle_connections(), 0);
        // A closed one is swept too.
        let gone = Fake::default();
        pool.put(addr(3), gone.clone());
        gone.0.store(true, Ordering::Relaxed);
        pool.sweep();
        assert_eq!(pool.idle_connections(), 0);
    }

    #[test]
    fn the_pool_is_bounded_per_address_and_in_all() {
        let pool = Pool::new(POOL_IDLE);
        for _ in 0..POOL_PER_ADDRESS + 10 {
            pool.put(addr(1), Fake::default());
        }
        assert_eq!(pool.idle_connections(), POOL_PER_ADDRESS);
        for port in 2..100 {
            for _ in 0..20 {
                pool.put(addr(port), Fake::default());
            }
        }
        assert_eq!(pool.idle_connections(), POOL_MAX);
        // Full of fresh connections: a new one is dropped, not kept.
        pool.put(addr(500), Fake::default());
        assert!(pool.take(addr(500)).is_none());
        assert_eq!(pool.idle_connections(), POOL_MAX);
    }

    /// A pool full of connections that waited past the idle time makes room for a
    /// new one: a put into a full pool sweeps (at most every sixtieth of the idle
    /// time).
    #[test]
    fn a_full_pool_of_stale_connections_takes_a_new_one() {
        let pool = Pool::new(Duration::from_millis(60));
        for port in 0..POOL_MAX {
            pool.put(addr(port as u16), Fake::default());
        }
        assert_eq!(pool.idle_connections(), POOL_MAX);
        std::thread::sleep(Duration::from_millis(80));
        pool.put(addr(5000), Fake::default());
        assert_eq!(pool.idle_connections(), 1);
        assert!(pool.take(addr(5000)).is_some());
    }
}
