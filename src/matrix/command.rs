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

use std::time::{Duration, Instant};

use serde::Serialize;

/// Output kept per stream, from the end.
pub const OUTPUT_TAIL_BYTES: usize = 16 * 1024;

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
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
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
        format!(
            "command: {}\nexit: {}\nduration: {} ms\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
            self.command,
            match (self.timed_out, self.exit_code) {
                (true, _) => "killed at the timeout".to_owned(),
                (false, Some(c)) => c.to_string(),
                (false, None) => "killed by a signal".to_owned(),
            },
            self.duration_ms,
            self.stdout,
            self.stderr
        )
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

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(OUTPUT_TAIL_BYTES);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Runs `command` with `sh -c`, killing it at `timeout`.
pub async fn run(command: String, timeout: Duration) -> Result<CommandOutcome, String> {
    let started = Instant::now();
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{command}` with sh: {e}"))?;
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(match waited {
        Ok(Ok(out)) => CommandOutcome {
            command,
            exit_code: out.status.code(),
            timed_out: false,
            duration_ms,
            stdout: tail(&out.stdout),
            stderr: tail(&out.stderr),
        },
        Ok(Err(e)) => return Err(format!("waiting for `{command}`: {e}")),
        // Dropping the future dropped the child, which kill_on_drop killed.
        Err(_) => CommandOutcome {
            command,
            exit_code: None,
            timed_out: true,
            duration_ms,
            stdout: String::new(),
            stderr: String::new(),
        },
    })
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
}
