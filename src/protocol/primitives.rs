//! Kafka's primitive wire types, read from a byte slice and written into a
//! `BytesMut`.
//!
//! Reading is bounds-checked everywhere. An array's count off the wire is
//! checked against the bytes left before any element is read
//! ([`Reader::array_len`]), and room is reserved for at most
//! [`PREALLOCATED`] of the elements it claims (an `INT32` array is read in
//! place, [`Reader::i32s`], so a copy of it is no larger than its bytes on
//! the wire). A hostile count can make a
//! decode fail, never make it allocate much, or panic. Writing returns an
//! error only for values the wire format cannot carry (a string longer than
//! `i16::MAX` bytes).
//!
//! "Flexible" versions (KIP-482) use compact strings/arrays (unsigned varint
//! length + 1, with 0 meaning null) and end every struct with tagged fields.
//!
//! # References
//! - <https://kafka.apache.org/protocol#protocol_types>
//! - KIP-482: <https://cwiki.apache.org/confluence/display/KAFKA/KIP-482>

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};

/// A 16-byte topic id (`uuid` on the wire). All zeroes is Kafka's "no id".
pub type Uuid = [u8; 16];

/// Most elements an array's claimed count reserves room for before any is
/// read ([`Reader::nullable_vec`]).
pub const PREALLOCATED: usize = 256;

