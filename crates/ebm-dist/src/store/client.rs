//! The store client: one connection, re-opened after any error so that a late or partial reply
//! can never be taken for the answer to the next request.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::wire::{
    decode_response, encode_request, read_frame, tokens_match, write_frame, Request, MAX_TOKEN,
    OP_ADD, OP_DELETE, OP_GET, OP_PING, OP_SET, OP_TAKE, STATUS_OK, STATUS_REJECTED,
    STATUS_TIMEOUT,
};
use crate::{Error, Result};

/// Extra time the client gives the server beyond a `get`'s own wait before it gives up.
const REPLY_MARGIN: Duration = Duration::from_secs(5);

/// A connection to a [`super::StoreServer`]. Methods take `&self`; requests are serialised.
pub struct StoreClient {
    addrs: Vec<SocketAddr>,
    token: Vec<u8>,
    timeout: Duration,
    stream: Mutex<Option<TcpStream>>,
    /// Put before every key: one store serves several generations of a restarted worker group
    /// (`g1/`, `g2/`, …) without one reading what another left.
    prefix: String,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("addrs", &self.addrs)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StoreClient {
    /// Connects to the server at `addr`, retrying until `timeout` (the server may start after
    /// the client), and checks `token` with a ping. `timeout` also bounds every later request.
    pub fn connect(
        addr: impl ToSocketAddrs,
        token: impl AsRef<[u8]>,
        timeout: Duration,
    ) -> Result<Self> {
        let token = token.as_ref().to_vec();
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(Error::InvalidArgument(format!(
                "store token must be 1..={MAX_TOKEN} bytes, got {}",
                token.len()
            )));
        }
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| Error::io("resolving the store address", e))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::InvalidArgument(
                "store address resolves to nothing".into(),
            ));
        }
        let client = StoreClient {
            addrs,
            token,
            timeout,
            stream: Mutex::new(None),
            prefix: String::new(),
        };
        client.request(OP_PING, "", Vec::new(), timeout)?;
        Ok(client)
    }

    /// This client with every key prefixed by `prefix` (the store sees `prefix` + key).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The timeout given to [`StoreClient::connect`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Stores `value` under `key`, replacing any previous value, and wakes waiting `get`s.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.request(OP_SET, key, value.to_vec(), self.timeout)
            .map(|_| ())
    }

    /// The value under `key`, waiting up to the client's timeout for some rank to set it.
    pub fn get(&self, key: &str) -> Result<Vec<u8>> {
        let wait_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        self.wait_request(OP_GET, key, wait_ms.to_be_bytes().to_vec())
    }

    /// Like [`StoreClient::get`], and the server removes the key once `readers` takes (this one
    /// included) have read it: a value meant for a known number of readers cleans itself up.
    pub fn take(&self, key: &str, readers: u32) -> Result<Vec<u8>> {
        let wait_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let mut payload = wait_ms.to_be_bytes().to_vec();
        payload.extend_from_slice(&readers.to_be_bytes());
        self.wait_request(OP_TAKE, key, payload)
    }

    /// Removes `key`; true if it was there.
    pub fn delete(&self, key: &str) -> Result<bool> {
        let (_, payload) = self.request(OP_DELETE, key, Vec::new(), self.timeout)?;
        Ok(payload.first() == Some(&1))
    }

    /// A request that waits on the server for `key` to appear.
    fn wait_request(&self, op: u8, key: &str, payload: Vec<u8>) -> Result<Vec<u8>> {
        let reply_timeout = self.timeout + REPLY_MARGIN;
        match self.request(op, key, payload, reply_timeout) {
            Err(Error::Timeout { .. }) | Ok((STATUS_TIMEOUT, _)) => Err(Error::Timeout {
                what: format!("store key `{key}`"),
                after: self.timeout,
            }),
            Err(e) => Err(e),
            Ok((_, value)) => Ok(value),
        }
    }

    /// Adds `delta` to the counter under `key` (absent = 0) atomically; returns the new value.
    pub fn add(&self, key: &str, delta: i64) -> Result<i64> {
        let (_, payload) = self.request(OP_ADD, key, delta.to_be_bytes().to_vec(), self.timeout)?;
        let bytes: [u8; 8] = payload.as_slice().try_into().map_err(|_| {
            Error::Protocol(format!("add reply of {} bytes, expected 8", payload.len()))
        })?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// Sends one request and returns (status, payload) of an ok or timed-out reply.
    fn request(
        &self,
        op: u8,
        key: &str,
        payload: Vec<u8>,
        reply_timeout: Duration,
    ) -> Result<(u8, Vec<u8>)> {
        let body = encode_request(&Request {
            token: self.token.clone(),
            op,
            key: format!("{}{key}", self.prefix),
            payload,
        })?;
        let mut slot = self
            .stream
            .lock()
            .map_err(|_| Error::Protocol("store client lock poisoned".into()))?;
        if slot.is_none() {
            *slot = Some(self.open()?);
        }
        let outcome = match slot.as_mut() {
            Some(stream) => self.exchange(stream, &body, reply_timeout),
            None => Err(Error::Protocol("store connection missing".into())),
        };
        // After any failure the connection's state is unknown (the server also hangs up after a
        // rejection): drop it, the next request reconnects.
        if outcome.is_err() {
            *slot = None;
        }
        outcome
    }

    fn exchange(
        &self,
        stream: &mut TcpStream,
        body: &[u8],
        reply_timeout: Duration,
    ) -> Result<(u8, Vec<u8>)> {
        let timed_out = |e: std::io::Error, doing: &str| {
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                Error::Timeout {
                    what: format!("the store server ({doing})"),
                    after: reply_timeout,
                }
            } else {
                Error::io(format!("{doing} the store server"), e)
            }
        };
        stream
            .set_read_timeout(Some(reply_timeout.max(Duration::from_millis(1))))
            .and_then(|()| {
                stream.set_write_timeout(Some(self.timeout.max(Duration::from_millis(1))))
            })
            .map_err(|e| Error::io("configuring the store connection", e))?;
        write_frame(stream, body).map_err(|e| timed_out(e, "writing to"))?;
        let reply = read_frame(stream).map_err(|e| timed_out(e, "reading from"))?;
        let response = decode_response(&reply)?;
        match response.status {
            STATUS_REJECTED => Err(Error::Rejected(
                String::from_utf8_lossy(&response.payload).into_owned(),
            )),
            STATUS_OK | STATUS_TIMEOUT if tokens_match(&response.token, &self.token) => {
                Ok((response.status, response.payload))
            }
            STATUS_OK | STATUS_TIMEOUT => Err(Error::Protocol(
                "reply does not carry this run's token (another run's store?)".into(),
            )),
            status => Err(Error::Protocol(format!("unknown reply status {status}"))),
        }
    }

    /// Opens a connection, retrying refused connects until the client's timeout.
    fn open(&self) -> Result<TcpStream> {
        let deadline = Instant::now() + self.timeout;
        loop {
            for addr in &self.addrs {
                let left = deadline.saturating_duration_since(Instant::now());
                let attempt = left.clamp(Duration::from_millis(10), Duration::from_secs(1));
                if let Ok(stream) = TcpStream::connect_timeout(addr, attempt) {
                    stream
                        .set_nodelay(true)
                        .map_err(|e| Error::io("configuring the store connection", e))?;
                    return Ok(stream);
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("a store server at {:?}", self.addrs),
                    after: self.timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
