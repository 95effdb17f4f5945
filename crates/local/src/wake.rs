//! Wake-ups: a commit that creates work wakes the long polls waiting for
//! it, in this process at once (a [`Notify`] per topic) and in the other
//! processes sharing the data dir (a datagram to each of their sockets).
//!
//! # Why Unix datagram sockets
//!
//! Each backend instance binds one Unix datagram socket in `wake/` under the
//! data dir (`wake/<pid>-<random>`); a writer sends a one-byte datagram (the
//! topics woken) to every other socket there. Alternatives weighed:
//!
//! - **inotify** (on the WAL file, or on a file every writer touches):
//!   writer-side cost is one syscall whatever the number of processes, but
//!   it cannot tell a writer's own process apart (each commit would wake
//!   the writer's own polls twice), carries no payload (a decision commit
//!   would wake the queue worker too), needs a dependency, is Linux-only,
//!   and inotify instances are a small per-user budget (128 by default).
//!   Watching the WAL would also wake everyone on every commit, claims and
//!   heartbeats included.
//! - **a futex in a shared mapping**: the cheapest, but needs `unsafe`
//!   (mmap, raw syscalls), which this workspace forbids.
//! - **Unix datagram sockets** (chosen): std only, no `unsafe`, no
//!   dependency; the sender skips its own socket, and the datagram carries
//!   the topics so only the polls that care wake (a decider is not woken by
//!   a queue message). A datagram never blocks the writer (non-blocking
//!   send; a full queue means the peer has wake-ups pending anyway). The
//!   cost is one `sendto` per other process per waking commit, a few
//!   microseconds, against a commit's fsync-free WAL write of tens.
//!
//! # Membership, crashes, restarts
//!
//! Senders cache the list of peer sockets. A new instance lists the
//! directory *after* binding and sends every peer a hello datagram, which
//! makes them re-list before their next send, so a new process is never
//! missed; the cache is also re-listed every 5 s as a safety net. A
//! process killed with SIGKILL leaves its socket file behind: the next send
//! to it fails with `ECONNREFUSED` (nobody bound), and the sender deletes
//! the file. Names carry the pid and a random part, so a file is never
//! reused by a later process. An instance dropped normally removes its own
//! socket and stops its receiver thread.
//!
//! # No lost wake-ups
//!
//! A long poll arms its [`Notify`] *before* reading the database (see
//! `LocalBackend::long_poll`). A writer sends its datagram after its commit;
//! the receiver thread calls `notify_waiters` after the datagram arrived. So
//! if the poll's read missed the commit, the commit (hence the datagram and
//! the notification) came after the poll armed, and the poll is woken.
//!
//! # Fallback
//!
//! Where this cannot work (not Unix; the socket could not be bound, e.g. a
//! read-only `wake/`; its receiver thread died), `Waker::cross_process` is
//! false and long polls re-read the database every `poll_interval`, as they
//! always do between wake-ups anyway for other processes' timers and
//! timeouts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Name of the directory of wake-up sockets inside the data dir.
pub const WAKE_DIR: &str = "wake";

/// What a commit produced, as a bit set: only polls waiting for one of
/// these topics wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Topics(u8);

impl Topics {
    /// Nothing anyone waits for.
    pub(crate) const NONE: Topics = Topics(0);
    /// A decision task became ready (or a timer/timeout was processed).
    pub(crate) const DECISION: Topics = Topics(1);
    /// An activity task became ready.
    pub(crate) const ACTIVITY: Topics = Topics(2);
    /// A queue message became visible.
    pub(crate) const QUEUE: Topics = Topics(4);
    /// Both kinds of workflow polls: either processes due timeouts and
    /// timers (see `Ctx::note_deadline`).
    pub(crate) const WORKFLOW: Topics = Topics(1 | 2);
    /// Every topic: for callers that do not say.
    pub(crate) const ALL: Topics = Topics(1 | 2 | 4);
    /// Not a topic: a new instance says hello, peers re-list the directory.
    const HELLO: u8 = 0x80;
    /// Not a topic: the instance's own drop stopping its receiver.
    const CLOSE: u8 = 0x40;

    pub(crate) fn is_empty(self) -> bool {
        self.0 & Topics::ALL.0 == 0
    }

    fn index(self) -> usize {
        match self {
            Topics::DECISION => 0,
            Topics::ACTIVITY => 1,
            _ => 2,
        }
    }
}

impl std::ops::BitOr for Topics {
    type Output = Topics;
    fn bitor(self, rhs: Topics) -> Topics {
        Topics(self.0 | rhs.0)
    }
}

