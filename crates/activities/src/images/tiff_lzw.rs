//! A TIFF-only LZW decoder that writes each strip straight into the
//! caller's buffer (issue 15).
//!
//! Why not `weezl` 0.2 (which this replaced in `tiff_strips`): it is a
//! general streaming decoder (GIF and TIFF, any literal width, resumable
//! at any byte), and on TIFF figures it spent 7.5–9.7 ns a code, the largest
//! single item of `pressbot up`'s CPU profile, while the per-strip
//! overhead (reset, calls) was only ~0.5 µs of a strip's ~30 µs
//! (`benches/tiff_lzw.rs`, docs/benchmarks.md section 6). TIFF's case is
//! narrower: the whole compressed strip is in memory, the decoded strip has
//! a known size, and every code's string is already somewhere in the
//! output written so far. So a table entry is the string's first 8 bytes
//! and where the whole of it starts in the output: a code of 8 bytes or
//! fewer (most of them: ~2 bytes a code on figures without the predictor,
//! ~4–5 with it) is one 8-byte store, with no load from the bytes just
//! written; a longer one is a copy out of the strip's own earlier bytes.
//! A new entry is the previous code's string plus one byte, which by
//! construction sits right there too. No prefix chains, no per-strip
//! allocation: the table (64 KB) lives in the [`Decoder`] and is reused.
//! 3.0–4.4 ns a code against weezl's 7.5–9.7 on the same strips.
//!
//! The format (TIFF 6.0 section 13, as libtiff reads it): MSB-first codes
//! of 9 to 12 bits, 8-bit literals, Clear = 256, EOI = 257, and TIFF's
//! "early change": the code width grows one code before the table needs
//! it (at 511, 1023, 2047 entries). libtiff's tolerance: decoding stops as
//! soon as the strip is full, whatever follows (some writers omit EOI or
//! pad). A stream that ends before the strip is full, or holds a code that
//! is not yet in the table, is an error, never a panic.

/// Clear: reset the table and go back to 9-bit codes.
const CLEAR: usize = 256;
/// End of information.
const EOI: usize = 257;
/// The first code a string is added at after a Clear.
const FIRST: usize = 258;
/// Codes are at most 12 bits.
const ENTRIES: usize = 4096;

/// A code's string: its first 8 bytes inline (little-endian, so a string
/// of 8 bytes or fewer, most of them, is one 8-byte store with no load
/// from the output), and where the whole of it is in the strip decoded so
/// far. `len` 0 marks Clear and EOI.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    bytes: u64,
    start: u32,
    len: u32,
}

/// Why a strip could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzwError {
    /// The stream (or its EOI) ended before the strip was full.
    Short,
    /// A code that is neither a literal, Clear, EOI nor in the table.
    InvalidCode,
    /// A strip larger than 4 GiB (entries hold 32-bit positions).
    TooLarge,
}

impl std::fmt::Display for LzwError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LzwError::Short => "LZW stream ends before the strip is full",
            LzwError::InvalidCode => "LZW stream holds an invalid code",
            LzwError::TooLarge => "LZW strip larger than 4 GiB",
        })
    }
}

/// A TIFF LZW decoder; keep one per figure (or thread) and call
/// [`Decoder::decode_strip`] per strip: the table is reused.
pub struct Decoder {
    table: Box<[Entry; ENTRIES]>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("tiff_lzw::Decoder").finish_non_exhaustive()
    }
}

/// Reads MSB-first codes from a byte slice through a 64-bit buffer whose
/// valid bits are at the top.
struct Bits<'a> {
    src: &'a [u8],
    pos: usize,
    buf: u64,
    /// Valid bits at the top of `buf`.
    n: u32,
}

