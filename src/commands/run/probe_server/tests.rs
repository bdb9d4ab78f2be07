//! The probe server's limits over real sockets: the timeouts on tokio's paused clock
//! (which jumps to the next timer whenever every task waits), the connection cap with
//! timeouts far beyond the test's length.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;

const REQUEST: &[u8] = b"GET /livez HTTP/1.1\r\nHost: probe\r\n\r\n";

/// A server with a quick route and one that takes an hour.
async fn start(limits: ProbeLimits) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/livez", get(|| async { "alive\n" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "late\n"
            }),
        );
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, router, limits, stop.clone()));
    (addr, stop)
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    String::from_utf8_lossy(&received).into_owned()
}

/// The status line of the answer to one request on a fresh connection, if any.
async fn status_of(addr: SocketAddr, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut received = vec![0; 1024];
    let n = stream.read(&mut received).await.ok()?;
    let text = String::from_utf8_lossy(&received[..n]).into_owned();
    text.lines().next().map(str::to_string)
}

fn limits(header: Duration, request: Duration, connections: usize) -> ProbeLimits {
    ProbeLimits {
        header_read_timeout: header,
        request_timeout: request,
        max_connections: connections,
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_sends_no_header_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(10);
    let (addr, _stop) = start(limits(timeout, Duration::from_secs(60), 8)).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let opened = Instant::now();

    let received = read_until_closed(&mut silent).await;

    assert_eq!(received, "", "closed without an answer");
    assert!(opened.elapsed() >= timeout, "{:?}", opened.elapsed());
    assert!(
        opened.elapsed() < timeout * 2,
        "closed by the header timeout, not later: {:?}",
        opened.elapsed()
    );
    let answered = status_of(addr, REQUEST).await;
    assert_eq!(
        answered.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "others still served"
    );
}

#[tokio::test(start_paused = true)]
async fn a_header_sent_too_slowly_is_cut_off() {
    let timeout = Duration::from_secs(10);
    let (addr, _stop) = start(limits(timeout, Duration::from_secs(60), 8)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /livez HTTP/1.1\r\n").await.unwrap();
    let opened = Instant::now();

    // The rest of the header comes after the timeout: the server has closed by then.
    tokio::time::sleep(timeout * 2).await;
    let _ = slow.write_all(b"Host: probe\r\n\r\n").await;
    let received = read_until_closed(&mut slow).await;

    assert!(
        !received.contains("HTTP/1.1 200"),
        "a late header is not answered: {received:?}"
    );
    assert!(opened.elapsed() >= timeout * 2);
}

#[tokio::test(start_paused = true)]
async fn a_request_not_answered_in_time_gets_408() {
    let timeout = Duration::from_secs(10);
    let (addr, _stop) = start(limits(Duration::from_secs(60), timeout, 8)).await;
    let started = Instant::now();

    let status = status_of(addr, b"GET /slow HTTP/1.1\r\nHost: probe\r\n\r\n").await;

    assert_eq!(status.as_deref(), Some("HTTP/1.1 408 Request Timeout"));
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3600));
}

/// Real time: the timeouts (an hour) never fire here, so only the cap closes connections.
#[tokio::test]
async fn connections_beyond_the_limit_are_closed_until_one_ends() {
    let hour = Duration::from_secs(3600);
    let (addr, _stop) = start(limits(hour, hour, 2)).await;
    let first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    // Answered, so both connections are surely accepted (in order) and hold their slots.
    second.write_all(REQUEST).await.unwrap();
    let mut answer = vec![0; 1024];
    let n = second.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200 OK"));

    let mut third = TcpStream::connect(addr).await.unwrap();
    let _ = third.write_all(REQUEST).await;
    let refused = read_until_closed(&mut third).await;
    drop(first);
    let mut served_again = None;
    for _ in 0..200 {
        served_again = status_of(addr, REQUEST).await;
        if served_again.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    assert_eq!(refused, "", "the third connection is closed unanswered");
    assert_eq!(
        served_again.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "a slot frees when a connection ends"
    );
}

#[tokio::test]
async fn stop_ends_the_server_and_its_idle_connections() {
    let hour = Duration::from_secs(3600);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/livez", get(|| async { "alive\n" }));
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, router, limits(hour, hour, 4), stop.clone()));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(REQUEST).await.unwrap();
    let mut answer = vec![0; 1024];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200 OK"));

    stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(30), server).await;

    assert!(
        matches!(ended, Ok(Ok(()))),
        "the kept-alive connection does not hold the server"
    );
    assert_eq!(read_until_closed(&mut idle).await, "");
}
