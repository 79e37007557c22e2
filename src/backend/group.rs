//! [`GroupWatch`]: processes that cannot outlive this one.
//!
//! A child started in the watch's process group is killed (SIGKILL, with
//! the whole group) when the watch is told to ([`GroupWatch::kill`]), when
//! it is dropped, and when this process ends for any reason — Ctrl-C,
//! SIGTERM, a panic, even SIGKILL — with no signal handler needed.
//!
//! The group's leader is a small watcher, `sh`, that reads a pipe from this
//! process; the pipe closes when this process lets go of it, and the kernel
//! closes it when this process dies. The watcher then kills its own group,
//! itself included. It is reaped only after it has sent the signal, so the
//! group id cannot have been reused by then. A process that leaves the group
//! (`setsid`) escapes.
//!
//! Paths given to [`GroupWatch::with_cleanup`] are removed once the group is
//! gone, by a remover the watcher starts in a session of its own (so the
//! kill does not take it along) that waits on the same pipe: a broker's data
//! directory goes even when kafka-matrix was SIGKILLed.

use std::path::PathBuf;
use std::process::Stdio;

/// The leader of a process group that dies with this process.
#[derive(Debug)]
pub struct GroupWatch {
    watcher: tokio::process::Child,
    pgid: i32,
}

impl GroupWatch {
    /// Wait for the end of the input (nothing writes a line), then kill the
    /// group (`$$` is the watcher's pid, the group's id). With paths, a
    /// remover is started first, in a session of its own so that the kill
    /// does not take it along: it reads the same pipe (through fd 3, since
    /// an asynchronous list's stdin would be /dev/null), and once it ends
    /// waits, at most 10 s, until no process of the group is left (`kill
    /// -0` on the group fails), so that nothing still writes into what it
    /// removes. The watcher goes on only once the remover has left its group
    /// (field 5 of `/proc/PID/stat`), so an early kill cannot take it along.
    /// dash's `kill` takes no `--`.
    const SCRIPT: &'static str = r#"exec 3<&0
if [ $# -gt 0 ]; then
  setsid sh -c 'read -r _; i=0; while kill -0 "-$0" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; rm -rf -- "$@"' "$$" "$@" <&3 >/dev/null 2>&1 &
  while [ "$(cut -d' ' -f5 "/proc/$!/stat" 2>/dev/null)" = "$$" ]; do sleep 0.01; done
fi
exec 3<&-
read -r _
kill -KILL "-$$" 2>/dev/null
exit 0"#;

    /// A new group with nothing to remove.
    pub fn start() -> std::io::Result<Self> {
        Self::with_cleanup(&[])
    }

    /// A new group; `cleanup` is removed (`rm -rf`) once the group is dead.
    pub fn with_cleanup(cleanup: &[PathBuf]) -> std::io::Result<Self> {
        let watcher = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(Self::SCRIPT)
            .arg("kafka-matrix-group-watch")
            .args(cleanup)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pgid = watcher
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| std::io::Error::other("the group watcher has no pid"))?;
        Ok(Self { watcher, pgid })
    }

    /// The group id, for `Command::process_group`.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Kills the group and waits until the watcher has done it (the remover
    /// may still be at work).
    pub async fn kill(mut self) {
        drop(self.watcher.stdin.take());
        let _ = self.watcher.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_killed_group_takes_its_members_and_its_paths() {
        let dir = std::env::temp_dir().join(format!("kafka-matrix-group-unit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).expect("mkdir");
        let watch = GroupWatch::with_cleanup(std::slice::from_ref(&dir)).expect("watch");
        let mut child = tokio::process::Command::new("sleep")
            .arg("60")
            .process_group(watch.pgid())
            .spawn()
            .expect("sleep");
        let pid = child.id().expect("pid");
        assert!(alive(pid));
        watch.kill().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        assert!(!alive(pid), "the member was killed with the group");
        let gone = async {
            while dir.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_secs(10), gone).await.is_ok(),
            "{} was removed",
            dir.display()
        );
    }
}
