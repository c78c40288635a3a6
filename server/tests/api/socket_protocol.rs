//! RFC 6455 violations on the channel socket, written as raw bytes on the TCP stream after a real
//! upgrade: each fails the connection with the close code the RFC names for it (1002 protocol
//! error, 1007 invalid UTF-8, 1009 too big), and only real size violations get 1009.

use std::time::Duration;

use docket_client::protocol::channel::HARD_FRAME_LIMIT_BYTES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, TestApp};

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The frame header's length bytes, with the mask bit if `masked`.
fn length(len: usize, masked: bool) -> Vec<u8> {
    let bit = if masked { 0x80 } else { 0 };
    match len {
        0..=125 => vec![bit | len as u8],
        126..=0xffff => [vec![bit | 126], (len as u16).to_be_bytes().to_vec()].concat(),
        _ => [vec![bit | 127], (len as u64).to_be_bytes().to_vec()].concat(),
    }
}

/// A client frame, masked as RFC 6455 requires of clients.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first];
    bytes.extend(length(payload.len(), true));
    bytes.extend(MASK);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    bytes
}

fn unmasked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first];
    bytes.extend(length(payload.len(), false));
    bytes.extend(payload);
    bytes
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    [code.to_be_bytes().as_slice(), reason].concat()
}

/// A TCP stream upgraded to the channel socket by a hand-written handshake, so that nothing
/// between the test and the server rewrites what the test sends.
async fn upgraded(app: &TestApp, token: &str) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/v1/ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: docket.v1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("handshake");
    // Byte by byte: the server's first frame may follow the response head in the same segment.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("response head"));
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// Reads server frames (the hello, pongs, ...) up to the close frame and returns its code; `None`
/// if the connection ends without one or the close carries no code.
async fn close_code(stream: &mut TcpStream) -> Option<u16> {
    let read = async {
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.ok()?;
            assert_eq!(head[1] & 0x80, 0, "server frames are never masked");
            let len = match head[1] & 0x7f {
                126 => usize::from(stream.read_u16().await.ok()?),
                127 => usize::try_from(stream.read_u64().await.ok()?).expect("length"),
                short => usize::from(short),
            };
            let mut payload = vec![0; len];
            stream.read_exact(&mut payload).await.ok()?;
            if head[0] & 0x0f == CLOSE {
                return payload.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the server ends the connection in time")
}

#[tokio::test]
async fn each_protocol_violation_closes_the_socket_with_the_code_rfc_6455_names() {
    // Many sockets one after another for one user: the cap is not what this test is about.
    let app = spawn_app_with(|c| c.channels.max_sockets_per_user = 100).await;
    let token = app.bearer(&app.firm.gc).await.bearer.expect("token");
    let half = vec![b'x'; HARD_FRAME_LIMIT_BYTES / 2 + 1];
    let over_limit = {
        // Only the header: the server must refuse the frame before reading its payload.
        let mut bytes = vec![FIN | TEXT];
        bytes.extend(length(HARD_FRAME_LIMIT_BYTES + 1, true));
        bytes.extend(MASK);
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked client frame", unmasked(FIN | TEXT, b"hi"), 1002),
        (
            "RSV1 without an extension",
            frame(FIN | RSV1 | TEXT, b"hi"),
            1002,
        ),
        ("reserved data opcode 3", frame(FIN | 0x3, b""), 1002),
        ("reserved control opcode 11", frame(FIN | 0xb, b""), 1002),
        ("ping of 126 bytes", frame(FIN | PING, &[b'p'; 126]), 1002),
        ("fragmented ping", frame(PING, b"ping"), 1002),
        (
            "continuation without a start",
            frame(FIN | CONTINUATION, b"hi"),
            1002,
        ),
        (
            "new message inside a fragmented one",
            [frame(TEXT, b"he"), frame(FIN | TEXT, b"llo")].concat(),
            1002,
        ),
        (
            "close with a 1-byte payload",
            frame(FIN | CLOSE, &[0x03]),
            1002,
        ),
        (
            "close with code 999",
            frame(FIN | CLOSE, &close_payload(999, b"")),
            1002,
        ),
        (
            "text that is not UTF-8",
            frame(FIN | TEXT, &[0xc3, 0x28]),
            1007,
        ),
        (
            "fragmented text that is not UTF-8",
            [
                frame(TEXT, b"ok "),
                frame(FIN | CONTINUATION, &[0xed, 0xa0, 0x80]),
            ]
            .concat(),
            1007,
        ),
        (
            "close reason that is not UTF-8",
            frame(FIN | CLOSE, &close_payload(1000, &[0xff, 0xfe])),
            1007,
        ),
        ("frame over the limit", over_limit, 1009),
        (
            "fragments adding up to more than the limit",
            [frame(BINARY, &half), frame(FIN | CONTINUATION, &half)].concat(),
            1009,
        ),
        (
            "a normal close, for contrast",
            frame(FIN | CLOSE, &close_payload(1000, b"bye")),
            1000,
        ),
    ];

    let mut wrong = Vec::new();
    for (name, bytes, expected) in cases {
        let mut stream = upgraded(&app, &token).await;
        stream.write_all(&bytes).await.expect("frame written");
        let got = close_code(&mut stream).await;
        if got != Some(expected) {
            wrong.push(format!("{name}: expected {expected}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
