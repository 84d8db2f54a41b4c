//! A cap on unfinished inbound handshakes per source address. The office's pending
//! connections share one cap (`connection_limits`, [`super::net::NetLimits::pending_inbound`])
//! and a handshake may take seconds before it times out, so one host that keeps opening
//! connections and never finishes them would hold every slot and lock every other
//! enterprise out. Each source (an IPv4 address, an IPv6 /64) may hold at most
//! [`super::net::NetLimits::pending_per_source`] of them; past that its new connections
//! are refused at once, and the refusal is logged (once a minute per address).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, ListenFailure, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// How often a refused address is logged again.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered for the log's rate limit before the memory is cleared.
const LOGGED_MAX: usize = 10_000;

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("{ip} already has {max} unfinished handshakes")]
pub struct TooManyPending {
    /// The source address.
    pub ip: IpAddr,
    /// The cap.
    pub max: u32,
}

/// The behaviour: counts each source's pending inbound connections.
#[derive(Debug)]
pub struct Behaviour {
    max: u32,
    pending: HashMap<ConnectionId, IpAddr>,
    per_ip: HashMap<IpAddr, u32>,
    logged: HashMap<IpAddr, Instant>,
    refused: u64,
}

/// The source a multiaddr comes from, if it has an IP: the IPv4 address, or the /64 of
/// an IPv6 one (a single host is usually given a whole /64, so counting its addresses one
/// by one would cap nothing).
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(a) => Some(IpAddr::V4(a)),
        Protocol::Ip6(a) => Some(IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(a) & !((1u128 << 64) - 1),
        ))),
        _ => None,
    })
}

impl Behaviour {
    /// At most `max` unfinished handshakes per source address.
    pub fn new(max: u32) -> Self {
        Self {
            max,
            pending: HashMap::new(),
            per_ip: HashMap::new(),
            logged: HashMap::new(),
            refused: 0,
        }
    }

    /// Unfinished handshakes from `ip` now.
    pub fn pending_from(&self, ip: IpAddr) -> u32 {
        self.per_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn release(&mut self, id: ConnectionId) {
        if let Some(ip) = self.pending.remove(&id)
            && let Some(n) = self.per_ip.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    fn log_refusal(&mut self, ip: IpAddr) {
        let now = Instant::now();
        if self
            .logged
            .get(&ip)
            .is_some_and(|t| now.duration_since(*t) < LOG_EVERY)
        {
            return;
        }
        if self.logged.len() >= LOGGED_MAX {
            self.logged.clear();
        }
        self.logged.insert(ip, now);
        tracing::warn!(
            %ip,
            max = self.max,
            refused_in_all = self.refused,
            "refusing connections from an address with too many unfinished handshakes"
        );
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let n = self.per_ip.entry(ip).or_default();
        if *n >= self.max {
            self.refused += 1;
            self.log_refusal(ip);
            return Err(ConnectionDenied::new(TooManyPending { ip, max: self.max }));
        }
        *n += 1;
        self.pending.insert(connection_id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.release(connection_id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) = event {
            self.release(connection_id);
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, port: u16) -> Multiaddr {
        format!("/ip4/{ip}/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn one_source_is_capped_and_others_are_not_and_slots_come_back() {
        let mut b = Behaviour::new(3);
        let local = addr("127.0.0.1", 7300);
        let mut next = 0usize;
        let mut id = || {
            next += 1;
            ConnectionId::new_unchecked(next)
        };
        let attacker: Vec<ConnectionId> = (0..3).map(|_| id()).collect();
        for (i, c) in attacker.iter().enumerate() {
            b.handle_pending_inbound_connection(*c, &local, &addr("10.0.0.9", 1000 + i as u16))
                .unwrap();
        }
        // The fourth from the same host is refused; another host is not.
        assert!(
            b.handle_pending_inbound_connection(id(), &local, &addr("10.0.0.9", 2000))
                .is_err()
        );
        b.handle_pending_inbound_connection(id(), &local, &addr("10.0.0.10", 2000))
            .unwrap();
        assert_eq!(b.refused(), 1);
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(b.pending_from(ip), 3);
        // A handshake that finishes, and one that fails, each give a slot back.
        let peer = PeerId::random();
        b.handle_established_inbound_connection(attacker[0], peer, &local, &addr("10.0.0.9", 1000))
            .unwrap();
        b.release(attacker[1]);
        assert_eq!(b.pending_from(ip), 1);
        b.handle_pending_inbound_connection(id(), &local, &addr("10.0.0.9", 3000))
            .unwrap();
        assert_eq!(b.pending_from(ip), 2);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let mut b = Behaviour::new(2);
        let local: Multiaddr = "/ip6/::1/tcp/7300".parse().unwrap();
        let from = |a: &str| -> Multiaddr { format!("/ip6/{a}/tcp/4000").parse().unwrap() };
        b.handle_pending_inbound_connection(
            ConnectionId::new_unchecked(1),
            &local,
            &from("2001:db8:1:2::1"),
        )
        .unwrap();
        b.handle_pending_inbound_connection(
            ConnectionId::new_unchecked(2),
            &local,
            &from("2001:db8:1:2::ffff"),
        )
        .unwrap();
        assert!(
            b.handle_pending_inbound_connection(
                ConnectionId::new_unchecked(3),
                &local,
                &from("2001:db8:1:2:aaaa::9")
            )
            .is_err(),
            "the same /64"
        );
        b.handle_pending_inbound_connection(
            ConnectionId::new_unchecked(4),
            &local,
            &from("2001:db8:1:3::1"),
        )
        .unwrap();
    }
}
