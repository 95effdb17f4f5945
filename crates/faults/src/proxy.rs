//! A TCP proxy that misbehaves per connection, for putting in front of moto
//! (or any HTTP service): what [`crate::FaultyBackend`] cannot do is break
//! the bytes on the wire, half-way through a request or a response, where
//! the SDK's HTTP stack and the backend's retry classification meet them.
//!
//! Each accepted connection is numbered from 0 and the plan (a function of
//! that number) picks its fate: pass through, reset (after reading part of
//! the request), delay, or cut the response after some bytes. HTTP clients
//! keep connections alive, so a fault kills one connection and the client's
//! next attempt opens a new one: a plan like "connections 0 and 1 fail,
//! the rest pass" makes one call fail twice then succeed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Forward both ways untouched.
    Pass,
    /// Read (part of) the request, then reset the connection (RST): the
    /// request never reaches the server.
    Reset,
    /// Wait this long before forwarding anything.
    Delay(Duration),
    /// Forward the request; forward only this many bytes of the response,
    /// then close: the server acted, the client saw a truncated answer.
    CutResponse { after_bytes: usize },
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward to `upstream`, each
    /// connection's fault chosen by `plan(connection number)`.
    pub async fn start<P>(upstream: SocketAddr, plan: P) -> std::io::Result<FaultProxy>
    where
        P: Fn(u64) -> ConnectionFault + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let fault = plan(n);
                tracing::debug!(connection = n, ?fault, "proxy connection");
                tokio::spawn(async move {
                    if let Err(e) = handle(client, upstream, fault).await {
                        tracing::debug!(connection = n, error = %e, "proxy connection ended");
                    }
                });
            }
        });
        Ok(FaultProxy {
            addr,
            accepted,
            task,
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, to use as an endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Close with RST rather than FIN, as a crashed peer or a middlebox does.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: ConnectionFault,
) -> std::io::Result<()> {
    match fault {
        ConnectionFault::Reset => {
            let mut buf = [0u8; 64];
            let _ = client.read(&mut buf).await?;
            reset(client);
            Ok(())
        }
        ConnectionFault::Delay(d) => {
            tokio::time::sleep(d).await;
            let mut server = TcpStream::connect(upstream).await?;
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
            Ok(())
        }
        ConnectionFault::Pass => {
            let mut server = TcpStream::connect(upstream).await?;
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
            Ok(())
        }
        ConnectionFault::CutResponse { after_bytes } => {
            let server = TcpStream::connect(upstream).await?;
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            let requests = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
            });
            let mut left = after_bytes;
            let mut buf = vec![0u8; 8192];
            while left > 0 {
                let n = server_read.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                let take = n.min(left);
                client_write.write_all(&buf[..take]).await?;
                left -= take;
            }
            client_write.flush().await?;
            // Dropping both halves closes the socket mid-response.
            requests.abort();
            Ok(())
        }
    }
}
