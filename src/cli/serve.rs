//! `kafka-matrix serve --kafka 3.8 [--mode zk|kraft] [--listen ADDR]
//! [--advertise HOST:PORT] [--topic NAME:PARTITIONS]... [--memory-budget SIZE]
//! [--idle-timeout MS] [--max-connections N]`, or with `--real
//! [--kafka-home RELEASE=DIR]` the real broker of that release from Kafka's
//! own jars (the JVM backend), on the `--listen` address.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use tokio::sync::watch;

use super::{default_mode, CliError};
use crate::emulator::handlers::metadata::is_valid_topic_name;
use crate::emulator::{behaviour, serve, Broker, EmulatorOptions, Recorder, SeededTopic};
use crate::versions::{release_info, Mode, Release};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Kafka release to emulate, e.g. 3.8.
    #[arg(long = "kafka", value_name = "VERSION")]
    release: Release,
    /// Run the real broker of the release instead of the emulator: Kafka's own jars from Maven Central
    /// (fetched into the cache on first use), as a local JVM process, until SIGINT/SIGTERM.
    #[arg(long)]
    real: bool,
    /// With --real: run this Kafka installation (the release tarball's layout), RELEASE=DIR.
    #[arg(long = "kafka-home", value_name = "RELEASE=DIR", requires = "real")]
    kafka_homes: Vec<String>,
    /// zk or kraft; default zk where the release has it, else kraft.
    #[arg(long)]
    mode: Option<Mode>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9092")]
    listen: SocketAddr,
    /// Host and port to advertise in Metadata (default: the listen address); HOST is a DNS name, an IPv4
    /// address or a bracketed IPv6 address.
    #[arg(long, value_name = "HOST:PORT")]
    advertise: Option<String>,
    /// A topic to serve, NAME:PARTITIONS; repeatable, each name once.
    #[arg(long = "topic", value_name = "NAME:PARTITIONS", value_parser = parse_topic)]
    topics: Vec<SeededTopic>,
    /// Kafka's `auto.create.topics.enable`: Metadata naming an unknown topic creates it (1 partition).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    auto_create_topics: bool,
    /// Misbehave on purpose: catalogue names (`kafka-matrix behaviours`) or fault knobs
    /// (close-after=N, close-after-refusal, delay=50ms, spare=N, truncate=N, shorten=N, forge-size=N,
    /// wrong-correlation-id, advertise=HOST:PORT, reset-api-versions-above=V, close-on-newest-metadata,
    /// throttle=500ms, leaderless=N, creating=N, tansu-tagged-fields), comma-separated, applied in order.
    #[arg(
        long,
        value_name = "NAME[,NAME...]",
        value_delimiter = ',',
        env = "KAFKA_MATRIX_BEHAVE"
    )]
    behave: Vec<String>,
    /// Request memory (Kafka's `queued.max.request.bytes`): past it, sockets are not read until replies free it. K/M/G suffixes.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = crate::emulator::pool::parse_budget)]
    memory_budget: usize,
    /// Kafka's `connections.max.idle.ms`: close a connection with no read or write for this long; -1 never.
    #[arg(long, value_name = "MS", default_value = "600000", allow_negative_numbers = true,
          value_parser = crate::emulator::pool::parse_idle_ms)]
    idle_timeout: i64,
    /// Kafka's `max.connections`: past N open connections, new ones wait in the accept queue (default unlimited).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
}

