//! The store's wire format (see the [module docs](super)): encoding, decoding and framing,
//! written so that no input can make them panic or allocate more than [`MAX_FRAME`].

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// A frame that has started must be complete within this time (no slow-drip connections).
pub(crate) const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest frame either side accepts (values are ids and hashes, not tensors).
pub const MAX_FRAME: usize = 1 << 20;
/// Longest token accepted.
pub const MAX_TOKEN: usize = 256;

const MAGIC: &[u8; 4] = b"EBMS";
const VERSION: u8 = 1;

pub(crate) const OP_PING: u8 = 0;
pub(crate) const OP_SET: u8 = 1;
pub(crate) const OP_GET: u8 = 2;
pub(crate) const OP_ADD: u8 = 3;
pub(crate) const OP_TAKE: u8 = 4;
pub(crate) const OP_DELETE: u8 = 5;

pub(crate) const STATUS_OK: u8 = 0;
pub(crate) const STATUS_TIMEOUT: u8 = 1;
pub(crate) const STATUS_REJECTED: u8 = 2;

/// A decoded request.
pub(crate) struct Request {
    pub token: Vec<u8>,
    pub op: u8,
    pub key: String,
    pub payload: Vec<u8>,
}

/// A decoded response.
pub(crate) struct Response {
    pub token: Vec<u8>,
    pub status: u8,
    pub payload: Vec<u8>,
}

fn put_bytes16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| {
        Error::InvalidArgument(format!("field of {} bytes is too long", bytes.len()))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

pub(crate) fn encode_request(req: &Request) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 + req.token.len() + req.key.len() + req.payload.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put_bytes16(&mut out, &req.token)?;
    out.push(req.op);
    put_bytes16(&mut out, req.key.as_bytes())?;
    out.extend_from_slice(&req.payload);
    Ok(out)
}

pub(crate) fn encode_response(resp: &Response) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(12 + resp.token.len() + resp.payload.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put_bytes16(&mut out, &resp.token)?;
    out.push(resp.status);
    out.extend_from_slice(&resp.payload);
    Ok(out)
}

/// Reads fields off a frame body, failing (never panicking) on truncation.
struct Fields<'a> {
    body: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.body.len() < n {
            return Err(Error::Protocol(format!("message truncated in {what}")));
        }
        let (head, rest) = self.body.split_at(n);
        self.body = rest;
        Ok(head)
    }

    fn header(&mut self) -> Result<()> {
        if self.take(4, "magic")? != MAGIC {
            return Err(Error::Protocol(
                "not an ebm store message (bad magic)".into(),
            ));
        }
        let version = self.take(1, "version")?[0];
        if version != VERSION {
            return Err(Error::Protocol(format!(
                "protocol version {version}, expected {VERSION}"
            )));
        }
        Ok(())
    }

    fn bytes16(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = self.take(2, what)?;
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        self.take(len, what)
    }
}

pub(crate) fn decode_request(body: &[u8]) -> Result<Request> {
    let mut f = Fields { body };
    f.header()?;
    let token = f.bytes16("token")?.to_vec();
    let op = f.take(1, "op")?[0];
    let key = std::str::from_utf8(f.bytes16("key")?)
        .map_err(|_| Error::Protocol("key is not UTF-8".into()))?
        .to_owned();
    Ok(Request {
        token,
        op,
        key,
        payload: f.body.to_vec(),
    })
}

pub(crate) fn decode_response(body: &[u8]) -> Result<Response> {
    let mut f = Fields { body };
    f.header()?;
    let token = f.bytes16("token")?.to_vec();
    let status = f.take(1, "status")?[0];
    Ok(Response {
        token,
        status,
        payload: f.body.to_vec(),
    })
}

/// Writes one frame.
pub(crate) fn write_frame(stream: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Checks a frame length announced by the peer before allocating for it.
pub(crate) fn check_frame_len(header: [u8; 4]) -> Result<usize> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(Error::Protocol(format!(
            "message of {len} bytes exceeds the limit of {MAX_FRAME}"
        )));
    }
    Ok(len)
}

/// Reads one frame on a blocking stream (the client side; the stream's read timeout applies).
pub(crate) fn read_frame(stream: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let len = check_frame_len(header)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(body)
}

/// Compares tokens in time independent of where they first differ.
pub(crate) fn tokens_match(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads one frame from a stream with a short read timeout (the server side). `Ok(None)`: the peer closed
/// cleanly between frames, or the server is stopping. A started frame must finish within
/// [`FRAME_TIMEOUT`], counted from `clock_since` if given (a connection not yet authenticated).
pub(crate) fn read_frame_polling(
    stream: &mut TcpStream,
    stop: &AtomicBool,
    clock_since: Option<Instant>,
) -> Result<Option<Vec<u8>>> {
    let mut started = None;
    let mut header = [0u8; 4];
    if !read_full(stream, &mut header, &mut started, clock_since, stop)? {
        return Ok(None);
    }
    let mut body = vec![0u8; check_frame_len(header)?];
    if !read_full(stream, &mut body, &mut started, clock_since, stop)? {
        return Err(Error::Protocol(
            "connection closed in the middle of a message".into(),
        ));
    }
    Ok(Some(body))
}

/// Fills `buf`; false if nothing of a frame had arrived when the peer closed or the server stopped.
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    started: &mut Option<Instant>,
    clock_since: Option<Instant>,
    stop: &AtomicBool,
) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) if started.is_none() => return Ok(false),
            Ok(0) => {
                return Err(Error::Protocol(
                    "connection closed in the middle of a message".into(),
                ))
            }
            Ok(n) => {
                got += n;
                started.get_or_insert_with(Instant::now);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                if stop.load(Ordering::SeqCst) {
                    return Ok(false);
                }
                if clock_since
                    .or(*started)
                    .is_some_and(|t| t.elapsed() > FRAME_TIMEOUT)
                {
                    return Err(Error::Timeout {
                        what: "the rest of a message".into(),
                        after: FRAME_TIMEOUT,
                    });
                }
            }
            Err(e) => return Err(Error::io("reading from a store client", e)),
        }
    }
    Ok(true)
}
