//! Tunnel relays: bytes between the client's socket and the destination's, until
//! both sides close or neither moves a byte for the idle timeout. One task per
//! direction, so both cores move bytes. On Linux the bytes go socket → pipe →
//! socket with splice(2): the kernel hands pages along and nothing is copied
//! through the proxy's memory. Elsewhere they are read into a buffer and written
//! out.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// When either direction last moved a byte, in milliseconds since `epoch`: a
/// tunnel is idle only when both directions are.
struct Activity {
    epoch: Instant,
    last: AtomicU64,
    idle: Duration,
}

impl Activity {
    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Whether neither direction moved a byte for the idle timeout.
    fn quiet(&self) -> bool {
        let now = self.epoch.elapsed().as_millis() as u64;
        now.saturating_sub(self.last.load(Ordering::Relaxed)) >= self.idle.as_millis() as u64
    }

    /// Waits for `ready`; `None` when the tunnel went quiet meanwhile or `ready` failed.
    async fn wait<F: std::future::Future<Output = io::Result<()>>>(
        &self,
        mut ready: impl FnMut() -> F,
    ) -> Option<()> {
        loop {
            match tokio::time::timeout(self.idle, ready()).await {
                Ok(Ok(())) => return Some(()),
                Ok(Err(_)) => return None,
                Err(_) if self.quiet() => return None,
                Err(_) => {}
            }
        }
    }
}

/// Relays between two TCP sockets; `early` holds bytes the client sent before the
/// tunnel was up. Returns the bytes moved (client → destination, destination →
/// client).
pub async fn relay(
    client: TcpStream,
    early: bytes::Bytes,
    upstream: TcpStream,
    idle: Duration,
) -> (u64, u64) {
    let client = Arc::new(client);
    let upstream = Arc::new(upstream);
    let activity = Arc::new(Activity {
        epoch: Instant::now(),
        last: AtomicU64::new(0),
        idle,
    });
    if write_all(&upstream, &early, &activity).await.is_none() {
        return (0, 0);
    }
    let up = tokio::spawn(one_way(client.clone(), upstream.clone(), activity.clone()));
    let down = tokio::spawn(one_way(upstream, client, activity));
    let (up, down) = tokio::join!(up, down);
    (early.len() as u64 + up.unwrap_or(0), down.unwrap_or(0))
}

/// Writes all of `bytes` to a socket shared between tasks.
async fn write_all(to: &TcpStream, mut bytes: &[u8], activity: &Activity) -> Option<()> {
    while !bytes.is_empty() {
        activity.wait(|| to.writable()).await?;
        match to.try_write(bytes) {
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return None,
        }
    }
    Some(())
}

/// Moves bytes from `from` to `to` until `from` closes, then closes `to`'s
/// sending side. Returns the bytes moved.
async fn one_way(from: Arc<TcpStream>, to: Arc<TcpStream>, activity: Arc<Activity>) -> u64 {
    let moved = move_bytes(&from, &to, &activity).await;
    let _ = shutdown_write(&to);
    moved
}

#[cfg(target_os = "linux")]
fn shutdown_write(s: &TcpStream) -> io::Result<()> {
    rustix::net::shutdown(s, rustix::net::Shutdown::Write).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn shutdown_write(s: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write)
}

/// How much a pipe holds between the two sockets.
#[cfg(target_os = "linux")]
const PIPE_BYTES: usize = 1 << 20;

#[cfg(target_os = "linux")]
async fn move_bytes(from: &TcpStream, to: &TcpStream, activity: &Activity) -> u64 {
    use rustix::pipe::{pipe_with, splice, PipeFlags, SpliceFlags};
    let Ok((pipe_out, pipe_in)) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC) else {
        return copy_bytes(from, to, activity).await;
    };
    // Best effort: a bigger pipe means fewer calls; the default (64 KiB) works too.
    let capacity = rustix::pipe::fcntl_setpipe_size(&pipe_in, PIPE_BYTES).unwrap_or(1 << 16);
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    let mut total = 0u64;
    loop {
        // Fill the pipe from the source socket (the pipe is empty here).
        if activity.wait(|| from.readable()).await.is_none() {
            return total;
        }
        let filled = from.try_io(Interest::READABLE, || {
            splice(from, None, &pipe_in, None, capacity, flags).map_err(io::Error::from)
        });
        let mut in_pipe = match filled {
            Ok(0) => return total, // the source closed
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return total,
        };
        activity.touch();
        total += in_pipe as u64;
        // Drain it into the destination socket.
        while in_pipe > 0 {
            if activity.wait(|| to.writable()).await.is_none() {
                return total;
            }
            let drained = to.try_io(Interest::WRITABLE, || {
                splice(&pipe_out, None, to, None, in_pipe, flags).map_err(io::Error::from)
            });
            match drained {
                Ok(n) => in_pipe = in_pipe.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return total,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn move_bytes(from: &TcpStream, to: &TcpStream, activity: &Activity) -> u64 {
    copy_bytes(from, to, activity).await
}

/// Moves bytes through a buffer in the proxy's memory.
async fn copy_bytes(from: &TcpStream, to: &TcpStream, activity: &Activity) -> u64 {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        if activity.wait(|| from.readable()).await.is_none() {
            return total;
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return total,
        };
        activity.touch();
        if write_all(to, buf.get(..n).unwrap_or_default(), activity)
            .await
            .is_none()
        {
            return total;
        }
        total += n as u64;
    }
}
