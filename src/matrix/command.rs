//! The `command` scenario: bring your own client. `--client-cmd` is a shell
//! command with placeholders, run once per cell against that cell's broker:
//! `{bootstrap}` (host:port), `{host}`, `{port}`, `{release}` and `{mode}`
//! (empty for tansu and unclaimed external brokers). The cell passes when the
//! command exits 0 within its timeout; exit status, duration and output go
//! into the report.
//!
//! # Placeholders are quoted
//!
//! Each placeholder becomes exactly one shell word ([`fill`]): a value made
//! only of letters, digits and `_ . : / , -` as it is, anything else POSIX
//! single-quoted (`'…'`, with `'\''` for a quote inside), an empty value `''`.
//! A value can never run as shell code, whatever the broker or the user's
//! `--bootstrap` says. (Do not quote placeholders in the template yourself.)
//!
//! # Output is streamed
//!
//! stdout and stderr are read as they arrive. Given an output file
//! ([`run_to`]; the matrix uses `transcripts/NNN-<cell>.out`), every byte of
//! both streams is appended to it in arrival order; in memory only the last
//! [`OUTPUT_TAIL_BYTES`] of each stream are kept, so a command that prints
//! gigabytes costs a few hundred KiB. A command killed at its timeout keeps
//! its output (tails and file) too.
//!
//! # The command's processes do not outlive it
//!
//! Every command runs in a process group of its own, led by a small watcher
//! (`sh`, [`GroupWatch`]) that reads a pipe from this process and, when the
//! pipe closes, sends SIGKILL to the whole group. The pipe closes when the
//! cell is done with the command (it exited, or was killed at the timeout),
//! and also when this process ends for any reason — Ctrl-C, SIGTERM, a
//! panic, even SIGKILL — since the kernel closes the pipe then. So background
//! processes the command started die with it, and no signal handler is
//! needed (the container backend's watchdog keeps its SIGINT/SIGTERM
//! handling). The watcher is the group's leader and is reaped only after it
//! has sent the signal, so the group id cannot have been reused by then.
//! A process that leaves the group (`setsid`) escapes; its hold on the output
//! pipes is cut after [`DRAIN_AFTER_KILL`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::backend::group::GroupWatch;

/// Output kept in memory per stream, from the end.
pub const OUTPUT_TAIL_BYTES: usize = 16 * 1024;
/// Bytes read from a stream at a time.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// How long the output pipes may stay open once the command's group is
/// dead (only a process that left the group can hold them).
pub const DRAIN_AFTER_KILL: Duration = Duration::from_secs(5);

/// The user's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCommand {
    /// The template, e.g. `kcat -b {bootstrap} -L`.
    pub template: String,
    /// Killed after this long.
    pub timeout: Duration,
}

/// What the command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandOutcome {
    /// The command as run (placeholders filled in).
    pub command: String,
    /// Exit code; `None` if killed by a signal or at the timeout.
    pub exit_code: Option<i32>,
    /// Whether it was killed at the timeout.
    pub timed_out: bool,
    /// Wall time until it exited or was killed, milliseconds.
    pub duration_ms: u64,
    /// The end of its stdout (at most [`OUTPUT_TAIL_BYTES`]).
    pub stdout: String,
    /// The end of its stderr (at most [`OUTPUT_TAIL_BYTES`]).
    pub stderr: String,
    /// Bytes it wrote to stdout, all of them.
    pub stdout_bytes: u64,
    /// Bytes it wrote to stderr, all of them.
    pub stderr_bytes: u64,
    /// The file holding all of its output, both streams in arrival order
    /// (relative to the report directory in a matrix report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    /// Why the output (in memory or in the file) is incomplete, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_error: Option<String>,
}