impl Bits<'_> {
    /// At least 56 valid bits when 8 bytes of input are left (one load),
    /// else as many as remain.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(b) = self.src.get(self.pos..self.pos + 8) {
            let v = u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
            // The bits below the whole bytes taken are the next bytes'
            // own: OR-ing them again on the next refill changes nothing.
            self.buf |= v >> self.n;
            let take = (63 - self.n) >> 3;
            self.pos += take as usize;
            self.n += take * 8;
        } else {
            while self.n <= 56 {
                let Some(&b) = self.src.get(self.pos) else {
                    break;
                };
                self.buf |= u64::from(b) << (56 - self.n);
                self.pos += 1;
                self.n += 8;
            }
        }
    }

    /// The next code of `width` bits, `None` when the input is out.
    #[inline(always)]
    fn code(&mut self, width: u32) -> Option<usize> {
        if self.n < width {
            self.refill();
            if self.n < width {
                return None;
            }
        }
        let code = (self.buf >> (64 - width)) as usize;
        self.buf <<= width;
        self.n -= width;
        Some(code)
    }
}

/// Copy `len` bytes of `out` from `src` to `dst` (`src + len <= dst`, so
/// the ranges do not overlap), 8 bytes at a time when `out` has room for
/// the over-copy past `dst + len` (later codes overwrite it).
#[inline(always)]
fn copy_string(out: &mut [u8], src: usize, dst: usize, len: usize) {
    if dst + len.next_multiple_of(8) <= out.len() {
        let mut i = 0;
        while i < len {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&out[src + i..src + i + 8]);
            out[dst + i..dst + i + 8].copy_from_slice(&chunk);
            i += 8;
        }
    } else {
        out.copy_within(src..src + len, dst);
    }
}

/// The code width once the table's next free code is `next` (TIFF's early
/// change: one code before `2^width - 1`).
#[inline(always)]
fn width_for(next: usize) -> u32 {
    match next {
        0..511 => 9,
        511..1023 => 10,
        1023..2047 => 11,
        _ => 12,
    }
}

impl Decoder {
    /// A decoder with its table allocated once, for any number of strips.
    pub fn new() -> Self {
        let mut table = Box::new([Entry::default(); ENTRIES]);
        for (b, e) in table.iter_mut().take(CLEAR).enumerate() {
            *e = Entry {
                bytes: b as u64,
                start: 0,
                len: 1,
            };
        }
        Decoder { table }
    }

