//! `residency proxy`: a sidecar egress proxy that refuses destinations in
//! countries the policy does not allow, with every decision on record.
//!
//! Per request: parse the destination strictly ([`target`]), resolve it once,
//! place every address (internal ranges, geodb) and ask the engine
//! ([`crate::engine::decide_connection`]); then dial exactly an address that was
//! checked, so a resolver that changes its answer cannot slip another one in.

pub mod decide;
pub mod metrics;
pub mod record;
pub mod relay;
pub mod server;
pub mod target;

use decide::{Knowledge, Resolve};
use server::{Limits, Mode, Shared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where the knowledge comes from, so it can be reloaded.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Policy preset name or file.
    pub policy: String,
    /// Geodb file (`None`: the embedded one).
    pub geodb: Option<PathBuf>,
    /// Replacement adequacy list.
    pub adequacy: Option<PathBuf>,
}

impl Sources {
    /// Loads and validates everything; an error leaves the old knowledge in force.
    pub fn load(&self) -> anyhow::Result<Knowledge> {
        let policy = crate::policies::load(&self.policy)?;
        let knowledge = crate::knowledge::Knowledge::load(self.adequacy.as_deref(), None)?;
        let geo: Arc<dyn crate::geo::GeoLookup> = Arc::new(match &self.geodb {
            Some(p) => crate::geo::maxmind::GeoDb::open(p)?,
            None => crate::geo::maxmind::GeoDb::embedded()?,
        });
        Ok(Knowledge {
            policy_label: format!("{} ({})", policy.policy.name, policy.hash),
            policy: policy.policy,
            legal: knowledge.legal,
            geo,
        })
    }

    /// The files to watch for changes.
    fn files(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        let p = PathBuf::from(&self.policy);
        if p.is_file() {
            v.push(p);
        }
        v.extend(self.geodb.clone());
        v.extend(self.adequacy.clone());
        v
    }
}

/// The proxy's configuration.
pub struct Config {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Admin listener (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: Option<SocketAddr>,
    /// Envoy `ext_authz` listener.
    pub authz_listen: Option<SocketAddr>,
    /// The mode.
    pub mode: Mode,
    /// Knowledge sources.
    pub sources: Sources,
    /// Name resolution.
    pub resolver: Arc<dyn Resolve>,
    /// Decisions as JSON lines on stdout.
    pub json_log: bool,
    /// The audit store, when decisions are recorded.
    pub store: Option<crate::audit::Store>,
    /// Limits.
    pub limits: Limits,
    /// How long to wait for open connections on shutdown.
    pub drain_timeout: Duration,
    /// How often to look for changed policy or geodb files (`None`: only on SIGHUP).
    pub watch_interval: Option<Duration>,
}

/// A running proxy.
pub struct Running {
    /// Where it listens.
    pub listen: SocketAddr,
    /// The admin listener.
    pub admin: Option<SocketAddr>,
    /// The `ext_authz` listener.
    pub authz: Option<SocketAddr>,
    /// What the listeners share.
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<Result<(), String>>>,
    sources: Sources,
    drain_timeout: Duration,
}

/// Binds the listeners and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let knowledge = config.sources.load()?;
    // Every listener is bound before any is served: an address that cannot be
    // bound fails the start with nothing left listening.
    let main = bind(config.listen).await?;
    let admin = bind_if(config.admin_listen).await?;
    let authz = bind_if(config.authz_listen).await?;
    let listen = main.local_addr()?;
    let admin_at = admin.as_ref().map(TcpListener::local_addr).transpose()?;
    let authz_at = authz.as_ref().map(TcpListener::local_addr).transpose()?;
    let (sink, writer) = record::start(config.json_log, config.store);
    let shared = Arc::new(Shared {
        knowledge: RwLock::new(Arc::new(knowledge)),
        resolver: config.resolver,
        mode: config.mode,
        metrics: metrics::Metrics::default(),
        sink,
        limits: config.limits,
        draining: AtomicBool::new(false),
        pool: server::Pool::new(server::POOL_IDLE),
    });
    let (tx, rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(server::serve_proxy(
        main,
        shared.clone(),
        rx.clone(),
    ))];
    if let Some(l) = admin {
        tasks.push(tokio::spawn(server::serve_admin(
            l,
            shared.clone(),
            rx.clone(),
        )));
    }
    if let Some(l) = authz {
        tasks.push(tokio::spawn(server::serve_authz(
            l,
            shared.clone(),
            rx.clone(),
        )));
    }
    {
        // Idle destination connections are closed once they waited too long, even
        // when no request comes to find them.
        let shared = shared.clone();
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(server::POOL_IDLE / 6) => shared.pool.sweep(),
                    _ = rx.changed() => break,
                }
            }
        }));
    }
    if let Some(every) = config.watch_interval {
        let shared = shared.clone();
        let sources = config.sources.clone();
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let stamp = |files: &[PathBuf]| -> Vec<Option<std::time::SystemTime>> {
                files
                    .iter()
                    .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
                    .collect()
            };
            let files = sources.files();
            let mut last = stamp(&files);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = rx.changed() => break,
                }
                let now = stamp(&files);
                if now != last {
                    last = now;
                    let _ = reload(&shared, &sources);
                }
            }
        }));
    }
    Ok(Running {
        listen,
        admin: admin_at,
        authz: authz_at,
        shared,
        shutdown: tx,
        tasks,
        writer,
        sources: config.sources,
        drain_timeout: config.drain_timeout,
    })
}

/// Validates the sources and swaps them in; on error the old knowledge stays.
pub fn reload(shared: &Shared, sources: &Sources) -> anyhow::Result<()> {
    match sources.load() {
        Ok(k) => {
            shared.swap(k);
            shared.metrics.reload("ok");
            Ok(())
        }
        Err(e) => {
            shared.metrics.reload("failed");
            Err(e)
        }
    }
}

impl Running {
    /// Reloads the policy and the geodb (what SIGHUP does).
    pub fn reload(&self) -> anyhow::Result<()> {
        reload(&self.shared, &self.sources)
    }

    /// Stops accepting, lets open connections finish (up to the drain timeout),
    /// then flushes the decision log.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shared.draining.store(true, Ordering::Relaxed);
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        while self.shared.metrics.active.load(Ordering::Relaxed) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Dropping the last sink closes the queue; the writer drains it and stops.
        let shared = self.shared;
        drop(shared);
        if let Some(w) = self.writer {
            // Tunnels still open past the drain timeout hold the queue open: give the
            // writer a bounded time to flush what it has.
            let joined = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::task::spawn_blocking(move || w.join()),
            )
            .await;
            match joined {
                Ok(Ok(Ok(Ok(())))) => {}
                Ok(Ok(Ok(Err(e)))) => anyhow::bail!("the audit writer failed: {e}"),
                Ok(_) => anyhow::bail!("the audit writer stopped"),
                Err(_) => anyhow::bail!("connections were still open after the drain timeout; their decisions are not recorded"),
            }
        }
        Ok(())
    }
}

/// Listens on `addr`, or says where it could not.
async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Listens on `addr` when one is given (the admin and authz listeners).
async fn bind_if(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    match addr {
        Some(a) => bind(a).await.map(Some),
        None => Ok(None),
    }
}
