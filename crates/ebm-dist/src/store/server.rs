//! The store server: an accept loop on a background thread, one thread per connection.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wire::{
    decode_request, encode_response, read_frame_polling, tokens_match, write_frame, Request,
    Response, FRAME_TIMEOUT, MAX_TOKEN, OP_ADD, OP_DELETE, OP_GET, OP_PING, OP_SET, OP_TAKE,
    STATUS_OK, STATUS_REJECTED, STATUS_TIMEOUT,
};
use crate::{Error, Result};

/// How often blocked server threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Longest a `get` may wait on the server, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Longest `drop` waits for connection threads to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// Connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 512;

/// The stored keys, and for keys being `take`n, how many readers have taken them so far.
#[derive(Default)]
struct Table {
    values: HashMap<String, Vec<u8>>,
    reads: HashMap<String, u32>,
}

impl Table {
    fn insert(&mut self, key: String, value: Vec<u8>) {
        // A fresh value starts a fresh count of readers.
        self.reads.remove(&key);
        self.values.insert(key, value);
    }

    fn remove(&mut self, key: &str) -> bool {
        self.reads.remove(key);
        self.values.remove(key).is_some()
    }
}

struct Shared {
    token: Vec<u8>,
    map: Mutex<Table>,
    changed: Condvar,
    stop: AtomicBool,
    connections: AtomicUsize,
}

