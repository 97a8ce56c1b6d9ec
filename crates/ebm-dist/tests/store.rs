//! The rendezvous store: set/get/add across threads, blocking get, and rejection of wrong tokens,
//! garbage and foreign peers — with the server surviving all of it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ebm_dist::store::MAX_FRAME;
use ebm_dist::{Error, StoreClient, StoreServer};

const TOKEN: &str = "run-7f3a";
const T: Duration = Duration::from_secs(10);

fn server() -> StoreServer {
    StoreServer::bind_loopback(0, TOKEN).unwrap()
}

fn client(s: &StoreServer) -> StoreClient {
    StoreClient::connect(s.local_addr(), TOKEN, T).unwrap()
}

#[test]
fn binds_loopback_and_reports_the_port() {
    let s = server();
    assert!(s.local_addr().ip().is_loopback());
    assert_ne!(s.port(), 0);
}

#[test]
fn set_and_get_across_threads() {
    let s = server();
    let addr = s.local_addr();
    let writers: Vec<_> = (0..4)
        .map(|r| {
            std::thread::spawn(move || {
                let c = StoreClient::connect(addr, TOKEN, T).unwrap();
                c.set(&format!("hash/{r}"), format!("cfg-{r}").as_bytes())
                    .unwrap();
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    let c = client(&s);
    for r in 0..4 {
        assert_eq!(
            c.get(&format!("hash/{r}")).unwrap(),
            format!("cfg-{r}").into_bytes()
        );
    }
    // Overwrite, binary values, empty values.
    c.set("id", &[0u8, 255, 7]).unwrap();
    assert_eq!(c.get("id").unwrap(), vec![0u8, 255, 7]);
    c.set("empty", &[]).unwrap();
    assert_eq!(c.get("empty").unwrap(), Vec::<u8>::new());
}

#[test]
fn get_waits_for_a_later_set() {
    let s = server();
    let addr = s.local_addr();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let c = StoreClient::connect(addr, TOKEN, T).unwrap();
        c.set("nccl/id", &[42; 128]).unwrap();
    });
    let started = Instant::now();
    assert_eq!(client(&s).get("nccl/id").unwrap(), vec![42; 128]);
    assert!(started.elapsed() >= Duration::from_millis(250));
    setter.join().unwrap();
}

#[test]
fn add_is_an_atomic_counter() {
    let s = server();
    let addr = s.local_addr();
    let adders: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let c = StoreClient::connect(addr, TOKEN, T).unwrap();
                (0..25)
                    .map(|_| c.add("arrived", 1).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen: Vec<i64> = adders.into_iter().flat_map(|a| a.join().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=200).collect::<Vec<_>>());
    let c = client(&s);
    assert_eq!(c.add("arrived", -200).unwrap(), 0);
    assert_eq!(c.get("arrived").unwrap(), b"0".to_vec());
    c.set("not-a-counter", b"hello").unwrap();
    assert!(matches!(c.add("not-a-counter", 1), Err(Error::Rejected(_))));
    // The client reconnects after the server hung up on the rejected request.
    assert_eq!(c.add("arrived", 5).unwrap(), 5);
}

#[test]
fn a_wrong_token_is_rejected_and_the_server_keeps_serving() {
    let s = server();
    let err = StoreClient::connect(s.local_addr(), "someone-else", T).unwrap_err();
    assert!(
        matches!(err, Error::Rejected(ref m) if m.contains("token")),
        "{err}"
    );
    let c = client(&s);
    c.set("k", b"v").unwrap();
    assert_eq!(c.get("k").unwrap(), b"v".to_vec());
}

/// Sends raw bytes, then reads whatever comes back until the server closes (or 5 s pass).
fn poke(s: &StoreServer, bytes: &[u8], then_close: bool) -> Vec<u8> {
    let mut raw = TcpStream::connect(s.local_addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = raw.write_all(bytes);
    if then_close {
        let _ = raw.shutdown(std::net::Shutdown::Write);
    }
    let mut reply = Vec::new();
    let _ = raw.read_to_end(&mut reply);
    reply
}

#[test]
fn garbage_does_not_crash_the_server() {
    let s = server();
    // Keep one idle connection open throughout: it must not block anyone.
    let _idle = TcpStream::connect(s.local_addr()).unwrap();

    // An HTTP request: "GET " read as a length is far over the limit.
    let reply = poke(&s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false);
    assert!(String::from_utf8_lossy(&reply).contains("exceeds the limit"));
    // A frame announcing exactly one byte over the limit.
    let reply = poke(&s, &((MAX_FRAME as u32) + 1).to_be_bytes(), false);
    assert!(String::from_utf8_lossy(&reply).contains("exceeds the limit"));
    // A well-sized frame of junk.
    let mut junk = 12u32.to_be_bytes().to_vec();
    junk.extend_from_slice(b"hello world!");
    assert!(String::from_utf8_lossy(&poke(&s, &junk, false)).contains("bad magic"));
    // Right magic, truncated fields.
    let mut cut = 7u32.to_be_bytes().to_vec();
    cut.extend_from_slice(b"EBMS\x01\x00\x09");
    assert!(String::from_utf8_lossy(&poke(&s, &cut, false)).contains("truncated"));
    // A frame cut off by the peer, and every single byte value as a body.
    poke(&s, &[0, 0, 1, 0, 1, 2, 3], true);
    let all: Vec<u8> = (0..=255u8).collect();
    let mut frame = (all.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&all);
    poke(&s, &frame, false);

    let c = client(&s);
    c.set("still", b"alive").unwrap();
    assert_eq!(c.get("still").unwrap(), b"alive".to_vec());
}

#[test]
fn get_of_a_key_that_never_comes_times_out() {
    let s = server();
    let c = StoreClient::connect(s.local_addr(), TOKEN, Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let err = c.get("never").unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The connection is still good for the next request.
    c.set("later", b"1").unwrap();
    assert_eq!(c.get("later").unwrap(), b"1".to_vec());
}

#[test]
fn connecting_to_no_server_times_out() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err =
        StoreClient::connect(("127.0.0.1", port), TOKEN, Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_foreign_server_is_an_error_not_a_hang() {
    // Something else listens on the port: it answers with an HTTP response.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let foreign = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let _ = conn.read(&mut buf);
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let err = StoreClient::connect(addr, TOKEN, Duration::from_secs(2)).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. } | Error::Protocol(_)),
        "{err}"
    );
    foreign.join().unwrap();
}

#[test]
fn invalid_tokens_are_refused_up_front() {
    assert!(matches!(
        StoreServer::bind_loopback(0, ""),
        Err(Error::InvalidArgument(_))
    ));
    let s = server();
    assert!(matches!(
        StoreClient::connect(s.local_addr(), [b'x'; 300], T),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn dropping_the_server_stops_it() {
    let s = server();
    let addr = s.local_addr();
    let c = client(&s);
    drop(s);
    let started = Instant::now();
    // The old connection is closed and nothing accepts a new one.
    assert!(c.set("k", b"v").is_err());
    assert!(StoreClient::connect(addr, TOKEN, Duration::from_millis(200)).is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_silent_foreign_connection_is_closed_after_the_frame_timeout() {
    let s = server();
    let mut raw = TcpStream::connect(s.local_addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let _ = raw.read_to_end(&mut reply);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(String::from_utf8_lossy(&reply).contains("timed out"));
}