impl CommandOutcome {
    /// Exit 0 within the timeout.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// Why it failed, in one line.
    pub fn failure(&self) -> String {
        let last = |s: &str| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let detail = match (last(&self.stderr), last(&self.stdout)) {
            (e, _) if !e.is_empty() => format!(": {e}"),
            (_, o) if !o.is_empty() => format!(": {o}"),
            _ => String::new(),
        };
        if self.timed_out {
            format!("`{}` was killed after {} ms{detail}", self.command, self.duration_ms)
        } else {
            match self.exit_code {
                Some(c) => format!("`{}` exited with status {c}{detail}", self.command),
                None => format!("`{}` was killed by a signal{detail}", self.command),
            }
        }
    }

    /// The whole record as text, for the cell's transcript file.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "command: {}\nexit: {}\nduration: {} ms\n",
            self.command,
            match (self.timed_out, self.exit_code) {
                (true, _) => "killed at the timeout".to_owned(),
                (false, Some(c)) => c.to_string(),
                (false, None) => "killed by a signal".to_owned(),
            },
            self.duration_ms,
        );
        if let Some(file) = &self.output_file {
            let _ = writeln!(
                s,
                "output: {file} (all of it: {} bytes of stdout and {} of stderr, in arrival order)",
                self.stdout_bytes, self.stderr_bytes
            );
        }
        if let Some(e) = &self.output_error {
            let _ = writeln!(s, "output incomplete: {e}");
        }
        let heading = |name: &str, kept: &str, total: u64| {
            if kept.len() as u64 >= total {
                format!("--- {name} ---")
            } else {
                format!("--- {name} (the last {} of {total} bytes) ---", kept.len())
            }
        };
        let _ = write!(
            s,
            "{}\n{}\n{}\n{}\n",
            heading("stdout", &self.stdout, self.stdout_bytes),
            self.stdout,
            heading("stderr", &self.stderr, self.stderr_bytes),
            self.stderr
        );
        s
    }
}

/// POSIX shell single-quoting: `'…'`, with `'\''` for each quote inside.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `value` as one shell word: as it is when it is made only of characters no
/// shell treats specially (letters, digits, `_ . : / , -`), else
/// [`shell_quote`]d (so an empty value is `''`).
pub fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:/,-".contains(&b));
    if plain {
        value.to_owned()
    } else {
        shell_quote(value)
    }
}

