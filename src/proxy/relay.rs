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
    let (up, down) = relay_both(client, early, upstream, idle).await;
    (up.bytes, down.bytes)
}

/// What one direction of a tunnel did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Moved {
    bytes: u64,
    /// Whether it went on with splice(2) after its first bytes.
    spliced: bool,
}

async fn relay_both(
    client: TcpStream,
    early: bytes::Bytes,
    upstream: TcpStream,
    idle: Duration,
) -> (Moved, Moved) {
    let client = Arc::new(client);
    let upstream = Arc::new(upstream);
    let activity = Arc::new(Activity {
        epoch: Instant::now(),
        last: AtomicU64::new(0),
        idle,
    });
    if write_all(&upstream, &early, &activity).await.is_none() {
        return (Moved::default(), Moved::default());
    }
    let up = tokio::spawn(one_way(client.clone(), upstream.clone(), activity.clone()));
    let down = tokio::spawn(one_way(upstream, client, activity));
    let (up, down) = tokio::join!(up, down);
    let mut up = up.unwrap_or_default();
    up.bytes += early.len() as u64;
    (up, down.unwrap_or_default())
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
/// sending side.
async fn one_way(from: Arc<TcpStream>, to: Arc<TcpStream>, activity: Arc<Activity>) -> Moved {
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

/// Bytes a direction copies through memory before it sets up a pipe for splice:
/// a short tunnel (most HTTPS requests) never opens one, which saves it two pipe
/// descriptors, the calls that make and size and close them, and the user's pipe
/// quota (`fs.pipe-user-pages-soft`), which then goes to the tunnels that carry
/// bulk data.
#[cfg(target_os = "linux")]
const SPLICE_AFTER: u64 = 256 * 1024;

/// The buffer of a direction that copies: taken when bytes are ready, kept while
/// more are, and given back once the source has none, so an idle tunnel holds none.
const COPY_BUFFER: usize = 64 * 1024;

#[cfg(target_os = "linux")]
async fn move_bytes(from: &TcpStream, to: &TcpStream, activity: &Activity) -> Moved {
    use rustix::pipe::{pipe_with, splice, PipeFlags, SpliceFlags};
    let (copied, open) = copy_bytes(from, to, activity, SPLICE_AFTER).await;
    let mut moved = Moved {
        bytes: copied,
        spliced: false,
    };
    if !open {
        return moved;
    }
    let Ok((pipe_out, pipe_in)) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC) else {
        moved.bytes += copy_bytes(from, to, activity, u64::MAX).await.0;
        return moved;
    };
    moved.spliced = true;
    // Best effort: a bigger pipe means fewer calls. When it cannot grow (a user
    // past `fs.pipe-user-pages-soft` gets pipes of two pages), what it holds.
    let capacity = rustix::pipe::fcntl_setpipe_size(&pipe_in, PIPE_BYTES)
        .or_else(|_| rustix::pipe::fcntl_getpipe_size(&pipe_in))
        .unwrap_or(1 << 12);
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    loop {
        // Fill the pipe from the source socket (the pipe is empty here).
        if activity.wait(|| from.readable()).await.is_none() {
            return moved;
        }
        let filled = from.try_io(Interest::READABLE, || {
            splice(from, None, &pipe_in, None, capacity, flags).map_err(io::Error::from)
        });
        let mut in_pipe = match filled {
            Ok(0) => return moved, // the source closed
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return moved,
        };
        activity.touch();
        moved.bytes += in_pipe as u64;
        // Drain it into the destination socket.
        while in_pipe > 0 {
            if activity.wait(|| to.writable()).await.is_none() {
                return moved;
            }
            let drained = to.try_io(Interest::WRITABLE, || {
                splice(&pipe_out, None, to, None, in_pipe, flags).map_err(io::Error::from)
            });
            match drained {
                Ok(n) => in_pipe = in_pipe.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return moved,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn move_bytes(from: &TcpStream, to: &TcpStream, activity: &Activity) -> Moved {
    Moved {
        bytes: copy_bytes(from, to, activity, u64::MAX).await.0,
        spliced: false,
    }
}

/// Moves bytes through a buffer in the proxy's memory until `from` closes (or
/// fails, or the tunnel goes quiet) or at least `until` bytes have moved. Returns
/// the bytes moved and whether the tunnel is still open.
async fn copy_bytes(
    from: &TcpStream,
    to: &TcpStream,
    activity: &Activity,
    until: u64,
) -> (u64, bool) {
    let mut total = 0u64;
    while total < until {
        if activity.wait(|| from.readable()).await.is_none() {
            return (total, false);
        }
        let mut buf = Vec::with_capacity(COPY_BUFFER);
        // Read and write while the source has bytes ready; the buffer goes when
        // it has none.
        while total < until {
            buf.clear();
            let n = match from.try_read_buf(&mut buf) {
                Ok(0) => return (total, false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return (total, false),
            };
            activity.touch();
            if write_all(to, buf.get(..n).unwrap_or_default(), activity)
                .await
                .is_none()
            {
                return (total, false);
            }
            total += n as u64;
        }
    }
    (total, true)
}

#[cfg(test)]
mod test {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A connected pair of loopback sockets.
    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    /// A tunnel's far ends (the client's and the destination's) and the relay
    /// between them.
    async fn tunnel(
        early: &'static [u8],
    ) -> (
        TcpStream,
        TcpStream,
        tokio::task::JoinHandle<(Moved, Moved)>,
    ) {
        let (client, client_side) = pair().await;
        let (upstream_side, upstream) = pair().await;
        let relay = tokio::spawn(relay_both(
            client_side,
            bytes::Bytes::from_static(early),
            upstream_side,
            Duration::from_secs(10),
        ));
        (client, upstream, relay)
    }

    /// Sends `n` patterned bytes one way while reading them the other, then closes
    /// the sender; the reader sees them all, in order, and then the close.
    async fn send_and_check(from: &mut TcpStream, to: &mut TcpStream, n: usize, seed: u8) {
        let data: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let expect = data.clone();
        let (r, w) = (to, from);
        let write = async move {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        };
        let read = async move {
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = tokio::join!(write, read);
        assert_eq!(got.len(), expect.len());
        assert!(got == expect, "the bytes differ");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_tunnel_copies_and_opens_no_pipe() {
        let (mut client, mut upstream, relay) = tunnel(b"early ").await;
        let mut got = [0u8; 6];
        upstream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"early ");
        send_and_check(&mut client, &mut upstream, 5_000, 1).await;
        send_and_check(&mut upstream, &mut client, 40_000, 2).await;
        let (up, down) = relay.await.unwrap();
        assert_eq!(
            (up, down),
            (
                Moved {
                    bytes: 5_006,
                    spliced: false
                },
                Moved {
                    bytes: 40_000,
                    spliced: false
                }
            )
        );
    }

    /// A download past the copy limit goes on with splice (on Linux), intact; the
    /// upload, short, still copies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bulk_direction_goes_on_with_splice() {
        let (mut client, mut upstream, relay) = tunnel(b"").await;
        send_and_check(&mut client, &mut upstream, 300, 3).await;
        send_and_check(&mut upstream, &mut client, 3 << 20, 4).await;
        let (up, down) = relay.await.unwrap();
        assert_eq!(
            up,
            Moved {
                bytes: 300,
                spliced: false
            }
        );
        assert_eq!(down.bytes, 3 << 20);
        assert_eq!(down.spliced, cfg!(target_os = "linux"));
    }
}
