//! An in-test OTLP/HTTP receiver on 127.0.0.1: reads HTTP/1.1 requests (keep-alive,
//! `Content-Length` bodies), decodes `POST /v1/traces` bodies as
//! `ExportTraceServiceRequest` with prost, and answers with a scripted status.

#![allow(dead_code)]

pub mod synth;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// One received request.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request path.
    pub path: String,
    /// Content-Type header.
    pub content_type: String,
    /// Decoded body (None when it did not decode).
    pub request: Option<ExportTraceServiceRequest>,
}

/// How the receiver answers.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Statuses for the first requests (then 200).
    pub statuses: Vec<u16>,
    /// Reported as rejected in every 200 answer's partial success.
    pub rejected: i64,
    /// Sleep before answering.
    pub delay: Duration,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it got, in order.
    pub got: Arc<Mutex<Vec<Received>>>,
    _accept: JoinHandle<()>,
}

impl Receiver {
    /// Starts listening on an ephemeral port.
    pub fn start(script: Script) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new((script, 0usize)));
        let g = Arc::clone(&got);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let g = Arc::clone(&g);
                let s = Arc::clone(&script);
                std::thread::spawn(move || serve(conn, &g, &s));
            }
        });
        Receiver {
            addr,
            got,
            _accept: accept,
        }
    }

    /// The base endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, got: &Mutex<Vec<Received>>, script: &Mutex<(Script, usize)>) {
    let mut out = conn.try_clone().expect("clone stream");
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        let mut content_type = String::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "content-type" => content_type = v.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let (status, rejected, delay) = {
            let mut s = script.lock().unwrap();
            let n = s.1;
            s.1 += 1;
            (
                s.0.statuses.get(n).copied().unwrap_or(200),
                s.0.rejected,
                s.0.delay,
            )
        };
        got.lock().unwrap().push(Received {
            path,
            content_type,
            request: ExportTraceServiceRequest::decode(body.as_slice()).ok(),
        });
        std::thread::sleep(delay);
        let payload = if status == 200 {
            ExportTraceServiceResponse {
                partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message: "test rejects".into(),
                }),
            }
            .encode_to_vec()
        } else {
            b"unavailable".to_vec()
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&payload).is_err() {
            return;
        }
    }
}

/// A local port with nothing listening on it.
pub fn dead_endpoint() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