/// State shared between the [`Waker`] and its receiver thread.
#[derive(Debug, Default)]
struct Shared {
    /// One per topic (decision, activity, queue).
    notify: [Notify; 3],
    /// A hello arrived: re-list peers before the next send.
    relist: AtomicBool,
    /// The receiver thread is running (cross-process wake-ups work).
    receiving: AtomicBool,
    /// The waker is being dropped: the receiver thread must stop.
    closed: AtomicBool,
}

impl Shared {
    fn notify(&self, topics: Topics) {
        for (i, n) in self.notify.iter().enumerate() {
            if topics.0 & (1 << i) != 0 {
                n.notify_waiters();
            }
        }
    }
}

/// One per backend instance: wakes this instance's long polls, and the
/// other instances' (this process's or others') through their sockets.
#[derive(Debug)]
pub(crate) struct Waker {
    shared: Arc<Shared>,
    #[cfg(unix)]
    peers: Option<unix::Peers>,
}

impl Waker {
    /// Bind this instance's socket under `data_dir/wake` and start its
    /// receiver. Never fails: without a socket, wake-ups stay in-process
    /// and long polls fall back to polling (logged once, as a warning).
    pub(crate) fn open(data_dir: &std::path::Path) -> Waker {
        let shared = Arc::new(Shared::default());
        #[cfg(unix)]
        {
            let peers = match unix::Peers::open(data_dir, shared.clone()) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(data_dir = %data_dir.display(), error = %e,
                        "no cross-process wake-up: long polls will notice other processes' writes every poll_interval");
                    None
                }
            };
            Waker { shared, peers }
        }
        #[cfg(not(unix))]
        {
            let _ = data_dir;
            Waker { shared }
        }
    }

    /// Wake the polls waiting for `topics`: this instance's at once, and
    /// every other instance's on the data dir through a datagram.
    pub(crate) fn wake(&self, topics: Topics) {
        if topics.is_empty() {
            return;
        }
        self.shared.notify(topics);
        #[cfg(unix)]
        if let Some(peers) = &self.peers {
            peers.send(topics.0);
        }
    }

    /// The notification a poll waiting for `topic` arms (call `enable` on
    /// it before reading the database).
    pub(crate) fn notified(&self, topic: Topics) -> tokio::sync::futures::Notified<'_> {
        self.shared.notify[topic.index()].notified()
    }

    /// Whether other processes' writes wake this instance's polls: if not,
    /// polls must re-read the database every `poll_interval`.
    pub(crate) fn cross_process(&self) -> bool {
        self.shared.receiving.load(Ordering::Acquire)
    }
}

#[cfg(unix)]
impl Drop for Waker {
    fn drop(&mut self) {
        if let Some(peers) = &self.peers {
            peers.close();
        }
    }
}

#[cfg(unix)]
mod unix {
    use super::{Shared, Topics, WAKE_DIR};
    use std::ffi::OsString;
    use std::io::ErrorKind;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Re-list the peers at least this often, in case a hello was lost.
    pub(super) const RELIST: Duration = Duration::from_secs(5);

    /// Stack of the receiver thread: it only receives and notifies.
    const RECEIVER_STACK: usize = 64 * 1024;

    /// This instance's socket, and the peers it wakes.
    #[derive(Debug)]
    pub(super) struct Peers {
        /// `data_dir/wake`, for listing and deleting stale sockets.
        dir: PathBuf,
        /// Prefix of socket addresses: `dir`, or `/proc/self/fd/<n>` of an
        /// open handle on it when `dir` is too long for a socket address
        /// (108 bytes on Linux).
        base: PathBuf,
        _dir_handle: Option<std::fs::File>,
        /// This instance's socket file name.
        me: OsString,
        /// Unbound, non-blocking: sends never wait for a slow peer.
        sender: UnixDatagram,
        /// A handle on the receiving socket, to shut it down on drop.
        receiver: UnixDatagram,
        cache: Mutex<Cache>,
        shared: Arc<Shared>,
    }

    #[derive(Debug)]
    struct Cache {
        peers: Vec<(OsString, SocketAddr)>,
        listed: Instant,
    }

