//! Length-prefixed framing of protocol messages for libp2p request-response, with limits
//! checked before any allocation.

use exlic_client::protocol::{MAX_REQUEST, MAX_RESPONSE, PROTOCOL, Request, Response};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The codec.
#[derive(Debug, Clone, Default)]
pub struct Codec;

/// An inbound request as read off the wire. libp2p's request-response only logs a failed
/// read, so the codec reports a malformed, truncated or oversized request as a value and
/// the server drops the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A well-formed request.
    Valid(Request),
    /// What was wrong with the frame.
    Malformed(String),
}

/// The protocol name as libp2p wants it.
pub fn protocol() -> StreamProtocol {
    StreamProtocol::new(PROTOCOL)
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes over the limit of {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, body: &[u8]) -> std::io::Result<()> {
    io.write_all(&(body.len() as u32).to_be_bytes()).await?;
    io.write_all(body).await?;
    io.close().await
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Inbound;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Inbound> {
        Ok(match read_frame(io, MAX_REQUEST).await {
            Ok(body) => match Request::decode(&body) {
                Ok(r) => Inbound::Valid(r),
                Err(e) => Inbound::Malformed(e.to_string()),
            },
            Err(e) => Inbound::Malformed(e.to_string()),
        })
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Response> {
        let body = read_frame(io, MAX_RESPONSE).await?;
        Response::decode(&body).map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Inbound,
    ) -> std::io::Result<()> {
        match req {
            Inbound::Valid(r) => write_frame(io, &r.encode()).await,
            Inbound::Malformed(_) => Err(invalid("refusing to send a malformed request")),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> std::io::Result<()> {
        write_frame(io, &res.encode()).await
    }
}
