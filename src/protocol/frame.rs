//! Size-prefixed framing: every Kafka request and response is an `int32`
//! length followed by that many bytes.
//!
//! The length is checked *before* anything is allocated for the body: a
//! negative size or one above the limit is an error, never an allocation.
//! Kafka's broker does the same (`NetworkReceive.readFrom` throws
//! `InvalidReceiveException` for `size < 0` and for `size > maxSize`, where
//! `maxSize` is `socket.request.max.bytes`, default 104857600).

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Kafka's default `socket.request.max.bytes` (100 MiB), used as our default
/// limit for frames in both directions.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 104_857_600;

/// Most bytes reserved ahead of data actually received.
const RESERVE_STEP: usize = 64 * 1024;

/// A length prefix that must not be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The prefix is negative.
    #[error("invalid frame size {size}: negative")]
    Negative {
        /// The prefix as read.
        size: i32,
    },
    /// The prefix is above the limit.
    #[error("invalid frame size {size}: larger than the limit of {max} bytes")]
    TooLarge {
        /// The prefix as read.
        size: usize,
        /// The limit in force.
        max: usize,
    },
}

/// Validates a 4-byte length prefix against `max` and returns the body size.
pub fn body_len(prefix: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let size = i32::from_be_bytes(prefix);
    let size = usize::try_from(size).map_err(|_| FrameError::Negative { size })?;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    Ok(size)
}

/// Splits one complete frame body off the front of `buf`.
///
/// `Ok(None)` means "need more bytes" (not an error). The prefix is validated
/// as soon as its 4 bytes are in, so an oversized frame is refused before its
/// body arrives.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let mut p = [0u8; 4];
    p.copy_from_slice(prefix);
    let len = body_len(p, max)?;
    if buf.len() < 4 + len {
        // Grow toward the frame in steps: a peer that announces a large
        // frame and then stalls costs at most one step, not the whole frame.
        buf.reserve((4 + len - buf.len()).min(RESERVE_STEP));
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Builds a frame: reserves the prefix, lets `body` write, then patches the
/// length in.
pub fn build_frame<E>(body: impl FnOnce(&mut BytesMut) -> Result<(), E>) -> Result<Bytes, E> {
    let mut buf = BytesMut::with_capacity(64);
    put_frame(&mut buf, body)?;
    Ok(buf.freeze())
}

/// [`build_frame`], appended to `buf` (a buffer the caller reuses).
pub fn put_frame<E>(buf: &mut BytesMut, body: impl FnOnce(&mut BytesMut) -> Result<(), E>) -> Result<(), E> {
    let start = buf.len();
    buf.put_i32(0);
    body(buf)?;
    let len = (buf.len() - start - 4) as i32;
    buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_complete_frames_only() {
        let mut buf = BytesMut::from(&[0, 0, 0, 2, 0xaa][..]);
        assert_eq!(split_frame(&mut buf, 10), Ok(None));
        buf.extend_from_slice(&[0xbb, 0, 0, 0]);
        assert_eq!(split_frame(&mut buf, 10), Ok(Some(Bytes::from_static(&[0xaa, 0xbb]))));
        assert_eq!(&buf[..], &[0, 0, 0]);
        assert_eq!(split_frame(&mut buf, 10), Ok(None));
    }

    #[test]
    fn oversized_and_negative_prefixes_are_refused_before_the_body() {
        let mut buf = BytesMut::from(&[0x06, 0x40, 0x00, 0x01][..]); // 104857601
        let err = split_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("invalid frame size 104857601: larger than the limit of 104857600 bytes".to_string())
        );
        assert!(buf.capacity() < 1024, "nothing was reserved for the body");
        // A legal but large prefix reserves one step, not the whole frame.
        let mut buf = BytesMut::from(&[0x06, 0x40, 0x00, 0x00][..]); // 104857600
        assert_eq!(split_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES), Ok(None));
        assert!(buf.capacity() <= 4 + RESERVE_STEP, "reserved {}", buf.capacity());
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(split_frame(&mut buf, 10), Err(FrameError::Negative { size: -1 }));
    }

    #[test]
    fn build_patches_the_length() {
        let f = build_frame::<()>(|b| {
            b.put_slice(b"abc");
            Ok(())
        });
        assert_eq!(f.ok().as_deref(), Some(&[0, 0, 0, 3, b'a', b'b', b'c'][..]));
    }
}
