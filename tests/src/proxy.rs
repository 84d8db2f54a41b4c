//! A TCP proxy on 127.0.0.1 that a test can make drop or delay a link: put between two
//! nodes (one node dials the proxy's port instead of the other's), it passes bytes through,
//! cuts every connection and refuses new ones while dropping, and holds each chunk back
//! while delaying.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes bytes through.
    Pass,
    /// Cuts every connection and refuses new ones.
    Drop,
    /// Holds each chunk back this long in each direction.
    Delay(Duration),
}

/// One proxied link; dropping it stops the proxy.
#[derive(Debug)]
pub struct LinkProxy {
    /// The port to dial instead of the target's.
    pub port: u16,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    /// Starts a proxy to `127.0.0.1:target` on the current runtime, passing bytes through.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a proxy port");
        let port = listener.local_addr().expect("its address").port();
        let (mode, watching) = watch::channel(Mode::Pass);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mode = watching.clone();
                if *mode.borrow() == Mode::Drop {
                    continue;
                }
                tokio::spawn(relay(inbound, target, mode));
            }
        });
        Self { port, mode, task }
    }

    /// Changes what the proxy does, to the connections it holds as well.
    pub fn set(&self, m: Mode) {
        self.mode.send_replace(m);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(Mode::Drop);
    }
}

/// Relays one connection until either side closes or the mode becomes [`Mode::Drop`].
async fn relay(inbound: TcpStream, target: u16, mut mode: watch::Receiver<Mode>) {
    let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (ri, wi) = inbound.into_split();
    let (ro, wo) = outbound.into_split();
    let there = pump(ri, wo, mode.clone());
    let back = pump(ro, wi, mode.clone());
    let cut = async {
        let _ = mode.wait_for(|m| *m == Mode::Drop).await;
    };
    tokio::select! {
        _ = there => {}
        _ = back => {}
        _ = cut => {}
    }
}

/// Copies one direction, holding each chunk back while the mode says so.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = *mode.borrow();
        match now {
            Mode::Drop => return,
            Mode::Delay(d) => tokio::time::sleep(d).await,
            Mode::Pass => {}
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        port
    }

    async fn round_trip(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut got = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut got))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(got.to_vec())
    }

    #[tokio::test]
    async fn passes_delays_and_cuts_a_link() {
        let proxy = LinkProxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");

        proxy.set(Mode::Delay(Duration::from_millis(150)));
        let t = std::time::Instant::now();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );

        // Dropping cuts the held connection and refuses a new one its bytes.
        proxy.set(Mode::Drop);
        assert!(round_trip(&mut s).await.is_err());
        let mut fresh = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        assert!(round_trip(&mut fresh).await.is_err());

        proxy.set(Mode::Pass);
        let mut healed = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        assert_eq!(round_trip(&mut healed).await.unwrap(), b"ping");
    }
}