    impl Peers {
        pub(super) fn open(data_dir: &Path, shared: Arc<Shared>) -> std::io::Result<Peers> {
            let dir = data_dir.join(WAKE_DIR);
            std::fs::create_dir_all(&dir)?;
            let me = OsString::from(format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ));
            let (base, handle) = if SocketAddr::from_pathname(dir.join(&me)).is_ok() {
                (dir.clone(), None)
            } else {
                open_short_base(&dir)?
            };
            let receiver = UnixDatagram::bind(base.join(&me))?;
            let sender = UnixDatagram::unbound()?;
            sender.set_nonblocking(true)?;
            let peers = Peers {
                dir,
                base,
                _dir_handle: handle,
                me,
                sender,
                receiver: receiver.try_clone()?,
                cache: Mutex::new(Cache {
                    peers: Vec::new(),
                    listed: Instant::now(),
                }),
                shared: shared.clone(),
            };
            let name = format!("pressbot-wake-{}", peers.me.to_string_lossy());
            shared.receiving.store(true, Ordering::Release);
            let thread_shared = shared.clone();
            if let Err(e) = std::thread::Builder::new()
                .name(name)
                .stack_size(RECEIVER_STACK)
                .spawn(move || receive(receiver, thread_shared))
            {
                shared.receiving.store(false, Ordering::Release);
                let _ = std::fs::remove_file(peers.dir.join(&peers.me));
                return Err(e);
            }
            // Listed after binding: a peer that lists before we bound gets
            // our hello and re-lists; one that lists after sees our file.
            {
                let mut cache = peers.lock();
                peers.relist(&mut cache);
                peers.send_locked(&mut cache, Topics::HELLO);
            }
            tracing::debug!(socket = %peers.dir.join(&peers.me).display(), "cross-process wake-up bound");
            Ok(peers)
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
            self.cache.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Send `byte` to every peer, re-listing first if due.
        pub(super) fn send(&self, byte: u8) {
            let mut cache = self.lock();
            if self.shared.relist.swap(false, Ordering::AcqRel) || cache.listed.elapsed() > RELIST {
                self.relist(&mut cache);
            }
            self.send_locked(&mut cache, byte);
        }

        fn send_locked(&self, cache: &mut Cache, byte: u8) {
            cache.peers.retain(|(name, addr)| {
                match self.sender.send_to_addr(&[byte], addr) {
                    Ok(_) => true,
                    // The peer's queue is full: it has wake-ups pending.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => true,
                    // Nobody bound: its process died without cleaning up.
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        let path = self.dir.join(name);
                        match std::fs::remove_file(&path) {
                            Ok(()) => {
                                tracing::debug!(socket = %path.display(), "removed the wake-up socket of a dead process")
                            }
                            Err(e) if e.kind() == ErrorKind::NotFound => {}
                            Err(e) => {
                                tracing::debug!(socket = %path.display(), error = %e, "could not remove a stale wake-up socket")
                            }
                        }
                        false
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => false,
                    Err(e) => {
                        tracing::debug!(socket = ?name, error = %e, "wake-up datagram not sent");
                        true
                    }
                }
            });
        }

        fn relist(&self, cache: &mut Cache) {
            cache.listed = Instant::now();
            cache.peers.clear();
            let entries = match std::fs::read_dir(&self.dir) {
                Ok(e) => e,
                Err(e) => {
                    tracing::debug!(dir = %self.dir.display(), error = %e, "could not list wake-up sockets");
                    return;
                }
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name == self.me {
                    continue;
                }
                if let Ok(addr) = SocketAddr::from_pathname(self.base.join(&name)) {
                    cache.peers.push((name, addr));
                }
            }
        }

        /// Stop the receiver thread and remove our socket.
        pub(super) fn close(&self) {
            self.shared.closed.store(true, Ordering::Release);
            let _ = self.receiver.shutdown(std::net::Shutdown::Read);
            // Belt and braces where shutdown does not wake a blocked recv.
            let _ = self
                .sender
                .send_to(&[Topics::CLOSE], self.base.join(&self.me));
            let _ = std::fs::remove_file(self.dir.join(&self.me));
        }
    }

    /// A socket address prefix short enough for `dir`: `/proc/self/fd/<n>`
    /// of an open handle on it (Linux resolves paths through it).
    fn open_short_base(dir: &Path) -> std::io::Result<(PathBuf, Option<std::fs::File>)> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let handle = std::fs::File::open(dir)?;
            let base = PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd()));
            Ok((base, Some(handle)))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(std::io::Error::new(
                ErrorKind::InvalidInput,
                format!("{} is too long for a Unix socket address", dir.display()),
            ))
        }
    }

    /// The receiver thread: each datagram wakes the polls of its topics.
    fn receive(socket: UnixDatagram, shared: Arc<Shared>) {
        let mut buf = [0u8; 16];
        loop {
            let got = socket.recv(&mut buf);
            if shared.closed.load(Ordering::Acquire) {
                break;
            }
            match got {
                Ok(0) => {}
                Ok(_) => {
                    let byte = buf[0];
                    if byte & Topics::HELLO != 0 {
                        shared.relist.store(true, Ordering::Release);
                    }
                    shared.notify(Topics(byte & Topics::ALL.0));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "wake-up socket failed: falling back to polling every poll_interval");
                    break;
                }
            }
        }
        shared.receiving.store(false, Ordering::Release);
    }
}
