//! Optimal Huffman tables for a baseline JPEG, lossless: the entropy-coded
//! data is decoded to its Huffman symbols with the file's own tables,
//! tables fitted to those symbols' frequencies are built (ITU T.81 Annex
//! K.2, as libjpeg's `optimize_coding`), and the symbols are written again
//! with them. The DCT coefficients, and so the decoded pixels, are exactly
//! the same; only the code lengths change.
//!
//! Why here and not in the encoder: `jpeg-encoder` can optimise its tables,
//! but then writes one scan per component (non-interleaved), a layout
//! decoders get wrong (zune-jpeg 0.5.15, the `image` crate's JPEG decoder,
//! decodes such 4:2:0 files to garbage: zune-image issues #341, #419,
//! #422). ImageMagick's libjpeg optimises its tables and writes one
//! interleaved scan; this gives pressbot's files the same layout and the
//! same ~15 % saving, for one extra pass over the entropy-coded bytes.
//!
//! Only what `jpeg-encoder` writes is rewritten: 8-bit baseline (SOF0),
//! one scan holding every component, no restart markers. Anything else is
//! left as it is ([`optimize`] returns `None`).

/// A JPEG marker segment's position: marker byte, start of its payload,
/// end of its payload.
#[derive(Debug, Clone, Copy)]
struct Segment {
    marker: u8,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u8,
    v: u8,
}

/// Code of each symbol (value, length), from a DHT table's counts per
/// length and symbols in order (T.81 Annex C).
#[derive(Debug, Clone)]
struct Codes {
    code: [u16; 256],
    len: [u8; 256],
}

impl Codes {
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Codes> {
        let mut codes = Codes {
            code: [0; 256],
            len: [0; 256],
        };
        let mut code = 0u32;
        let mut k = 0;
        for (i, &n) in counts.iter().enumerate() {
            for _ in 0..n {
                let s = usize::from(*symbols.get(k)?);
                codes.code[s] = code as u16;
                codes.len[s] = i as u8 + 1;
                code += 1;
                k += 1;
            }
            // A code of length i + 1 must fit in i + 1 bits.
            if code > 1 << (i + 1) {
                return None;
            }
            code <<= 1;
        }
        Some(codes)
    }
}

/// Table-driven decoding: the next 9 bits look up codes up to 9 bits long
/// (nearly all of them); longer ones go through `max_code` per length.
#[derive(Debug, Clone)]
struct Decoder {
    /// `(length << 8) | symbol`, 0 when the code is longer than 9 bits.
    fast: Vec<u16>,
    /// Largest code of each length + 1 (index 1..=16), -1 when none.
    max_code: [i32; 18],
    /// Index into `symbols` of the first code of each length, minus it.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

const FAST_BITS: u32 = 9;

impl Decoder {
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Decoder> {
        let codes = Codes::new(counts, symbols)?;
        let mut fast = vec![0u16; 1 << FAST_BITS];
        for &s in symbols {
            let (code, len) = (
                u32::from(codes.code[usize::from(s)]),
                u32::from(codes.len[usize::from(s)]),
            );
            if len <= FAST_BITS {
                let shift = FAST_BITS - len;
                let first = (code << shift) as usize;
                for e in &mut fast[first..first + (1 << shift)] {
                    *e = ((len as u16) << 8) | u16::from(s);
                }
            }
        }
        let (mut max_code, mut offset) = ([-1i32; 18], [0i32; 17]);
        let (mut code, mut k) = (0i32, 0i32);
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                offset[len] = k - code;
                code += n;
                k += n;
                max_code[len] = code - 1;
            }
            code <<= 1;
        }
        max_code[17] = i32::MAX;
        Some(Decoder {
            fast,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        })
    }

    fn decode(&self, bits: &mut BitReader) -> Option<u8> {
        bits.fill();
        let peek = bits.peek(FAST_BITS) as usize;
        let e = self.fast[peek];
        if e != 0 {
            bits.consume(u32::from(e >> 8));
            return Some(e as u8);
        }
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | bits.peek(len) as i32 & 1;
            if code <= self.max_code[len as usize] {
                bits.consume(len);
                return self
                    .symbols
                    .get((code + self.offset[len as usize]) as usize)
                    .copied();
            }
        }
        None
    }
}