/// A cursor over one message's bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    strict_tag_order: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            strict_tag_order: false,
        }
    }

    /// From here on, refuse tagged fields out of ascending order or repeated,
    /// as Kafka 2.4–2.7 did in request bodies (their `TaggedFields.read`:
    /// "Invalid or out-of-order tag"); later readers, and every header
    /// reader, accept any order.
    pub fn set_strict_tag_order(&mut self, strict: bool) {
        self.strict_tag_order = strict;
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Moves past `n` bytes the caller has already seen in [`Reader::rest`]
    /// (never past the end).
    pub fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// `int8`.
    pub fn i8(&mut self, what: &'static str) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array(what)?))
    }

    /// `int16`, big-endian.
    pub fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    /// `int32`, big-endian.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// `int64`, big-endian.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// `boolean`: one byte, any non-zero value is true (as Kafka's reader does).
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.i8(what)? != 0)
    }

    /// `uuid`: 16 raw bytes.
    pub fn uuid(&mut self, what: &'static str) -> Result<Uuid, DecodeError> {
        self.array(what)
    }

    /// `unsigned_varint`: up to 5 bytes, little-endian base-128.
    #[inline]
    pub fn uvarint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        // One byte below 0x80 (lengths, counts and tags under 128) is the
        // common case, and inlined; longer ones take the loop.
        match self.buf.get(self.pos) {
            Some(&byte) if byte < 0x80 => {
                self.pos += 1;
                Ok(u32::from(byte))
            }
            _ => self.long_uvarint(what),
        }
    }

    fn long_uvarint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.array::<1>(what)?[0];
            // The fifth byte may only carry the top 4 bits of a u32.
            if i == 4 && byte > 0x0f {
                return Err(DecodeError::VarintTooLong { what });
            }
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintTooLong { what })
    }

    /// A length that may be null: `int16`/`int32` in classic versions,
    /// `uvarint` N+1 in flexible ones. Any negative length is null, as Kafka
    /// reads it (`if (length < 0) return null`); a field that cannot be null
    /// then fails with [`DecodeError::UnexpectedNull`].
    fn length(&mut self, flexible: bool, wide: bool, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let raw: i64 = if flexible {
            i64::from(self.uvarint(what)?) - 1
        } else if wide {
            i64::from(self.i32(what)?)
        } else {
            i64::from(self.i16(what)?)
        };
        // Non-negative and at most u32::MAX, which fits usize on every target we build for.
        Ok(usize::try_from(raw).ok())
    }

    /// `string` / `compact_string` (non-null).
    pub fn string(&mut self, flexible: bool, what: &'static str) -> Result<String, DecodeError> {
        self.nullable_string(flexible, what)?
            .ok_or(DecodeError::UnexpectedNull { what })
    }

    /// `nullable_string` / `compact_nullable_string`.
    ///
    /// Decoded leniently, as Kafka's readers do (`new String(bytes, UTF_8)`):
    /// a malformed UTF-8 sequence becomes U+FFFD, never an error.
    pub fn nullable_string(&mut self, flexible: bool, what: &'static str) -> Result<Option<String>, DecodeError> {
        Ok(self.nullable_str(flexible, what)?.map(Cow::into_owned))
    }

    /// [`Reader::nullable_string`], borrowed from the message where it is
    /// valid UTF-8 (nearly always: no copy, no lossy scan).
    pub fn nullable_str(&mut self, flexible: bool, what: &'static str) -> Result<Option<Cow<'a, str>>, DecodeError> {
        Ok(self.nullable_bytes_of_string(flexible, what)?.map(lenient_utf8))
    }

    /// [`Reader::nullable_str`] for a field that may not be null.
    pub fn str(&mut self, flexible: bool, what: &'static str) -> Result<Cow<'a, str>, DecodeError> {
        self.nullable_str(flexible, what)?
            .ok_or(DecodeError::UnexpectedNull { what })
    }

    /// A non-null `ARRAY` / `COMPACT_ARRAY` of `INT32`, read in place.
    pub fn i32s(&mut self, flexible: bool, what: &'static str) -> Result<Int32s<'a>, DecodeError> {
        let n = self
            .array_len(flexible, 4, what)?
            .ok_or(DecodeError::UnexpectedNull { what })?;
        // `array_len` has checked that the `n` ids are there.
        Ok(Int32s(self.take(4 * n, what)?))
    }

    /// The raw bytes of a `nullable_string` / `compact_nullable_string`,
    /// borrowed from the message (for decoders that must not copy).
    ///
    /// A compact string longer than 32767 bytes is refused, as Kafka's
    /// generated readers refuse it ("string field … had invalid length").
    pub fn nullable_bytes_of_string(
        &mut self,
        flexible: bool,
        what: &'static str,
    ) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.length(flexible, false, what)? {
            Some(length) if length > i16::MAX as usize => Err(DecodeError::StringTooLong { what, length }),
            Some(len) => Ok(Some(self.take(len, what)?)),
            None => Ok(None),
        }
    }

    /// The element count of an `ARRAY` / `COMPACT_ARRAY`, `None` for null.
    ///
    /// `min_element_size` is the fewest bytes one element can take; a count
    /// that cannot fit in the bytes left is refused here, so callers may loop
    /// `count` times without trusting the wire.
    pub fn array_len(
        &mut self,
        flexible: bool,
        min_element_size: usize,
        what: &'static str,
    ) -> Result<Option<usize>, DecodeError> {
        let len = self.length(flexible, true, what)?;
        if let Some(n) = len {
            if n.saturating_mul(min_element_size.max(1)) > self.remaining() {
                return Err(DecodeError::CountTooLarge {
                    what,
                    count: n,
                    remaining: self.remaining(),
                });
            }
        }
        Ok(len)
    }

    /// A non-null array of `T`, each read by `read`.
    pub fn vec<T>(
        &mut self,
        flexible: bool,
        min_element_size: usize,
        what: &'static str,
        read: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        self.nullable_vec(flexible, min_element_size, what, read)?
            .ok_or(DecodeError::UnexpectedNull { what })
    }

    /// A nullable array of `T`, each read by `read` (see [`PREALLOCATED`]).
    pub fn nullable_vec<T>(
        &mut self,
        flexible: bool,
        min_element_size: usize,
        what: &'static str,
        mut read: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        let Some(n) = self.array_len(flexible, min_element_size, what)? else {
            return Ok(None);
        };
        // Room for `n` up to PREALLOCATED elements at once: `n` is only a claim
        // (bounded by the bytes left, `array_len`), so past that the vector
        // grows with the elements actually read, and a hostile count costs at
        // most PREALLOCATED elements of heap until the read fails. A legal
        // ApiVersions table (60–90 entries) is then one allocation, not seven.
        let mut out = Vec::with_capacity(n.min(PREALLOCATED));
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(Some(out))
    }

    /// A tagged-field section. `on_tag(tag, body)` decodes the tags it knows
    /// from `body` (the field's bytes); unknown tags are skipped by their
    /// size, as Kafka's generated readers skip them. Like those readers, this
    /// checks neither the order of tags (unless [`Reader::set_strict_tag_order`])
    /// nor that a known field used all of its bytes.
    pub fn tagged_fields(
        &mut self,
        mut on_tag: impl FnMut(u32, &mut Reader<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.uvarint("tagged field count")?;
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let tag = self.uvarint("tag")?;
            if self.strict_tag_order && previous.is_some_and(|p| tag <= p) {
                return Err(DecodeError::TagOrder { tag });
            }
            previous = Some(tag);
            let size = self.uvarint("tagged field size")? as usize;
            let body = self.take(size, "tagged field")?;
            on_tag(tag, &mut Reader::new(body))?;
        }
        Ok(())
    }

    /// Skips a tagged-field section whose tags this version does not define.
    #[inline]
    pub fn skip_tagged_fields(&mut self) -> Result<(), DecodeError> {
        // An empty section (one zero byte) ends nearly every struct of a
        // flexible version: inlined, without the loop.
        if self.buf.get(self.pos) == Some(&0) {
            self.pos += 1;
            return Ok(());
        }
        self.tagged_fields(|_, _| Ok(()))
    }
}

/// Writes `unsigned_varint`.
pub fn put_uvarint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes a length in the version's style (see [`Reader`]).
fn put_length(
    buf: &mut BytesMut,
    flexible: bool,
    wide: bool,
    len: Option<usize>,
    what: &'static str,
) -> Result<(), EncodeError> {
    // Strings are limited to i16::MAX bytes in compact form too: Kafka's generated
    // code refuses to read or write a longer one, whatever the length encoding.
    let limit = if wide { i32::MAX as usize - 1 } else { i16::MAX as usize };
    match len {
        Some(n) if n > limit => Err(EncodeError::TooLong { what, len: n }),
        Some(n) if flexible => {
            put_uvarint(buf, n as u32 + 1);
            Ok(())
        }
        None if flexible => {
            put_uvarint(buf, 0);
            Ok(())
        }
        Some(n) if wide => {
            buf.put_i32(n as i32);
            Ok(())
        }
        Some(n) => {
            buf.put_i16(n as i16);
            Ok(())
        }
        None if wide => {
            buf.put_i32(-1);
            Ok(())
        }
        None => {
            buf.put_i16(-1);
            Ok(())
        }
    }
}

/// Writes `string` / `compact_string`.
pub fn put_string(buf: &mut BytesMut, flexible: bool, s: &str, what: &'static str) -> Result<(), EncodeError> {
    put_nullable_string(buf, flexible, Some(s), what)
}

/// Writes `nullable_string` / `compact_nullable_string`.
pub fn put_nullable_string(
    buf: &mut BytesMut,
    flexible: bool,
    s: Option<&str>,
    what: &'static str,
) -> Result<(), EncodeError> {
    put_length(buf, flexible, false, s.map(str::len), what)?;
    if let Some(s) = s {
        buf.put_slice(s.as_bytes());
    }
    Ok(())
}

/// Writes an array length (`None` = null array).
pub fn put_array_len(
    buf: &mut BytesMut,
    flexible: bool,
    len: Option<usize>,
    what: &'static str,
) -> Result<(), EncodeError> {
    put_length(buf, flexible, true, len, what)
}

/// Writes an array of `T` with `write` for each element.
pub fn put_vec<T>(
    buf: &mut BytesMut,
    flexible: bool,
    items: &[T],
    what: &'static str,
    mut write: impl FnMut(&mut BytesMut, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    put_array_len(buf, flexible, Some(items.len()), what)?;
    items.iter().try_for_each(|item| write(buf, item))
}

/// Writes an `int32` array.
pub fn put_i32_vec(buf: &mut BytesMut, flexible: bool, items: &[i32], what: &'static str) -> Result<(), EncodeError> {
    put_vec(buf, flexible, items, what, |b, v| {
        b.put_i32(*v);
        Ok(())
    })
}

/// Bytes as a string, leniently: borrowed where they are valid UTF-8, else
/// a copy with U+FFFD for each malformed sequence (Kafka's
/// `new String(bytes, UTF_8)`).
fn lenient_utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// An array of `INT32` in place in a message ([`Reader::i32s`]): its
/// big-endian values, read as they are iterated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int32s<'a>(&'a [u8]);

impl<'a> Int32s<'a> {
    /// No values (a field the version does not carry).
    pub const EMPTY: Int32s<'static> = Int32s(&[]);

    /// How many values.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Writes a tagged-field section from `(tag, body)` pairs given in ascending tag order.
pub fn put_tagged_fields(buf: &mut BytesMut, fields: &[(u32, Bytes)]) {
    put_uvarint(buf, fields.len() as u32);
    for (tag, body) in fields {
        put_uvarint(buf, *tag);
        put_uvarint(buf, body.len() as u32);
        buf.put_slice(body);
    }
}

/// Writes an empty tagged-field section (a single zero byte).
pub fn put_empty_tagged_fields(buf: &mut BytesMut) {
    buf.put_u8(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_round_trip_edges() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut b = BytesMut::new();
            put_uvarint(&mut b, v);
            let mut r = Reader::new(&b);
            assert_eq!(r.uvarint("v").ok(), Some(v), "value {v}");
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn uvarint_refuses_sixth_byte_and_overflow() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(matches!(r.uvarint("v"), Err(DecodeError::VarintTooLong { .. })));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x10]);
        assert!(matches!(r.uvarint("v"), Err(DecodeError::VarintTooLong { .. })));
    }

    #[test]
    fn hostile_array_count_is_refused_before_reading() {
        // 0x7fffffff elements announced, 2 bytes left.
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0]);
        let err = r.vec(false, 4, "brokers", |r| r.i32("x"));
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("brokers: 2147483647 elements cannot fit in the 2 bytes left".to_string())
        );
    }

    #[test]
    fn strings_classic_and_compact() {
        let mut b = BytesMut::new();
        put_string(&mut b, false, "ab", "s").ok();
        put_nullable_string(&mut b, false, None, "s").ok();
        put_string(&mut b, true, "ab", "s").ok();
        put_nullable_string(&mut b, true, None, "s").ok();
        assert_eq!(&b[..], &[0, 2, b'a', b'b', 0xff, 0xff, 3, b'a', b'b', 0]);
        let mut r = Reader::new(&b);
        assert_eq!(r.string(false, "s").ok().as_deref(), Some("ab"));
        assert_eq!(r.nullable_string(false, "s").ok(), Some(None));
        assert_eq!(r.string(true, "s").ok().as_deref(), Some("ab"));
        assert!(matches!(r.string(true, "s"), Err(DecodeError::UnexpectedNull { .. })));
    }

    #[test]
    fn any_negative_length_is_null_as_kafka_reads_it() {
        let mut r = Reader::new(&[0xff, 0xfe, 0x80, 0x00, 0xff, 0xff, 0xff, 0xf0]);
        assert_eq!(r.nullable_string(false, "client id"), Ok(None));
        assert_eq!(
            r.string(false, "topic").map_err(|e| e.to_string()),
            Err("null topic where this version does not allow null".to_string())
        );
        assert_eq!(r.nullable_vec(false, 1, "topics", |r| r.i8("x")), Ok(None));
    }

    #[test]
    fn compact_strings_over_32767_bytes_are_refused() {
        let mut b = BytesMut::new();
        put_uvarint(&mut b, 32769); // length 32768
        b.extend_from_slice(&[b'a'; 32768]);
        assert_eq!(
            Reader::new(&b).string(true, "topic").map_err(|e| e.to_string()),
            Err("topic of 32768 bytes is longer than the maximum string length 32767".to_string())
        );
    }

    #[test]
    fn strict_tag_order_refuses_disorder_and_repeats() {
        for bytes in [&[2u8, 7, 0, 5, 0][..], &[2, 5, 0, 5, 0]] {
            let mut r = Reader::new(bytes);
            r.set_strict_tag_order(true);
            assert_eq!(r.skip_tagged_fields(), Err(DecodeError::TagOrder { tag: 5 }));
            assert!(Reader::new(bytes).skip_tagged_fields().is_ok(), "lenient by default");
        }
    }

    #[test]
    fn tagged_fields_are_skipped_in_any_order_as_kafka_reads_them() {
        // Kafka's generated readers loop over (tag, size) pairs and skip
        // unknown ones by size, with no order or duplicate check.
        // Two tags, 7 (2 bytes) then 5 (0 bytes), out of order; then one more byte.
        let mut r = Reader::new(&[2, 7, 2, 0xaa, 0xbb, 5, 0, 0x42]);
        let mut seen = vec![];
        r.tagged_fields(|t, body| {
            seen.push((t, body.remaining()));
            Ok(())
        })
        .expect("out-of-order tags are read");
        assert_eq!(seen, vec![(7, 2), (5, 0)]);
        assert_eq!(r.rest(), &[0x42]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        // "a", a lone continuation byte, "b"; then an overlong encoding of "/".
        let mut r = Reader::new(&[0, 3, b'a', 0x80, b'b', 3, 0xc0, 0xaf]);
        assert_eq!(r.string(false, "client id").ok().as_deref(), Some("a\u{fffd}b"));
        assert_eq!(r.string(true, "topic").ok().as_deref(), Some("\u{fffd}\u{fffd}"));
    }
}