    /// Decode the TIFF LZW stream `src` until `out` is full (the rest of
    /// the stream, if any, is ignored, as libtiff does).
    pub fn decode_strip(&mut self, src: &[u8], out: &mut [u8]) -> Result<(), LzwError> {
        if u32::try_from(out.len()).is_err() {
            return Err(LzwError::TooLarge);
        }
        let table = &mut *self.table;
        let mut bits = Bits {
            src,
            pos: 0,
            buf: 0,
            n: 0,
        };
        let end = out.len();
        let mut pos = 0usize;
        let mut next = FIRST;
        let mut width = 9;
        // The previous code's string; `None` only before the first code
        // and right after a Clear, when no entry is added.
        let mut prev: Option<Entry> = None;
        while pos < end {
            let Some(code) = bits.code(width) else {
                return Err(LzwError::Short);
            };
            let e = table[code & (ENTRIES - 1)];
            let (cur, first) = match prev {
                // The common case: a literal or a code in the table, after
                // another code.
                Some(p) if code < next && e.len != 0 => {
                    let len = e.len as usize;
                    if len <= 8 && pos + 8 <= end {
                        out[pos..pos + 8].copy_from_slice(&e.bytes.to_le_bytes());
                    } else if len > 8 && pos + len <= end {
                        copy_string(out, e.start as usize, pos, len);
                    } else {
                        copy_tail(out, e, pos);
                        if pos + len >= end {
                            return Ok(());
                        }
                    }
                    (
                        Entry {
                            bytes: e.bytes,
                            start: pos as u32,
                            len: e.len,
                        },
                        (p, e.bytes as u8),
                    )
                }
                _ if code == CLEAR => {
                    next = FIRST;
                    width = 9;
                    prev = None;
                    continue;
                }
                _ if code == EOI => return Err(LzwError::Short),
                // The first code of the stream or after a Clear: a literal.
                None if code < CLEAR => {
                    out[pos] = code as u8;
                    prev = Some(Entry {
                        bytes: e.bytes,
                        start: pos as u32,
                        len: 1,
                    });
                    pos += 1;
                    continue;
                }
                // KwKwK: the previous string plus its own first byte, which
                // is the string the new entry is about to name.
                Some(p) if code == next => {
                    let plen = p.len as usize;
                    let e = Entry {
                        bytes: with_byte(p.bytes, plen, p.bytes as u8),
                        start: p.start,
                        len: p.len + 1,
                    };
                    let len = plen + 1;
                    if len <= 8 && pos + 8 <= end {
                        out[pos..pos + 8].copy_from_slice(&e.bytes.to_le_bytes());
                    } else if len > 8 && pos + len <= end {
                        copy_string(out, p.start as usize, pos, plen);
                        out[pos + plen] = p.bytes as u8;
                    } else if len <= 8 {
                        copy_tail(out, e, pos);
                        if pos + len >= end {
                            return Ok(());
                        }
                    } else {
                        // The strip's last code: `end - pos <= plen`, all
                        // of it within the previous string.
                        copy_tail(out, p, pos);
                        return Ok(());
                    }
                    (
                        Entry {
                            bytes: e.bytes,
                            start: pos as u32,
                            len: e.len,
                        },
                        (p, p.bytes as u8),
                    )
                }
                _ => return Err(LzwError::InvalidCode),
            };
            let (p, first) = first;
            if next < ENTRIES {
                // The previous string and this one's first byte: they lie
                // one after the other in `out`.
                table[next & (ENTRIES - 1)] = Entry {
                    bytes: with_byte(p.bytes, p.len as usize, first),
                    start: p.start,
                    len: p.len + 1,
                };
                next += 1;
                width = width_for(next);
            }
            pos += cur.len as usize;
            prev = Some(cur);
        }
        Ok(())
    }
}

/// `bytes` (a string's first 8) with `b` appended at `len` if it is among
/// the first 8.
#[inline(always)]
fn with_byte(bytes: u64, len: usize, b: u8) -> u64 {
    if len < 8 {
        bytes | u64::from(b) << (8 * len)
    } else {
        bytes
    }
}

