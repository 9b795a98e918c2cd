//! Load generator and origin for `benches/proxy.sh` (loopback only).
//!
//!   proxy_load origin ADDR                       serve `GET /` (small body) and `GET /bulk/N` (N bytes)
//!   proxy_load http PROXY|direct ORIGIN CONC SECS    keep-alive plain-HTTP requests: req/s, p50, p99
//!   proxy_load connect PROXY ORIGIN CONC SECS    one CONNECT tunnel per request: req/s, p50, p99
//!   proxy_load bulk PROXY|direct ORIGIN BYTES    one download through a tunnel (or direct): MB/s
//!   proxy_load idle PROXY N PID                  N idle connections held open: the proxy's RSS
//!   proxy_load tunnels PROXY ORIGIN N PID        N CONNECT tunnels, one request each, then held
//!                                                idle: the proxy's RSS and open descriptors
//!
//! Prints one line of `key=value` figures per run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        match args.first().map(String::as_str) {
            Some("origin") => origin(args[1].parse().unwrap()).await,
            Some("http") => {
                load(
                    &args[1],
                    args[2].parse().unwrap(),
                    args[3].parse().unwrap(),
                    args[4].parse().unwrap(),
                    false,
                    args.get(5).map(|r| r.parse().unwrap()),
                )
                .await
            }
            Some("connect") => {
                load(
                    &args[1],
                    args[2].parse().unwrap(),
                    args[3].parse().unwrap(),
                    args[4].parse().unwrap(),
                    true,
                    None,
                )
                .await
            }
            Some("bulk") => {
                bulk(&args[1], args[2].parse().unwrap(), args[3].parse().unwrap()).await
            }
            Some("tunnels") => {
                tunnels(
                    args[1].parse().unwrap(),
                    args[2].parse().unwrap(),
                    args[3].parse().unwrap(),
                    args[4].parse().unwrap(),
                )
                .await
            }
            Some("idle") => {
                idle(
                    args[1].parse().unwrap(),
                    args[2].parse().unwrap(),
                    args[3].parse().unwrap(),
                )
                .await
            }
            _ => eprintln!(
                "usage: see the header of benches/proxy_load.rs (run through benches/proxy.sh)"
            ),
        }
    });
}

