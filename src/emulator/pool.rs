//! The request memory pool: Kafka's `queued.max.request.bytes`.
//!
//! Kafka gives every request buffer from a `SimpleMemoryPool` of
//! `queued.max.request.bytes` (`SocketServer` builds it, non-strict, when the
//! setting is positive). `NetworkReceive.readFrom` asks the pool for the
//! frame's size as soon as the size prefix is in; when the pool has nothing
//! left the channel is muted (`Selector.attemptRead`: "channel has muted
//! itself due to memory pressure") and read again once memory comes back.
//! Non-strict: a request is granted while *any* memory is left, so one request
//! larger than what is left can still run alone.
//!
//! Here: a connection reads a frame's 4-byte size prefix; a frame of at most
//! [`UNPOOLED_FRAME_BYTES`] needs no reservation (one request in flight per
//! connection bounds them); a larger one reserves [`RESERVE_FACTOR`] times
//! its size (the frame, the de-duplication table, the marks; capped at the
//! whole budget, so that one request larger than the budget still runs
//! alone) **before its body is read**, and holds the reservation until its
//! reply has been written. While it waits, nothing more is read from that
//! socket. The pool is a `tokio::sync::Semaphore` counted in KiB (fair: a
//! large request waiting is not overtaken by later ones).
//!
//! Sources (Apache Kafka 3.8.0): `core/src/main/scala/kafka/network/SocketServer.scala`
//! (`memoryPool = if (config.queuedMaxBytes > 0) new SimpleMemoryPool(...)`),
//! `clients/src/main/java/org/apache/kafka/common/memory/SimpleMemoryPool.java`,
//! `clients/src/main/java/org/apache/kafka/common/network/NetworkReceive.java`
//! (`memoryPool.tryAllocate(requestedBufferSize)`),
//! `clients/src/main/java/org/apache/kafka/common/network/Selector.java`.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default budget: 1 GiB. (Kafka's `queued.max.request.bytes` defaults to
/// -1, unbounded, with the JVM heap as the real limit; an emulator has no
/// heap limit, so it gets a budget.)
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// Smallest budget accepted: 1 MiB.
pub const MIN_MEMORY_BUDGET: usize = 1 << 20;

/// Frames up to this size need no reservation: every client request seen in
/// practice (ApiVersions, Metadata for a few hundred topics) is far below.
pub const UNPOOLED_FRAME_BYTES: usize = 16 * 1024;

/// A pooled frame reserves this many times its size: the frame itself, the
/// de-duplication table of a Metadata request (at most 5 bytes a slot for a
/// name of 3 or more bytes, ~1.6× the frame) and two bits per entry.
pub const RESERVE_FACTOR: usize = 3;

/// The pool (cheap to clone: clones share it).
#[derive(Debug, Clone)]
pub struct MemoryPool {
    permits: Arc<Semaphore>,
    budget_kib: u32,
}

/// Memory held for one request until its reply is written; dropping it gives
/// the memory back. Unpooled frames hold none.
#[derive(Debug)]
pub struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
}

impl MemoryPool {
    /// A pool of `budget` bytes (at least [`MIN_MEMORY_BUDGET`], at most
    /// `u32::MAX` KiB).
    pub fn new(budget: usize) -> Self {
        let kib = (budget.max(MIN_MEMORY_BUDGET) / 1024).min(u32::MAX as usize);
        let budget_kib = u32::try_from(kib).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(budget_kib as usize)),
            budget_kib,
        }
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget_kib as usize * 1024
    }

    /// Bytes not reserved now.
    pub fn available(&self) -> usize {
        self.permits.available_permits() * 1024
    }

    /// KiB a frame of `len` bytes reserves (0: unpooled).
    pub fn cost_kib(&self, len: usize) -> u32 {
        if len <= UNPOOLED_FRAME_BYTES {
            return 0;
        }
        let kib = len.saturating_mul(RESERVE_FACTOR).div_ceil(1024);
        u32::try_from(kib).unwrap_or(u32::MAX).min(self.budget_kib)
    }

    /// Reserves for a frame of `len` bytes, waiting (in turn) until the pool
    /// has room.
    pub async fn reserve(&self, len: usize) -> Reservation {
        let kib = self.cost_kib(len);
        if kib == 0 {
            return Reservation { _permit: None };
        }
        // The semaphore is never closed.
        let permit = Arc::clone(&self.permits).acquire_many_owned(kib).await.ok();
        Reservation { _permit: permit }
    }

    /// Reserves at once if the pool has room now.
    pub fn try_reserve(&self, len: usize) -> Option<Reservation> {
        let kib = self.cost_kib(len);
        if kib == 0 {
            return Some(Reservation { _permit: None });
        }
        let permit = Arc::clone(&self.permits).try_acquire_many_owned(kib).ok()?;
        Some(Reservation { _permit: Some(permit) })
    }
}

impl Default for MemoryPool {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_BUDGET)
    }
}

/// Parses a byte size: a number with an optional binary suffix, `K`/`KiB`,
/// `M`/`MiB`, `G`/`GiB` (`512M`, `1GiB`, `1073741824`).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 1G, 512M, 1048576)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M or G)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// [`parse_size`], at least [`MIN_MEMORY_BUDGET`] (for `serve --memory-budget`).
pub fn parse_budget(s: &str) -> Result<usize, String> {
    let n = parse_size(s)?;
    if n < MIN_MEMORY_BUDGET {
        return Err(format!("{s:?}: the memory budget must be at least 1M"));
    }
    Ok(n)
}

/// Milliseconds for `serve --idle-timeout`: a positive number, or -1 for
/// never (Kafka's `connections.max.idle.ms`).
pub fn parse_idle_ms(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(ms) if ms == -1 || ms > 0 => Ok(ms),
        _ => Err(format!("{s:?}: the idle timeout is milliseconds > 0, or -1 for never")),
    }
}

/// The idle timeout for [`parse_idle_ms`]'s value (`None` for -1: never).
pub fn idle_timeout_ms(ms: i64) -> Option<std::time::Duration> {
    u64::try_from(ms).ok().map(std::time::Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_are_free_large_ones_reserve_three_times_capped_at_the_budget() {
        let pool = MemoryPool::new(10 << 20);
        assert_eq!(pool.cost_kib(UNPOOLED_FRAME_BYTES), 0);
        assert_eq!(pool.cost_kib(UNPOOLED_FRAME_BYTES + 1), 49);
        assert_eq!(pool.cost_kib(1 << 20), 3 * 1024);
        assert_eq!(pool.cost_kib(100 << 20), 10 * 1024);
        let a = pool.try_reserve(2 << 20).expect("room");
        assert_eq!(pool.available(), 4 << 20);
        assert!(pool.try_reserve(2 << 20).is_none(), "6 MiB asked, 4 MiB left");
        assert!(pool.try_reserve(100).is_some(), "unpooled frames never wait");
        drop(a);
        assert_eq!(pool.available(), 10 << 20);
        let whole = pool
            .try_reserve(100 << 20)
            .expect("a frame above the budget runs alone");
        assert_eq!(pool.available(), 0);
        drop(whole);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("1T").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_budget("512K").is_err());
        assert_eq!(
            parse_idle_ms("600000").map(idle_timeout_ms),
            Ok(Some(std::time::Duration::from_secs(600)))
        );
        assert_eq!(parse_idle_ms("-1").map(idle_timeout_ms), Ok(None));
        assert!(parse_idle_ms("0").is_err());
    }
}