/// Fills in the placeholders, each as one shell word ([`shell_word`]), in a
/// single pass: text a value brings in is never read as a placeholder.
pub fn fill(template: &str, bootstrap: &str, release: &str, mode: &str) -> String {
    let (host, port) = bootstrap.rsplit_once(':').unwrap_or((bootstrap, ""));
    let values = [
        ("{bootstrap}", bootstrap),
        ("{host}", host),
        ("{port}", port),
        ("{release}", release),
        ("{mode}", mode),
    ];
    let mut out = String::with_capacity(template.len() + bootstrap.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(name, _)| rest.starts_with(name)) {
            Some((name, value)) => {
                out.push_str(&shell_word(value));
                rest = &rest[name.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Runs `command` with `sh -c`, killing its process group at `timeout`;
/// keeps only the tails of its output.
pub async fn run(command: String, timeout: Duration) -> Result<CommandOutcome, CommandError> {
    run_to(command, timeout, None).await
}

/// [`run`], and every byte of its output (both streams, in arrival order)
/// is appended to `output` (created, or truncated) as it arrives.
/// [`CommandOutcome::output_file`] is left for the caller to set.
pub async fn run_to(command: String, timeout: Duration, output: Option<&Path>) -> Result<CommandOutcome, CommandError> {
    let file = match output {
        None => None,
        Some(path) => Some(create_output(path).await?),
    };
    let started = Instant::now();
    let spawn = |source| CommandError::Spawn {
        command: command.clone(),
        source,
    };
    let watch = GroupWatch::start().map_err(spawn)?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(watch.pgid())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn)?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(CommandError::NoPipes { command });
    };
    let mut output = Output::new(file);
    let mut drained = false;
    let (status, duration_ms) = {
        let pump = output.pump(stdout, stderr);
        tokio::pin!(pump);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let exited = loop {
            tokio::select! {
                status = child.wait() => break Some(status),
                () = &mut deadline => break None,
                () = &mut pump, if !drained => drained = true,
            }
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Exited or not, nothing of the command may outlive it.
        watch.kill().await;
        let status = match exited {
            Some(status) => Some(status.map_err(|source| CommandError::Wait {
                command: command.clone(),
                source,
            })?),
            None => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                None
            }
        };
        if !drained {
            drained = tokio::time::timeout(DRAIN_AFTER_KILL, &mut pump).await.is_ok();
        }
        (status, duration_ms)
    };
    if !drained {
        output.note(format!(
            "its output pipes were still open {} s after its process group was killed \
             (a process that left the group holds them)",
            DRAIN_AFTER_KILL.as_secs()
        ));
    }
    Ok(CommandOutcome {
        command,
        exit_code: status.and_then(|s| s.code()),
        timed_out: status.is_none(),
        duration_ms,
        stdout: tail(&output.tails[0]),
        stderr: tail(&output.tails[1]),
        stdout_bytes: output.bytes[0],
        stderr_bytes: output.bytes[1],
        output_file: None,
        output_error: output.error,
    })
}

async fn create_output(path: &Path) -> Result<std::fs::File, CommandError> {
    let path = path.to_owned();
    let create = move || {
        let fail = |at: &Path| {
            let path = at.to_owned();
            move |source| CommandError::Output { path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail(dir))?;
        }
        std::fs::File::create(&path).map_err(fail(&path))
    };
    tokio::task::spawn_blocking(create)
        .await
        .map_err(|e| CommandError::Output {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        })?
}

/// Why a client command could not be run (its own failures are a
/// [`CommandOutcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// `sh` (or the process-group watcher) could not be started.
    #[error("cannot run `{command}` with sh: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The child came without its output pipes.
    #[error("`{command}`: no pipes to its output")]
    NoPipes {
        /// The command.
        command: String,
    },
    /// Waiting for it failed.
    #[error("waiting for `{command}`: {source}")]
    Wait {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// Its output file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Output {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(OUTPUT_TAIL_BYTES);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// What has been read of a command's output: per stream (0 stdout,
/// 1 stderr) its byte count and tail, and the file all of it goes to
/// (written on tokio's blocking pool, as `tokio::fs` would; this crate
/// builds without tokio's `fs` feature).
struct Output {
    tails: [Vec<u8>; 2],
    bytes: [u64; 2],
    file: Option<std::fs::File>,
    error: Option<String>,
}

impl Output {
    fn new(file: Option<std::fs::File>) -> Self {
        Self {
            tails: [Vec::new(), Vec::new()],
            bytes: [0, 0],
            file,
            error: None,
        }
    }

    fn note(&mut self, why: String) {
        match &mut self.error {
            Some(e) => {
                e.push_str("; ");
                e.push_str(&why);
            }
            None => self.error = Some(why),
        }
    }

    /// Reads both streams to their ends, as the bytes arrive.
    async fn pump(&mut self, mut stdout: impl AsyncRead + Unpin, mut stderr: impl AsyncRead + Unpin) {
        let mut buffers = [vec![0; READ_CHUNK_BYTES], vec![0; READ_CHUNK_BYTES]];
        let mut open = [true, true];
        while open[0] || open[1] {
            let [out_buf, err_buf] = &mut buffers;
            let (stream, read) = tokio::select! {
                r = stdout.read(out_buf), if open[0] => (0, r),
                r = stderr.read(err_buf), if open[1] => (1, r),
            };
            match read {
                Ok(0) => open[stream] = false,
                Ok(n) => self.take(stream, n, &buffers[stream]).await,
                Err(e) => {
                    open[stream] = false;
                    self.note(format!("reading its {}: {e}", ["stdout", "stderr"][stream]));
                }
            }
        }
    }

    async fn take(&mut self, stream: usize, n: usize, buffer: &[u8]) {
        let chunk = &buffer[..n];
        self.bytes[stream] += n as u64;
        let tail = &mut self.tails[stream];
        tail.extend_from_slice(chunk);
        if tail.len() > 2 * OUTPUT_TAIL_BYTES {
            tail.drain(..tail.len() - OUTPUT_TAIL_BYTES);
        }
        if let Some(mut file) = self.file.take() {
            let chunk = chunk.to_vec();
            let write = move || {
                use std::io::Write as _;
                file.write_all(&chunk).map(|()| file)
            };
            match tokio::task::spawn_blocking(write).await {
                Ok(Ok(file)) => self.file = Some(file),
                Ok(Err(e)) => self.note(format!("writing the output file: {e}")),
                Err(e) => self.note(format!("writing the output file: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "kcat -b {bootstrap} -L # {host} {port} {release} {mode}",
                "127.0.0.1:9092",
                "3.8",
                "zk"
            ),
            "kcat -b 127.0.0.1:9092 -L # 127.0.0.1 9092 3.8 zk"
        );
    }

    #[tokio::test]
    async fn exit_status_output_and_timeout_are_recorded() {
        let ok = run("echo hi; echo oops >&2".into(), Duration::from_secs(10))
            .await
            .expect("runs");
        assert!(ok.passed());
        assert_eq!((ok.stdout.as_str(), ok.stderr.as_str()), ("hi\n", "oops\n"));
        let bad = run("echo nope >&2; exit 3".into(), Duration::from_secs(10))
            .await
            .expect("runs");
        assert!(!bad.passed());
        assert_eq!(bad.failure(), "`echo nope >&2; exit 3` exited with status 3: nope");
        let slow = run("sleep 5".into(), Duration::from_millis(200)).await.expect("runs");
        assert!(slow.timed_out && !slow.passed());
        assert!(slow.duration_ms < 5000, "killed at the timeout, not after the sleep");
    }

    #[test]
    fn placeholder_values_are_one_shell_word_each() {
        assert_eq!(shell_word("127.0.0.1:9092"), "127.0.0.1:9092");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("x$(touch F)"), "'x$(touch F)'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("[::1]:9092"), "'[::1]:9092'");
        assert_eq!(
            fill("c {bootstrap} {host} {port} {release}{mode}", "a b:1", "", ""),
            "c 'a b:1' 'a b' 1 ''''"
        );
        // One pass: a value that looks like a placeholder stays text.
        assert_eq!(fill("{host}/{mode}", "{mode}:1", "3.8", "zk"), "'{mode}'/zk");
        assert_eq!(fill("{x} {{bootstrap}}", "h:1", "", ""), "{x} {h:1}");
    }

    #[tokio::test]
    async fn only_the_tails_stay_in_memory_and_the_file_gets_everything() {
        let dir = std::env::temp_dir().join(format!("kafka-matrix-command-unit-{}", std::process::id()));
        let file = dir.join("sub/out.txt");
        // 100 000 lines of 8 bytes on stdout, one line on stderr.
        let cmd = "i=0; while [ $i -lt 100000 ]; do echo 0123456; i=$((i+1)); done; echo bye >&2";
        let got = run_to(cmd.into(), Duration::from_secs(60), Some(&file))
            .await
            .expect("runs");
        assert!(got.passed(), "{got:?}");
        assert_eq!((got.stdout_bytes, got.stderr_bytes), (800_000, 4));
        assert_eq!(got.stdout.len(), OUTPUT_TAIL_BYTES);
        assert_eq!(got.stderr, "bye\n");
        assert_eq!(std::fs::metadata(&file).map(|m| m.len()).ok(), Some(800_004));
        assert!(got
            .render()
            .contains("--- stdout (the last 16384 of 800000 bytes) ---\n0123456\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