/// Reads entropy-coded bits, dropping the 0x00 stuffed after each 0xFF;
/// past the end it reads 1s (as the padding), counting them so a short
/// stream is noticed.
#[derive(Debug)]
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
    overrun: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            count: 0,
            overrun: 0,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&b) => {
                    self.pos += if b == 0xFF { 2 } else { 1 };
                    b
                }
                None => {
                    self.overrun += 1;
                    0xFF
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (1..=16) bits, not consumed; `fill` first.
    fn peek(&self, n: u32) -> u32 {
        (self.acc >> (64 - n)) as u32
    }

    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    fn read(&mut self, n: u32) -> u16 {
        if n == 0 {
            return 0;
        }
        self.fill();
        let v = self.peek(n);
        self.consume(n);
        v as u16
    }
}

/// Writes bits MSB first, stuffing 0x00 after each 0xFF; `finish` pads the
/// last byte with 1s (T.81 F.1.2.3).
#[derive(Debug)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    fn write(&mut self, value: u16, n: u32) {
        self.write_long(u64::from(value), n);
    }

    /// `write` for up to 32 bits at once.
    fn write_long(&mut self, value: u64, n: u32) {
        self.acc = (self.acc << n) | (value & ((1 << n) - 1));
        self.count += n;
        while self.count >= 8 {
            self.count -= 8;
            let b = (self.acc >> self.count) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            let pad = 8 - self.count;
            self.write((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// Table slot: class (0 DC, 1 AC) × id (0..=3).
fn slot(class: u8, id: u8) -> usize {
    usize::from(class) * 4 + usize::from(id)
}

/// One scan's component: its block counts per MCU and its tables.
#[derive(Debug, Clone, Copy)]
struct ScanComponent {
    blocks_h: usize,
    blocks_v: usize,
    dc: usize,
    ac: usize,
}

/// Walk every Huffman symbol of the scan in order, calling
/// `visit(table slot, symbol, extra bits, extra bit count)`. `None` when
/// the data does not decode with the tables, or runs short.
fn walk(
    data: &[u8],
    decoders: &[Option<Decoder>; 8],
    scan: &[ScanComponent],
    mcus: usize,
    mut visit: impl FnMut(usize, u8, u16, u32),
) -> Option<()> {
    let mut bits = BitReader::new(data);
    for _ in 0..mcus {
        for c in scan {
            let (dc, ac) = (decoders[c.dc].as_ref()?, decoders[c.ac].as_ref()?);
            for _ in 0..c.blocks_h * c.blocks_v {
                let s = dc.decode(&mut bits)?;
                if s > 11 {
                    return None;
                }
                let extra = bits.read(u32::from(s));
                visit(c.dc, s, extra, u32::from(s));
                let mut k = 1;
                while k < 64 {
                    let rs = ac.decode(&mut bits)?;
                    let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
                    let extra = bits.read(size);
                    visit(c.ac, rs, extra, size);
                    if size == 0 {
                        if run != 15 {
                            break; // EOB
                        }
                        k += 16; // ZRL
                    } else {
                        k += run + 1;
                    }
                }
                if k > 64 {
                    return None;
                }
            }
        }
    }
    // Beyond the last byte only the final byte's padding may be read (the
    // reader runs ahead by whole bytes, at most 8).
    (bits.overrun <= 8).then_some(())
}

/// Optimal code lengths for the symbol frequencies `freq` (T.81 K.2, as
/// libjpeg's `jpeg_gen_optimal_table`): counts per length 1..=16 and the
/// symbols by length. Symbol 256 is a reserved pseudo-symbol so no code is
/// all 1 bits.
fn optimal_table(freq: &[u64; 256]) -> ([u8; 16], Vec<u8>) {
    let mut f = [0u64; 257];
    f[..256].copy_from_slice(freq);
    f[256] = 1;
    let mut size = [0u32; 257];
    let mut others = [usize::MAX; 257];
    loop {
        // The two least frequent (ties: the larger symbol) non-zero entries.
        let (mut c1, mut c2) = (usize::MAX, usize::MAX);
        for i in 0..257 {
            if f[i] != 0 && (c1 == usize::MAX || f[i] <= f[c1]) {
                c1 = i;
            }
        }
        for i in 0..257 {
            if f[i] != 0 && i != c1 && (c2 == usize::MAX || f[i] <= f[c2]) {
                c2 = i;
            }
        }
        if c2 == usize::MAX {
            break;
        }
        f[c1] += f[c2];
        f[c2] = 0;
        size[c1] += 1;
        while others[c1] != usize::MAX {
            c1 = others[c1];
            size[c1] += 1;
        }
        others[c1] = c2;
        size[c2] += 1;
        while others[c2] != usize::MAX {
            c2 = others[c2];
            size[c2] += 1;
        }
    }
    // A code can be up to 256 bits long here (libjpeg stops at 32 and
    // errors above; skewed enough frequencies do go above).
    let mut bits = [0u32; 258];
    for &s in &size {
        if s > 0 {
            bits[s as usize] += 1;
        }
    }
    // Lengths above 16: move pairs up, as Annex K.3 (Figure K.3).
    for i in (17..258).rev() {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
    }
    // Drop the reserved symbol's code (the longest).
    let mut i = 16;
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    let mut counts = [0u8; 16];
    for (l, c) in counts.iter_mut().enumerate() {
        *c = bits[l + 1] as u8;
    }
    let mut symbols = Vec::new();
    for len in 1..258 {
        for (s, &sz) in size[..256].iter().enumerate() {
            if sz == len {
                symbols.push(s as u8);
            }
        }
    }
    (counts, symbols)
}

fn segments(jpeg: &[u8]) -> Option<(Vec<Segment>, usize)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2;
    let mut out = Vec::new();
    loop {
        if *jpeg.get(pos)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(pos + 1)?;
        let len = usize::from(u16::from_be_bytes([
            *jpeg.get(pos + 2)?,
            *jpeg.get(pos + 3)?,
        ]));
        let (start, end) = (pos + 4, pos + 2 + len);
        if len < 2 || end > jpeg.len() {
            return None;
        }
        out.push(Segment { marker, start, end });
        pos = end;
        if marker == 0xDA {
            return Some((out, pos));
        }
    }
}

/// `jpeg` with optimal Huffman tables, or `None` if it is not a JPEG this
/// can rewrite (see the module documentation): then `jpeg` stays as it is.
pub(crate) fn optimize(jpeg: &[u8]) -> Option<Vec<u8>> {
    let (segs, data_start) = segments(jpeg)?;
    // The entropy-coded data runs to the next marker that is not a stuffed
    // 0xFF 0x00; it must be EOI at the very end (no RSTn, nothing after).
    let mut data_end = data_start;
    while data_end + 1 < jpeg.len() {
        if jpeg[data_end] == 0xFF && jpeg[data_end + 1] != 0 {
            break;
        }
        data_end += 1;
    }
    if jpeg.get(data_end..)? != [0xFF, 0xD9] {
        return None;
    }
    let mut frame: Option<(u16, u16, Vec<Component>)> = None;
    let mut decoders: [Option<Decoder>; 8] = Default::default();
    let mut first_dht = None;
    for s in &segs {
        let p = &jpeg[s.start..s.end];
        match s.marker {
            0xC0 => {
                if *p.first()? != 8 {
                    return None;
                }
                let h = u16::from_be_bytes([*p.get(1)?, *p.get(2)?]);
                let w = u16::from_be_bytes([*p.get(3)?, *p.get(4)?]);
                let n = usize::from(*p.get(5)?);
                let mut comps = Vec::with_capacity(n);
                for i in 0..n {
                    let c = p.get(6 + 3 * i..9 + 3 * i)?;
                    let (h, v) = (c[1] >> 4, c[1] & 15);
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                        return None;
                    }
                    comps.push(Component { id: c[0], h, v });
                }
                frame = Some((w, h, comps));
            }
            // Progressive, lossless, arithmetic: not ours.
            0xC1..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xC4 => {
                first_dht.get_or_insert(s);
                let mut q = p;
                while !q.is_empty() {
                    let (class, id) = (q[0] >> 4, q[0] & 15);
                    if class > 1 || id > 3 {
                        return None;
                    }
                    let counts: [u8; 16] = q.get(1..17)?.try_into().ok()?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let symbols = q.get(17..17 + n)?;
                    decoders[slot(class, id)] = Some(Decoder::new(&counts, symbols)?);
                    q = &q[17 + n..];
                }
            }
            // A restart interval other than 0.
            0xDD if p.get(..2)? != [0, 0] => return None,
            _ => {}
        }
    }
    let (w, h, comps) = frame?;
    let sos = segs.last()?;
    let p = &jpeg[sos.start..sos.end];
    let n = usize::from(*p.first()?);
    if n == 0 || n != comps.len() || p.get(1 + 2 * n..4 + 2 * n)? != [0, 63, 0] {
        return None;
    }
    let (hmax, vmax) = (
        comps.iter().map(|c| usize::from(c.h)).max()?,
        comps.iter().map(|c| usize::from(c.v)).max()?,
    );
    let mut scan = Vec::with_capacity(n);
    for i in 0..n {
        let (id, tables) = (p[1 + 2 * i], p[2 + 2 * i]);
        let c = comps.iter().find(|c| c.id == id)?;
        let (td, ta) = (tables >> 4, tables & 15);
        if td > 3 || ta > 3 {
            return None;
        }
        scan.push(ScanComponent {
            blocks_h: usize::from(c.h),
            blocks_v: usize::from(c.v),
            dc: slot(0, td),
            ac: slot(1, ta),
        });
    }
    let (w, h) = (usize::from(w), usize::from(h));
    let mcus = if n == 1 {
        // One component alone is not interleaved: its own 8×8 blocks.
        let c = &comps[0];
        scan[0].blocks_h = 1;
        scan[0].blocks_v = 1;
        (w * usize::from(c.h)).div_ceil(hmax).div_ceil(8)
            * (h * usize::from(c.v)).div_ceil(vmax).div_ceil(8)
    } else {
        w.div_ceil(8 * hmax) * h.div_ceil(8 * vmax)
    };
    let data = &jpeg[data_start..data_end];

    // One decode: each symbol is counted and kept (table slot, symbol,
    // extra bits), then written again from the list with the new tables.
    // (Decoding twice, once to count and once to write, was most of this
    // pass's cost.) Packed: slot in bits 29-31, extra bit count 24-27,
    // symbol 16-23, extra bits 0-15.
    let mut freq = [[0u64; 256]; 8];
    let mut symbols: Vec<u32> = Vec::with_capacity(data.len());
    walk(data, &decoders, &scan, mcus, |t, s, extra, n| {
        freq[t][usize::from(s)] += 1;
        symbols.push(((t as u32) << 29) | (n << 24) | (u32::from(s) << 16) | u32::from(extra));
    })?;

    let mut dht = Vec::new();
    let mut codes: [Option<Codes>; 8] = Default::default();
    for (t, f) in freq.iter().enumerate() {
        if f.iter().all(|&c| c == 0) {
            continue;
        }
        let (counts, symbols) = optimal_table(f);
        dht.push((((t / 4) << 4) | (t % 4)) as u8);
        dht.extend_from_slice(&counts);
        dht.extend_from_slice(&symbols);
        codes[t] = Some(Codes::new(&counts, &symbols)?);
    }
    let mut writer = BitWriter {
        out: Vec::with_capacity(data.len()),
        acc: 0,
        count: 0,
    };
    for &packed in &symbols {
        let (t, n, s) = (
            (packed >> 29) as usize,
            (packed >> 24) & 15,
            ((packed >> 16) & 0xFF) as usize,
        );
        let c = codes[t].as_ref()?;
        let len = u32::from(c.len[s]);
        if len == 0 {
            return None;
        }
        // Code and extra bits in one write (at most 16 + 15 bits).
        let extra = u64::from(packed & 0xFFFF) & ((1u64 << n) - 1);
        writer.write_long((u64::from(c.code[s]) << n) | extra, len + n);
    }
    let entropy = writer.finish();

    // Everything before the first DHT, the new DHT, the rest of the header
    // without the old DHTs, the scan, EOI.
    let first = first_dht?;
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&jpeg[..first.start - 4]);
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&u16::try_from(dht.len() + 2).ok()?.to_be_bytes());
    out.extend_from_slice(&dht);
    for s in segs.iter().filter(|s| s.start > first.start) {
        if s.marker != 0xC4 {
            out.extend_from_slice(&jpeg[s.start - 4..s.end]);
        }
    }
    out.extend_from_slice(&entropy);
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_table_lengths_follow_frequencies_and_fit_16_bits() {
        let mut freq = [0u64; 256];
        freq[0] = 1000;
        freq[1] = 10;
        freq[2] = 10;
        let (counts, symbols) = optimal_table(&freq);
        assert_eq!(symbols[0], 0, "most frequent symbol first (shortest)");
        assert_eq!(counts[0], 1, "one 1-bit code");
        // A geometric distribution over all 256 symbols needs codes longer
        // than 16 bits before the limit.
        let mut freq = [0u64; 256];
        for (i, f) in freq.iter_mut().enumerate() {
            *f = 1u64 << (40 - (i / 7).min(40));
        }
        let (counts, symbols) = optimal_table(&freq);
        assert_eq!(symbols.len(), 256);
        assert_eq!(counts.iter().map(|&c| usize::from(c)).sum::<usize>(), 256);
        // Kraft: a prefix code with the all-ones code free.
        let kraft: f64 = counts
            .iter()
            .enumerate()
            .map(|(l, &c)| f64::from(c) / f64::from(1u32 << (l + 1)))
            .sum();
        assert!(kraft < 1.0, "{kraft}");
        assert!(Codes::new(&counts, &symbols).is_some());
    }

    #[test]
    fn bits_round_trip_with_stuffing() {
        let mut w = BitWriter {
            out: Vec::new(),
            acc: 0,
            count: 0,
        };
        let values = [(0xFFu16, 8u32), (0x1, 1), (0x3FF, 10), (0, 3), (0xABC, 12)];
        for (v, n) in values {
            w.write(v, n);
        }
        let out = w.finish();
        assert!(out.windows(2).any(|p| p == [0xFF, 0x00]), "{out:x?}");
        let mut r = BitReader::new(&out);
        for (v, n) in values {
            assert_eq!(r.read(n), v, "{n} bits");
        }
    }

    /// A picture with flat areas, edges and noise, so every kind of
    /// symbol (long runs, ZRL, large coefficients) occurs.
    fn picture(w: u32, h: u32) -> Vec<u8> {
        let mut state = 12345u32;
        let mut out = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let n = (state % 7) as i32 - 3;
                let edge = if (x / 13 + y / 11) % 2 == 0 { 200 } else { 30 };
                let base = [edge, (x * 255 / w) as i32, (y * 255 / h) as i32];
                for c in base {
                    out.push((c + if x > w / 2 { n * 8 } else { 0 }).clamp(0, 255) as u8);
                }
            }
        }
        out
    }

    fn encode(rgb: &[u8], w: u16, h: u16, quality: u8) -> Vec<u8> {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, quality)
            .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        jpeg
    }

    #[test]
    fn optimised_jpegs_are_smaller_and_decode_to_the_same_pixels() {
        // 4:2:0 (q85) and 4:4:4 (q95); sizes that are and are not whole
        // MCUs; a one-pixel image.
        for (w, h, q) in [(64, 48, 85), (333, 201, 85), (97, 45, 95), (1, 1, 85)] {
            let rgb = picture(u32::from(w), u32::from(h));
            let jpeg = encode(&rgb, w, h, q);
            let opt = optimize(&jpeg).expect("jpeg-encoder's output is rewritten");
            if w > 1 {
                assert!(
                    opt.len() < jpeg.len(),
                    "{w}x{h}: {} >= {}",
                    opt.len(),
                    jpeg.len()
                );
            }
            let a = image::load_from_memory(&jpeg).unwrap().to_rgb8();
            let b = image::load_from_memory(&opt).unwrap().to_rgb8();
            assert_eq!(a.dimensions(), b.dimensions());
            assert!(a.as_raw() == b.as_raw(), "{w}x{h} q{q}: pixels differ");
        }
    }

    #[test]
    fn a_grey_jpeg_is_optimised_too() {
        let (w, h) = (70u16, 50u16);
        let grey: Vec<u8> = picture(70, 50).chunks(3).map(|p| p[1]).collect();
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 85)
            .encode(&grey, w, h, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let opt = optimize(&jpeg).expect("one-component scan");
        let a = image::load_from_memory(&jpeg).unwrap().to_luma8();
        let b = image::load_from_memory(&opt).unwrap().to_luma8();
        assert!(a.as_raw() == b.as_raw());
        assert!(opt.len() < jpeg.len());
    }

    #[test]
    fn a_corrupt_scan_is_left_alone() {
        let rgb = picture(64, 64);
        let mut jpeg = encode(&rgb, 64, 64, 85);
        // Cut the entropy-coded data short: it no longer holds every block.
        let eoi = jpeg.len() - 2;
        jpeg.drain(eoi - 200..eoi);
        assert!(optimize(&jpeg).is_none());
    }

    #[test]
    fn what_is_not_a_baseline_jpeg_is_left_alone() {
        let rgb = picture(32, 32);
        let mut progressive = Vec::new();
        let mut e = jpeg_encoder::Encoder::new(&mut progressive, 85);
        e.set_progressive(true);
        e.encode(&rgb, 32, 32, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert!(optimize(&progressive).is_none());
        assert!(optimize(b"not a jpeg").is_none());
        assert!(optimize(&[0xFF, 0xD8, 0xFF, 0xD9]).is_none());
    }
}
