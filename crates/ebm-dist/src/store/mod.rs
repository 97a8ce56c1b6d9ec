//! A small TCP key-value store for rendezvous, in the spirit of torchrun's `TCPStore`.
//!
//! The launcher (or rank 0) runs a [`StoreServer`]; every rank opens a [`StoreClient`] and uses
//! `set` / blocking `get` / atomic `add` to share the NCCL unique id, count arrived ranks, and
//! check that every rank resolved the same config hash.
//!
//! Safety rules: the server binds to loopback unless told an address; every request carries the
//! per-run token, and a wrong token, a malformed or oversized frame, or bytes from a foreign
//! program get an error reply (when one can be sent) and a closed connection — the server never
//! panics and keeps serving others. Every wait on either side has a timeout.
//!
//! Wire format (all integers big-endian), one frame per message:
//!
//! ```text
//! frame    = len:u32 body                                  (len ≤ MAX_FRAME)
//! request  = "EBMS" version:u8 token_len:u16 token op:u8 key_len:u16 key payload
//! response = "EBMS" version:u8 token_len:u16 token status:u8 payload
//! ```
//!
//! `op`: 0 ping, 1 set (payload = value), 2 get (payload = wait in ms, u64), 3 add (payload =
//! i64), 4 take (payload = wait in ms u64, readers u32: a get that removes the key once `readers`
//! takes have read it — how [`crate::TcpCollective`] keeps the store from growing), 5 delete. `status`: 0 ok, 1 timed out, 2 rejected (payload = UTF-8 reason). An ok response echoes
//! the run token, so a client also notices when it reached some other server; a rejection never
//! echoes it.

mod client;
mod server;
mod wire;

pub use client::StoreClient;
pub use server::StoreServer;
pub use wire::{MAX_FRAME, MAX_TOKEN};