/// The part of `e`'s string that fits in `out` from `pos` (all of it
/// unless this is the strip's last code).
fn copy_tail(out: &mut [u8], e: Entry, pos: usize) {
    let n = (out.len() - pos).min(e.len as usize);
    if e.len <= 8 {
        out[pos..pos + n].copy_from_slice(&e.bytes.to_le_bytes()[..n]);
    } else {
        let s = e.start as usize;
        out.copy_within(s..s + n, pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(data: &[u8]) -> Vec<u8> {
        weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(data)
            .expect("weezl encodes")
    }

    /// weezl's answer for `src` into `len` bytes, as `tiff_strips` drove
    /// it before: `None` when it errs or the stream is short.
    fn weezl_decode(src: &[u8], len: usize) -> Option<Vec<u8>> {
        let mut dec = weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .with_yield_on_full_buffer(true)
            .build();
        let mut out = vec![0u8; len];
        let (mut read, mut written) = (0, 0);
        while written < len {
            let r = dec.decode_bytes(&src[read..], &mut out[written..]);
            read += r.consumed_in;
            written += r.consumed_out;
            match r.status {
                Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
                Ok(_) if written == len => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// Bytes with long runs and repeats (so strings grow long, the table
    /// fills and the encoder emits Clear mid-stream) as well as noise.
    fn data() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..64),
                (any::<u8>(), 1usize..3000).prop_map(|(b, n)| vec![b; n]),
                (prop::collection::vec(0u8..4, 1..8), 1usize..400).prop_map(|(p, n)| p.repeat(n)),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    fn decode(src: &[u8], len: usize) -> Result<Vec<u8>, LzwError> {
        let mut out = vec![0u8; len];
        Decoder::new().decode_strip(src, &mut out).map(|()| out)
    }

    #[test]
    fn round_trips_at_the_code_width_boundaries() {
        // Noise adds about one entry per code: these lengths put the end
        // of the stream on either side of each width switch and of a full
        // table (then the encoder's Clear).
        for n in [
            0, 1, 2, 253, 254, 255, 256, 257, 258, 259, 510, 511, 512, 1021,
        ]
        .into_iter()
        .chain([1022, 1023, 1024, 2045, 2046, 2047, 2048, 4093, 4094, 4095])
        .chain([4096, 4097, 8190, 20_000])
        {
            let mut state = 0x9E37_79B9u32 ^ n as u32;
            let data: Vec<u8> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            assert_eq!(decode(&encode(&data), n).as_deref(), Ok(&data[..]), "{n}");
        }
    }

    #[test]
    fn a_short_stream_is_an_error() {
        let src = encode(b"abcabcabcabc");
        assert_eq!(decode(&src, 13), Err(LzwError::Short));
        assert_eq!(decode(&src[..2], 12), Err(LzwError::Short));
        assert_eq!(decode(&[], 1), Err(LzwError::Short));
        // Nothing wanted: nothing read.
        assert_eq!(decode(&[], 0), Ok(vec![]));
    }

    #[test]
    fn stops_when_the_strip_is_full() {
        let src = encode(b"abcabcabcabcabcabc");
        for len in 0..18 {
            assert_eq!(decode(&src, len).unwrap(), b"abcabcabcabcabcabc"[..len]);
        }
    }

    #[test]
    fn an_unknown_code_is_an_error() {
        // Clear (256), then 300 (not in the table), 9 bits each, MSB first.
        let codes = [256u16, 300];
        let mut bits = 0u32;
        for c in codes {
            bits = (bits << 9) | u32::from(c);
        }
        let src = [(bits >> 10) as u8, (bits >> 2) as u8, (bits << 6) as u8];
        assert_eq!(decode(&src, 4), Err(LzwError::InvalidCode));
        assert!(weezl_decode(&src, 4).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn decodes_what_weezl_encodes(data in data()) {
            let src = encode(&data);
            prop_assert_eq!(decode(&src, data.len()), Ok(data));
        }

        #[test]
        fn a_partial_strip_is_a_prefix(data in data(), cut in 0.0f64..1.0) {
            let len = (data.len() as f64 * cut) as usize;
            let src = encode(&data);
            prop_assert_eq!(decode(&src, len), Ok(data[..len].to_vec()));
        }

        #[test]
        fn truncated_streams_err_or_agree_with_weezl(data in data(), cut in 0.0f64..1.0) {
            let src = encode(&data);
            let src = &src[..(src.len() as f64 * cut) as usize];
            if let Ok(ours) = decode(src, data.len()) {
                prop_assert_eq!(Some(ours), weezl_decode(src, data.len()));
            }
        }

        #[test]
        fn corrupted_streams_err_or_agree_with_weezl(
            data in data(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            extra in 0usize..64,
        ) {
            let mut src = encode(&data);
            if src.is_empty() {
                return Ok(());
            }
            for (at, x) in flips {
                let i = at.index(src.len());
                src[i] ^= x;
            }
            // Ask for more than was encoded too: the corrupted stream may
            // decode to longer strings.
            let len = data.len() + extra;
            let ours = decode(&src, len);
            let theirs = weezl_decode(&src, len);
            if let Ok(ours) = ours {
                prop_assert_eq!(Some(ours), theirs);
            }
        }

        #[test]
        fn random_bytes_never_panic(src in prop::collection::vec(any::<u8>(), 0..4000), len in 0usize..20_000) {
            if let Ok(ours) = decode(&src, len) {
                prop_assert_eq!(Some(ours), weezl_decode(&src, len));
            }
        }
    }
}