/// A running store server. Dropping it stops the server and closes its connections.
pub struct StoreServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StoreServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl StoreServer {
    /// Binds `addr` (port 0 picks a free port; see [`StoreServer::local_addr`]) and serves on a
    /// background thread. `token` is the per-run secret every request must carry.
    pub fn bind(addr: impl ToSocketAddrs, token: impl AsRef<[u8]>) -> Result<Self> {
        let token = token.as_ref().to_vec();
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(Error::InvalidArgument(format!(
                "store token must be 1..={MAX_TOKEN} bytes, got {}",
                token.len()
            )));
        }
        let listener =
            TcpListener::bind(addr).map_err(|e| Error::io("binding the store server", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the store server's address", e))?;
        // Non-blocking accept so the loop can notice the stop flag.
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("configuring the store listener", e))?;
        let shared = Arc::new(Shared {
            token,
            map: Mutex::new(Table::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("ebm-store-accept".into())
            .spawn(move || accept_loop(&listener, &accept_shared))
            .map_err(|e| Error::io("starting the store server thread", e))?;
        Ok(StoreServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// Binds 127.0.0.1:`port` — the default: a single-node run needs no other interface.
    pub fn bind_loopback(port: u16, token: impl AsRef<[u8]>) -> Result<Self> {
        Self::bind((Ipv4Addr::LOCALHOST, port), token)
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port actually bound (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Number of keys held: lets a test check that a long run does not make the store grow.
    pub fn key_count(&self) -> usize {
        self.shared
            .map
            .lock()
            .map(|table| table.values.len())
            .unwrap_or(0)
    }
}

impl Drop for StoreServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(handle) = self.accept.take() {
            // The accept loop never panics; if it did, there is nothing left to clean up.
            let _ = handle.join();
        }
        // Connection threads notice the flag within one POLL; wait (boundedly) so that a dropped
        // server has really stopped answering when `drop` returns.
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        while self.shared.connections.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _peer)) => {
                if shared.connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    continue; // dropping `stream` closes it
                }
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let conn_shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("ebm-store-conn".into())
                    .spawn(move || {
                        serve_connection(stream, &conn_shared);
                        conn_shared.connections.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    shared.connections.fetch_sub(1, Ordering::SeqCst);
                }
            }
            // No pending connection, or a transient failure (out of descriptors): wait a little.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Serves requests until the peer closes, misbehaves, or the server stops.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let configured = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(POLL)))
        .and_then(|()| stream.set_write_timeout(Some(FRAME_TIMEOUT)))
        .and_then(|()| stream.set_nodelay(true));
    if configured.is_err() {
        return;
    }
    // Until a request with the right token arrives, the connection gets FRAME_TIMEOUT in all:
    // a foreign program cannot hold one of the MAX_CONNECTIONS slots by connecting and idling.
    let mut unauthenticated_since = Some(Instant::now());
    loop {
        let body = match read_frame_polling(&mut stream, &shared.stop, unauthenticated_since) {
            Ok(Some(_)) | Ok(None) if shared.stop.load(Ordering::SeqCst) => return,
            Ok(Some(body)) => body,
            Ok(None) => return,
            Err(e) => {
                // Oversized or slow frames: say why (best effort) and hang up; we cannot resync.
                reject(&mut stream, &e.to_string());
                return;
            }
        };
        let request = match decode_request(&body) {
            Ok(request) => request,
            Err(e) => {
                reject(&mut stream, &e.to_string());
                return;
            }
        };
        if !tokens_match(&request.token, &shared.token) {
            reject(&mut stream, "wrong token for this run");
            return;
        }
        unauthenticated_since = None;
        let response = handle(&request, shared);
        let keep_open = response.status != STATUS_REJECTED;
        let sent = encode_response(&response)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|body| write_frame(&mut stream, &body));
        if sent.is_err() || !keep_open {
            return;
        }
    }
}

fn reject(stream: &mut TcpStream, reason: &str) {
    let response = Response {
        token: Vec::new(),
        status: STATUS_REJECTED,
        payload: reason.as_bytes().to_vec(),
    };
    if let Ok(body) = encode_response(&response) {
        let _ = write_frame(stream, &body);
    }
}

fn handle(request: &Request, shared: &Shared) -> Response {
    let outcome = match request.op {
        OP_PING => Ok((STATUS_OK, Vec::new())),
        OP_SET => set(request, shared),
        OP_GET => get(request, shared),
        OP_ADD => add(request, shared),
        OP_TAKE => take(request, shared),
        OP_DELETE => delete(request, shared),
        op => Err(format!("unknown operation {op}")),
    };
    match outcome {
        Ok((status, payload)) => Response {
            token: request.token.clone(),
            status,
            payload,
        },
        Err(reason) => Response {
            token: Vec::new(),
            status: STATUS_REJECTED,
            payload: reason.into_bytes(),
        },
    }
}

type Handled = std::result::Result<(u8, Vec<u8>), String>;

const POISONED: &str = "store lock poisoned";

fn set(request: &Request, shared: &Shared) -> Handled {
    let mut table = shared.map.lock().map_err(|_| POISONED.to_string())?;
    table.insert(request.key.clone(), request.payload.clone());
    shared.changed.notify_all();
    Ok((STATUS_OK, Vec::new()))
}

fn get(request: &Request, shared: &Shared) -> Handled {
    let wait: [u8; 8] = request
        .payload
        .as_slice()
        .try_into()
        .map_err(|_| "get needs an 8-byte wait time".to_string())?;
    wait_for(request, shared, u64::from_be_bytes(wait), |_, value| {
        value.clone()
    })
}

/// A `get` that counts its readers and removes the key when the last of `readers` has read it.
fn take(request: &Request, shared: &Shared) -> Handled {
    let payload: [u8; 12] = request
        .payload
        .as_slice()
        .try_into()
        .map_err(|_| "take needs an 8-byte wait time and a 4-byte reader count".to_string())?;
    let (wait, readers) = payload.split_at(8);
    let wait = u64::from_be_bytes(wait.try_into().unwrap_or_default());
    let readers = u32::from_be_bytes(readers.try_into().unwrap_or_default());
    if readers == 0 {
        return Err("take needs at least one reader".into());
    }
    wait_for(request, shared, wait, |table, value| {
        let value = value.clone();
        let read = table.reads.entry(request.key.clone()).or_insert(0);
        *read += 1;
        if *read >= readers {
            table.remove(&request.key);
        }
        value
    })
}

/// Waits up to `wait_ms` for `request.key`, then answers `read(table, value)`.
fn wait_for(
    request: &Request,
    shared: &Shared,
    wait_ms: u64,
    read: impl FnOnce(&mut Table, &Vec<u8>) -> Vec<u8>,
) -> Handled {
    let deadline = Instant::now() + Duration::from_millis(wait_ms).min(MAX_WAIT);
    let mut table = shared.map.lock().map_err(|_| POISONED.to_string())?;
    loop {
        if let Some(value) = table.values.get(&request.key).cloned() {
            return Ok((STATUS_OK, read(&mut table, &value)));
        }
        if shared.stop.load(Ordering::SeqCst) {
            return Err("store server is shutting down".into());
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok((STATUS_TIMEOUT, Vec::new()));
        }
        table = shared
            .changed
            .wait_timeout(table, (deadline - now).min(POLL))
            .map_err(|_| POISONED.to_string())?
            .0;
    }
}

/// Removes a key (absent is fine); the payload of the reply is 1 if it was there, else 0.
fn delete(request: &Request, shared: &Shared) -> Handled {
    let mut table = shared.map.lock().map_err(|_| POISONED.to_string())?;
    let was_there = table.remove(&request.key);
    Ok((STATUS_OK, vec![u8::from(was_there)]))
}

fn add(request: &Request, shared: &Shared) -> Handled {
    let delta: [u8; 8] = request
        .payload
        .as_slice()
        .try_into()
        .map_err(|_| "add needs an 8-byte delta".to_string())?;
    let delta = i64::from_be_bytes(delta);
    let mut table = shared.map.lock().map_err(|_| POISONED.to_string())?;
    // Counters are stored as decimal text, like torch's TCPStore, so `get` shows them readably.
    let current = match table.values.get(&request.key) {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| format!("key `{}` does not hold a counter", request.key))?,
    };
    let next = current
        .checked_add(delta)
        .ok_or_else(|| format!("counter `{}` would overflow", request.key))?;
    table.insert(request.key.clone(), next.to_string().into_bytes());
    shared.changed.notify_all();
    Ok((STATUS_OK, next.to_be_bytes().to_vec()))
}
