//! `tracer statsd`: one statsd timer per finished span (sysdig's `tracers_2_statsd`),
//! sent over UDP to the given host and port (C11), from a capture or live.

use std::net::{SocketAddr, UdpSocket};

use anyhow::{Context, Result};
use serde::Serialize;
use tracer_core::engine::{Consumer, EngineConfig};
use tracer_core::event_view::{EventClass, EventView};
use tracer_core::filter::Filter;

use crate::cli::StatsdArgs;
use crate::output::Output;
use crate::pipeline::{compile_filter, replay, Lines};
use crate::render::statsd::timer_payload;

/// One datagram sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// Destination `host:port`.
    pub dest: String,
    /// The datagram.
    pub payload: String,
}

/// Sends a timer for every matched exit marker that passes the filter.
pub struct StatsdSender<'f> {
    lines: Lines<'f>,
    socket: UdpSocket,
    to: SocketAddr,
    prefix: Option<String>,
    /// Print each datagram as a JSON line.
    pub echo_json: bool,
    /// Datagrams sent.
    pub sent: u64,
    /// Send failures (the first one is kept).
    pub failures: u64,
    /// The first send error.
    pub first_error: Option<std::io::Error>,
}

impl<'f> StatsdSender<'f> {
    /// A sender to `to` from an ephemeral local port.
    pub fn new(to: SocketAddr, prefix: Option<String>, filter: Option<&'f Filter>) -> Result<Self> {
        let local: SocketAddr = if to.is_ipv4() {
            "0.0.0.0:0".parse().expect("valid")
        } else {
            "[::]:0".parse().expect("valid")
        };
        let socket = UdpSocket::bind(local).context("cannot open a UDP socket")?;
        Ok(StatsdSender {
            lines: Lines::new(filter),
            socket,
            to,
            prefix,
            echo_json: false,
            sent: 0,
            failures: 0,
            first_error: None,
        })
    }
}

impl Consumer for StatsdSender<'_> {
    fn event(&mut self, view: &EventView<'_>) {
        let pass = self.lines.result_passes(view);
        let EventClass::Tracer(t) = &view.class else {
            return;
        };
        let (Some(span), true) = (t.span, pass) else {
            return;
        };
        let Some(d) = span.duration_ns else {
            return;
        };
        let payload = timer_payload(&span.tags, d, self.prefix.as_deref());
        match self.socket.send_to(payload.as_bytes(), self.to) {
            Ok(_) => {
                self.sent += 1;
                if self.echo_json {
                    let s = Sent {
                        dest: self.to.to_string(),
                        payload,
                    };
                    println!("{}", serde_json::to_string(&s).expect("serializable"));
                }
            }
            Err(e) => {
                self.failures += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

/// Reports the outcome on stderr.
pub fn report(s: &StatsdSender<'_>) {
    eprintln!("tracer: sent {} statsd timers to {}", s.sent, s.to);
    if let Some(e) = &s.first_error {
        eprintln!(
            "tracer: warning: {} datagrams could not be sent to {}: {e}",
            s.failures, s.to
        );
    }
}

/// `tracer statsd`.
pub fn run(args: StatsdArgs, out: &Output) -> Result<()> {
    if args.input.live {
        return crate::cmd::live::statsd(args, out);
    }
    let path = args
        .input
        .read
        .clone()
        .expect("clap requires -r without --live");
    let filter = compile_filter(args.filter.as_deref())?;
    let mut s = StatsdSender::new(args.to, args.prefix.clone(), filter.as_ref())?;
    s.echo_json = args.json;
    replay(&path, EngineConfig::default(), &mut s)?;
    report(&s);
    Ok(())
}