/// `HOST:PORT`, the host as `--bootstrap` wants it
/// ([`check_host`](crate::backend::external::check_host)) and a port
/// 1–65535; an IPv6 address loses its brackets.
pub(crate) fn parse_advertise(s: &str) -> Result<(String, u16), String> {
    let (host, port) = crate::backend::external::parse_host_port(s)?;
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

/// The topics, each name once: a repeated name is an error naming it.
fn unique_topics(topics: Vec<SeededTopic>) -> Result<Vec<SeededTopic>, String> {
    let mut seen = std::collections::HashSet::new();
    for t in &topics {
        if !seen.insert(t.name.as_str()) {
            return Err(format!("--topic {} is given more than once", t.name));
        }
    }
    Ok(topics)
}

/// `NAME:PARTITIONS` with a valid Kafka topic name and 1–10000 partitions.
pub(crate) fn parse_topic(s: &str) -> Result<SeededTopic, String> {
    let (name, parts) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not NAME:PARTITIONS"))?;
    if !is_valid_topic_name(name) {
        return Err(format!(
            "{name:?} is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])"
        ));
    }
    let partitions: i32 = parts
        .parse()
        .ok()
        .filter(|p| (1..=10_000).contains(p))
        .ok_or_else(|| format!("{s:?}: partitions must be a number 1-10000"))?;
    Ok(SeededTopic::new(name, partitions))
}

pub(super) async fn run(args: ServeArgs) -> Result<(), CliError> {
    if args.real {
        return run_real(args).await;
    }
    let advertise = args
        .advertise
        .as_deref()
        .map(|a| parse_advertise(a).map_err(|e| CliError(format!("--advertise {e}"))))
        .transpose()?;
    let mode = checked_mode(&args)?;
    let topics = unique_topics(args.topics)?;
    // The emulator's own bind: a 4096-long accept queue, as Emulator::start uses.
    let listener =
        crate::emulator::bind(args.listen).map_err(|e| CliError(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    let mut options = EmulatorOptions {
        listen: addr,
        advertise,
        topics,
        auto_create_topics: args.auto_create_topics,
        memory_budget: args.memory_budget,
        idle_timeout: crate::emulator::pool::idle_timeout_ms(args.idle_timeout),
        max_connections: args.max_connections.map(|n| n as usize),
        ..EmulatorOptions::default()
    };
    behaviour::apply(&args.behave, &mut options).map_err(|e| CliError(format!("--behave: {e}")))?;
    let advertise = options
        .advertise
        .clone()
        .unwrap_or_else(|| (addr.ip().to_string(), addr.port()));
    let broker = Arc::new(Broker::new(args.release, mode, &options, advertise)?);
    let (tx, rx) = watch::channel(false);
    let server = tokio::spawn(serve(listener, broker, Recorder::default(), rx));
    // Before the line: a script that signals as soon as it reads it must get
    // a clean stop, not the signal's default action.
    let mut stop = StopSignals::install()?;
    // The one line scripts wait for; the listener is already accepting.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    drop(out);
    let behave: Vec<&str> = args.behave.iter().map(|b| b.trim()).filter(|b| !b.is_empty()).collect();
    if !behave.is_empty() {
        eprintln!("misbehaving on purpose (--behave): {}", behave.join(","));
    }
    stop.wait().await;
    let _ = tx.send(true);
    let _ = server.await;
    Ok(())
}

/// `--mode`, or the release's default; one the release lacks is an error.
fn checked_mode(args: &ServeArgs) -> Result<Mode, CliError> {
    let mode = args.mode.unwrap_or_else(|| default_mode(args.release));
    let info = release_info(args.release).ok_or_else(|| CliError(format!("unknown release {}", args.release)))?;
    if !info.modes.contains(&mode) {
        let modes: Vec<String> = info.modes.iter().map(ToString::to_string).collect();
        return Err(CliError(format!(
            "Kafka {} has no {mode} mode; it has: {}",
            args.release,
            modes.join(", ")
        )));
    }
    Ok(mode)
}

/// The emulator's options that a real broker does not take, by flag.
fn emulator_only(args: &ServeArgs) -> Option<&'static str> {
    let defaults = crate::emulator::EmulatorOptions::default();
    [
        (args.advertise.is_some(), "--advertise"),
        (!args.topics.is_empty(), "--topic"),
        (!args.auto_create_topics, "--auto-create-topics"),
        (!args.behave.is_empty(), "--behave"),
        (args.memory_budget != defaults.memory_budget, "--memory-budget"),
        (args.max_connections.is_some(), "--max-connections"),
        (args.idle_timeout != 600_000, "--idle-timeout"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// `serve --real`: the release's real broker on the `--listen` address (port
/// 0 picks a free one), the same `listening on ADDR` line once it is ready,
/// then until SIGINT/SIGTERM; stopping it removes its processes and files.
async fn run_real(args: ServeArgs) -> Result<(), CliError> {
    if let Some(flag) = emulator_only(&args) {
        return Err(CliError(format!(
            "{flag} is an emulator option; a real broker (--real) runs with the JVM backend's single-node configuration"
        )));
    }
    let mode = checked_mode(&args)?;
    let homes = crate::backend::jvm::parse_kafka_homes(&args.kafka_homes)?;
    let mut stop = StopSignals::install()?;
    let setup = crate::backend::jvm::JvmSetup::detect(homes)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    let host = args.listen.ip().to_string();
    let port = Some(args.listen.port()).filter(|&p| p != 0);
    let broker = tokio::select! {
        started = setup.start(args.release, mode, &host, port) => started.map_err(|e| CliError(e.to_string()))?,
        // Stopped while starting: dropping the start kills what it started.
        () = stop.wait() => return Ok(()),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", broker.bootstrap)?;
    out.flush()?;
    drop(out);
    eprintln!(
        "real broker: {} ({mode}), ready in {:.1} s; log {}",
        broker.description,
        broker.startup.as_secs_f64(),
        broker.log.display()
    );
    stop.wait().await;
    broker.stop().await;
    Ok(())
}

/// SIGINT and SIGTERM, handled from the moment they are installed.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<Self, CliError> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Until either arrives.
    async fn wait(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_and_advertise_parsing() {
        assert_eq!(
            parse_topic("orders:3").map(|t| (t.name, t.partitions)),
            Ok(("orders".into(), 3))
        );
        assert_eq!(
            parse_topic("orders"),
            Err("\"orders\" is not NAME:PARTITIONS".to_string())
        );
        assert!(parse_topic("bad name:3").is_err());
        assert!(parse_topic("t:0").is_err());
        assert!(parse_topic("t:x").is_err());
        assert_eq!(parse_advertise("kafka:9092"), Ok(("kafka".into(), 9092)));
        assert_eq!(parse_advertise("[::1]:9092"), Ok(("::1".into(), 9092)));
        assert!(parse_advertise("kafka").is_err());
        assert!(parse_advertise(":9092").is_err());
        assert!(parse_advertise("h:0").is_err());
    }

    #[test]
    fn advertised_hosts_follow_the_bootstrap_rule_and_topics_are_unique() {
        assert_eq!(
            parse_advertise("bad host:1"),
            Err(
                "\"bad host:1\": host \"bad host\" is not a DNS name, an IPv4 address or a bracketed IPv6 address"
                    .into()
            )
        );
        assert!(parse_advertise("::1:9092").is_err(), "IPv6 needs brackets");
        assert_eq!(parse_advertise("10.0.0.7:19092"), Ok(("10.0.0.7".into(), 19092)));
        let topics = |names: &[&str]| names.iter().map(|&n| SeededTopic::new(n, 1)).collect::<Vec<_>>();
        assert_eq!(unique_topics(topics(&["a", "b"])).map(|t| t.len()), Ok(2));
        assert_eq!(
            unique_topics(topics(&["a", "b", "a"])).map(|t| t.len()),
            Err("--topic a is given more than once".into())
        );
    }
}