/// Reads one HTTP response (headers and a Content-Length body); returns the body length.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    buf.clear();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            let mut have = buf.len() - end - 4;
            while have < len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                have += n;
            }
            return Some(len);
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn origin(addr: SocketAddr) {
    let l = TcpListener::bind(addr).await.unwrap();
    eprintln!("origin on {addr}");
    loop {
        let (mut s, _) = l.accept().await.unwrap();
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16384];
            loop {
                let n = match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    buf.drain(..end + 4);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let bulk = path
                        .rsplit_once("/bulk/")
                        .and_then(|(_, n)| n.parse::<u64>().ok());
                    match bulk {
                        Some(n) => {
                            let h = format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n");
                            if s.write_all(h.as_bytes()).await.is_err() {
                                return;
                            }
                            let block = vec![b'x'; 256 * 1024];
                            let mut left = n;
                            while left > 0 {
                                let k = left.min(block.len() as u64) as usize;
                                if s.write_all(&block[..k]).await.is_err() {
                                    return;
                                }
                                left -= k as u64;
                            }
                        }
                        None => {
                            let body = "hello from the origin\n";
                            let r = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(r.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Requests over `conc` connections for `secs` seconds: as fast as answers come
/// (closed loop), or at `rate` requests per second in all, each connection on its
/// own schedule; a request held up by the one before it counts from when it was
/// due (so a stall is not hidden by the requests it delayed).
async fn load(
    proxy: &str,
    origin: SocketAddr,
    conc: usize,
    secs: u64,
    tunnel: bool,
    rate: Option<f64>,
) {
    let direct = proxy == "direct";
    let proxy: Option<SocketAddr> = (!direct).then(|| proxy.parse().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let interval = rate.map(|r| Duration::from_secs_f64(conc as f64 / r));
    for i in 0..conc {
        let stop = stop.clone();
        let mut due = interval.map(|iv| tokio::time::Instant::now() + iv * i as u32 / conc as u32);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut buf = Vec::with_capacity(4096);
            let mut conn: Option<TcpStream> = None;
            while !stop.load(Ordering::Relaxed) {
                let mut t = Instant::now();
                if let (Some(d), Some(iv)) = (due.as_mut(), interval) {
                    tokio::time::sleep_until(*d).await;
                    // tokio's timer wakes up to a millisecond late: that is not the
                    // proxy's. A request that goes out later than that was held up
                    // by the one before it, and counts from when it was due.
                    t = Instant::now();
                    if t > d.into_std() + Duration::from_millis(2) {
                        t = d.into_std();
                    }
                    *d += iv;
                }
                if tunnel {
                    let mut s = TcpStream::connect(proxy.unwrap()).await.unwrap();
                    let _ = s.set_nodelay(true);
                    s.write_all(
                        format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes(),
                    )
                    .await
                    .unwrap();
                    if read_response(&mut s, &mut buf).await.is_none() {
                        errors += 1;
                        continue;
                    }
                    s.write_all(
                        format!("GET / HTTP/1.1\r\nHost: {origin}\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    )
                    .await
                    .unwrap();
                    if read_response(&mut s, &mut buf).await.is_none() {
                        errors += 1;
                        continue;
                    }
                } else {
                    if conn.is_none() {
                        let s = TcpStream::connect(proxy.unwrap_or(origin)).await.unwrap();
                        let _ = s.set_nodelay(true);
                        conn = Some(s);
                    }
                    let s = conn.as_mut().unwrap();
                    let req = if direct {
                        format!("GET / HTTP/1.1\r\nHost: {origin}\r\n\r\n")
                    } else {
                        format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n")
                    };
                    if s.write_all(req.as_bytes()).await.is_err()
                        || read_response(s, &mut buf).await.is_none()
                    {
                        errors += 1;
                        conn = None;
                        continue;
                    }
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "requests={} errors={errors} rps={:.0} p50_ms={:.3} p99_ms={:.3}",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.99)
    );
}

async fn bulk(proxy: &str, origin: SocketAddr, bytes: u64) {
    let t = Instant::now();
    let mut s = if proxy == "direct" {
        TcpStream::connect(origin).await.unwrap()
    } else {
        let mut s = TcpStream::connect(proxy.parse::<SocketAddr>().unwrap())
            .await
            .unwrap();
        s.write_all(format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = Vec::new();
        read_response(&mut s, &mut buf).await.unwrap();
        s
    };
    s.write_all(format!("GET /bulk/{bytes} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let got = read_response(&mut s, &mut buf).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "bytes={got} seconds={secs:.3} mb_per_s={:.0}",
        got as f64 / secs / 1e6
    );
}

/// A process's resident memory in KiB.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// A process's open descriptors: sockets, pipes, and the rest.
fn descriptors(pid: u32) -> (usize, usize, usize) {
    let mut kinds = (0, 0, 0);
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        match std::fs::read_link(e.path()) {
            Ok(t) if t.to_string_lossy().starts_with("socket:") => kinds.0 += 1,
            Ok(t) if t.to_string_lossy().starts_with("pipe:") => kinds.1 += 1,
            _ => kinds.2 += 1,
        }
    }
    kinds
}

async fn tunnels(proxy: SocketAddr, origin: SocketAddr, n: usize, pid: u32) {
    let (rss_before, fds_before) = (rss(pid), descriptors(pid));
    let mut held = Vec::with_capacity(n);
    let mut buf = Vec::new();
    for _ in 0..n {
        let Ok(mut s) = TcpStream::connect(proxy).await else {
            eprintln!("stopped at {} tunnels", held.len());
            break;
        };
        s.write_all(format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        read_response(&mut s, &mut buf).await.unwrap();
        s.write_all(format!("GET / HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        read_response(&mut s, &mut buf).await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_after, fds_after) = (rss(pid), descriptors(pid));
    println!(
        "tunnels={} rss_before_mib={:.1} rss_idle_mib={:.1} sockets={} pipes={} other_fds={}",
        held.len(),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        fds_after.0 as i64 - fds_before.0 as i64,
        fds_after.1 as i64 - fds_before.1 as i64,
        fds_after.2 as i64 - fds_before.2 as i64,
    );
}

async fn idle(proxy: SocketAddr, n: usize, pid: u32) {
    let rss = || rss(pid);
    let before = rss();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect(proxy).await {
            Ok(s) => held.push(s),
            Err(e) => {
                eprintln!("stopped at {} connections: {e}", held.len());
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss();
    println!(
        "connections={} rss_before_mib={:.1} rss_idle_mib={:.1}",
        held.len(),
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
}
