//! TIFF figures decoded strip by strip (or tile by tile) straight into the
//! 8-bit RGB figure, with the `tiff` crate the `image` crate uses inside.
//!
//! Why not `image`'s TIFF decoder: it decodes the whole image at its own
//! width (6 bytes a pixel for 16-bit RGB, 4 for RGBA and CMYK), copies it,
//! and only then converts to RGB8, so a 16-bit figure peaked at 5× its
//! RGB8 size and spent a third of its time converting. Here only one
//! strip is ever held at the file's width: peak memory is the RGB8 figure
//! plus a strip, and 16 → 8 bits, alpha and CMYK are converted as each
//! strip arrives. It also reads what `image` refuses: JPEG-compressed
//! TIFFs in YCbCr (what libtiff, so ImageMagick's `-compress JPEG`,
//! writes), and applies a CMYK TIFF's own ICC profile.
//!
//! LZW chunks (most TIFF figures, and every 16-bit one from the usual
//! tools) are decompressed here by `tiff_lzw`, a TIFF-only decoder that
//! writes each strip straight into the strip buffer, rather than inside
//! `tiff`, which pins `weezl` 0.1: 0.1 was most of a 16-bit figure's CPU,
//! and `weezl` 0.2 after it still the largest item of `pressbot up`'s
//! profile (docs/benchmarks.md, section 6).
//! The horizontal predictor and the file's byte order are then undone in
//! the same pass that scales 16-bit samples to 8 bits, straight into the
//! figure's row, so no 16-bit row is written twice.
//!
//! Layouts this does not handle (planar, palette, grey, floating point,
//! other bit depths) return `None`, and the caller falls back to `image`.

use super::{image_error, ImageLimits};
use crate::error::Result;
use ::tiff::decoder::{ChunkType, Decoder, Limits};
use ::tiff::tags::Tag;
use ::tiff::ColorType;

/// TIFF `Compression` value of LZW.
const LZW: u16 = 5;
/// TIFF `Predictor` value of horizontal differencing.
const HORIZONTAL: u16 = 2;

/// A decoded TIFF figure: the RGB8 pixels and what is left to apply.
#[derive(Debug)]
pub(super) struct Decoded {
    pub rgb: image::RgbImage,
    /// The TIFF `Orientation` tag (1 when absent).
    pub orientation: u16,
    /// An embedded ICC profile still to apply: an RGB figure's (the
    /// caller converts RGB8 to sRGB); `None` once a CMYK profile has been
    /// applied here.
    pub icc: Option<Vec<u8>>,
}

/// How a strip's samples become RGB8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rgb,
    /// RGB + alpha; `premultiplied` when ExtraSamples says associated alpha.
    Rgba {
        premultiplied: bool,
    },
    Cmyk,
    /// JPEG-compressed YCbCr: the JPEG decoder has upsampled the chroma
    /// but, for TIFF, leaves the colour conversion to the reader.
    YCbCr,
}

fn decode_err(file: &str, e: impl ToString) -> crate::error::Error {
    image_error(file, "decode", e)
}

/// A TIFF's width and height from its first image's header.
pub(super) fn dimensions(data: &[u8], file: &str) -> Result<(u32, u32)> {
    Decoder::new(std::io::Cursor::new(data))
        .and_then(|mut d| d.dimensions())
        .map_err(|e| decode_err(file, e))
}

/// The figure as RGB8 if it is a TIFF layout this module reads, `None`
/// otherwise (then `image` decodes it). The header has already been
/// checked against `limits` by the caller.
pub(super) fn decode(data: &[u8], file: &str, limits: &ImageLimits) -> Result<Option<Decoded>> {
    let mut tiff_limits = Limits::default();
    let max_alloc = usize::try_from(limits.decoder_limits().max_alloc.unwrap_or(u64::MAX))
        .unwrap_or(usize::MAX);
    tiff_limits.decoding_buffer_size = max_alloc;
    tiff_limits.intermediate_buffer_size = max_alloc;
    // ICC profiles of print (CMYK) workflows run to a few MB.
    tiff_limits.ifd_value_size = 32 << 20;
    let mut dec = Decoder::new(std::io::Cursor::new(data))
        .map_err(|e| decode_err(file, e))?
        .with_limits(tiff_limits);
    let color = dec.colortype().map_err(|e| decode_err(file, e))?;
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(|e| decode_err(file, e))?
        .unwrap_or(1);
    let unsigned = dec
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(|e| decode_err(file, e))?
        .is_none_or(|f| f.iter().all(|&f| f == 1));
    if planar != 1 || !unsigned {
        return Ok(None);
    }
    let (kind, bits) = match color {
        ColorType::RGB(b @ (8 | 16)) => (Kind::Rgb, b),
        ColorType::RGBA(b @ (8 | 16)) => {
            let extra = dec
                .find_tag_unsigned_vec::<u16>(Tag::ExtraSamples)
                .map_err(|e| decode_err(file, e))?;
            let premultiplied = extra.is_some_and(|e| e.first() == Some(&1));
            (Kind::Rgba { premultiplied }, b)
        }
        ColorType::CMYK(b @ (8 | 16)) => (Kind::Cmyk, b),
        ColorType::YCbCr(8) => (Kind::YCbCr, 8),
        _ => return Ok(None),
    };
    let (w, h) = dec.dimensions().map_err(|e| decode_err(file, e))?;
    let orientation = dec
        .find_tag_unsigned::<u16>(Tag::Orientation)
        .ok()
        .flatten()
        .unwrap_or(1);
    // A profile that cannot be read is ignored, as for other formats.
    let icc = dec.get_tag_u8_vec(Tag::IccProfile).ok();
    let cmyk_transform = match (kind, &icc) {
        (Kind::Cmyk, Some(icc)) => cmyk_to_srgb(icc, file)?,
        _ => None,
    };
    let channels = match kind {
        Kind::Rgb | Kind::YCbCr => 3,
        Kind::Rgba { .. } | Kind::Cmyk => 4,
    };
    let bytes_per_sample = usize::from(bits / 8);

    let (cw, ch) = dec.chunk_dimensions();
    let chunk_type = dec.get_chunk_type();
    let chunks = match chunk_type {
        ChunkType::Strip => dec.strip_count(),
        ChunkType::Tile => dec.tile_count(),
    }
    .map_err(|e| decode_err(file, e))?;
    let mut lzw = lzw_chunks(&mut dec, data, chunk_type, kind, file)?;
    let across = w.div_ceil(cw.max(1)).max(1);
    let (wu, hu) = (w as usize, h as usize);
    // From the spare pool: a figure's largest buffer (see `spare`).
    let mut out = super::spare::take_zeroed(wu * hu * 3);
    let mut strip = Vec::new();
    let mut scratch = Vec::new();
    for i in 0..chunks {
        let (x0, y0) = ((i % across) * cw, (i / across) * ch);
        if x0 >= w || y0 >= h {
            continue;
        }
        let layout = dec
            .image_chunk_buffer_layout(i)
            .map_err(|e| decode_err(file, e))?;
        let (dw, dh) = dec.chunk_data_dimensions(i);
        let (dw, dh) = ((dw.min(w - x0)) as usize, (dh.min(h - y0)) as usize);
        // How the chunk's samples are stored: as `tiff` hands them out
        // (native order, predictor undone), or straight from the LZW stream.
        let (stride, samples) = match &mut lzw {
            Some(l) => {
                // A tile's stream holds whole tile rows, padding included.
                let row_bytes = cw as usize * channels * bytes_per_sample;
                strip.resize(row_bytes * dh, 0);
                l.read(i, &mut strip).map_err(|e| decode_err(file, e))?;
                (row_bytes, l.samples)
            }
            None => {
                strip.resize(layout.len, 0);
                dec.read_chunk_bytes(i, &mut strip)
                    .map_err(|e| decode_err(file, e))?;
                let stride = layout
                    .row_stride
                    .map_or(dw * channels * bytes_per_sample, |s| s.get());
                (stride, Samples::NATIVE)
            }
        };
        for row in 0..dh {
            // Hostile files: a short strip is an error, never a panic.
            let Some(src) = strip
                .get_mut(row * stride..)
                .and_then(|r| r.get_mut(..dw * channels * bytes_per_sample))
            else {
                return Err(decode_err(file, "a strip is shorter than its rows"));
            };
            let at = ((y0 as usize + row) * wu + x0 as usize) * 3;
            let dst = &mut out[at..at + dw * 3];
            if bits == 16 && kind == Kind::Rgb {
                // Straight into the figure's row: no 8-bit copy between.
                to_8_bit(src, dst, samples, channels);
                continue;
            }
            let src8: &[u8] = if bits == 16 {
                scratch.resize(dw * channels, 0);
                to_8_bit(src, &mut scratch, samples, channels);
                &scratch
            } else {
                if samples.predicted {
                    undo_predictor_8(src, channels);
                }
                src
            };
            match kind {
                Kind::Rgb => dst.copy_from_slice(src8),
                Kind::Rgba { premultiplied } => flatten_row(src8, dst, premultiplied),
                Kind::Cmyk => match &cmyk_transform {
                    Some(t) => moxcms::TransformExecutor::transform(t.as_ref(), src8, dst)
                        .map_err(|e| image_error(file, "colour-convert", e))?,
                    None => cmyk_naive_row(src8, dst),
                },
                Kind::YCbCr => ycbcr_row(src8, dst),
            }
        }
    }
    let rgb = image::RgbImage::from_raw(w, h, out)
        .ok_or_else(|| decode_err(file, "decoded size does not match the header"))?;
    // A CMYK profile has been applied; any other still is the caller's.
    let icc = if kind == Kind::Cmyk { None } else { icc };
    Ok(Some(Decoded {
        rgb,
        orientation,
        icc,
    }))
}

/// How a chunk's samples are stored in the bytes handed to the row
/// conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Samples {
    /// 16-bit samples are big-endian (else little-endian).
    big_endian: bool,
    /// Horizontal differencing still to undo (TIFF `Predictor` 2).
    predicted: bool,
}

impl Samples {
    /// What `tiff`'s `read_chunk_bytes` hands out.
    const NATIVE: Samples = Samples {
        big_endian: cfg!(target_endian = "big"),
        predicted: false,
    };
}

/// 16-bit samples to 8-bit, rounded as ImageMagick's `ScaleQuantumToChar`
/// ((v + 128) / 257), undoing the byte order and, when `samples.predicted`,
/// the horizontal predictor (each sample is the difference from the same
/// channel of the pixel before it, modulo 2^16) in the same pass.
fn to_8_bit(src: &[u8], dst: &mut [u8], samples: Samples, channels: usize) {
    let read = |s: &[u8]| {
        if samples.big_endian {
            u16::from_be_bytes([s[0], s[1]])
        } else {
            u16::from_le_bytes([s[0], s[1]])
        }
    };
    let scale = |v: u16| ((u32::from(v) * 255 + 32_895) >> 16) as u8;
    if !samples.predicted {
        for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
            *d = scale(read(s));
        }
        return;
    }
    let mut prev = [0u16; 4];
    let channels = channels.clamp(1, 4);
    for (px_out, px_in) in dst
        .chunks_exact_mut(channels)
        .zip(src.chunks_exact(2 * channels))
    {
        for ((d, s), p) in px_out
            .iter_mut()
            .zip(px_in.chunks_exact(2))
            .zip(prev.iter_mut())
        {
            *p = p.wrapping_add(read(s));
            *d = scale(*p);
        }
    }
}

/// Undo the horizontal predictor on one row of 8-bit samples, in place.
fn undo_predictor_8(row: &mut [u8], channels: usize) {
    for i in channels..row.len() {
        row[i] = row[i].wrapping_add(row[i - channels]);
    }
}

/// The LZW chunks of a figure, decompressed by `tiff_lzw` from the
/// file's bytes (see the module docs for why not by `tiff`).
struct LzwChunks<'a> {
    data: &'a [u8],
    offsets: Vec<u64>,
    counts: Vec<u64>,
    decoder: super::tiff_lzw::Decoder,
    samples: Samples,
}

/// `Some` when the figure's chunks are LZW with no predictor or the
/// horizontal one, for a layout whose samples this module converts (RGB,
/// RGBA, CMYK); `None` leaves them to `tiff`.
fn lzw_chunks<'a>(
    dec: &mut Decoder<std::io::Cursor<&'a [u8]>>,
    data: &'a [u8],
    chunk_type: ChunkType,
    kind: Kind,
    file: &str,
) -> Result<Option<LzwChunks<'a>>> {
    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(|e| decode_err(file, e))?
        .unwrap_or(1);
    let predictor = dec
        .find_tag_unsigned::<u16>(Tag::Predictor)
        .map_err(|e| decode_err(file, e))?
        .unwrap_or(1);
    if compression != LZW || !matches!(predictor, 1 | HORIZONTAL) || kind == Kind::YCbCr {
        return Ok(None);
    }
    let (offsets_tag, counts_tag) = match chunk_type {
        ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
        ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
    };
    let mut tag = |t| {
        dec.find_tag_unsigned_vec::<u64>(t)
            .map_err(|e| decode_err(file, e))?
            .ok_or_else(|| decode_err(file, "no chunk offsets or byte counts"))
    };
    let offsets = tag(offsets_tag)?;
    let counts = tag(counts_tag)?;
    Ok(Some(LzwChunks {
        data,
        offsets,
        counts,
        // Stops once the chunk's bytes are out, whatever follows in the
        // stream: libtiff's behaviour, as `tiff` asks of weezl too.
        decoder: super::tiff_lzw::Decoder::new(),
        samples: Samples {
            big_endian: data.starts_with(b"MM"),
            predicted: predictor == HORIZONTAL,
        },
    }))
}

impl LzwChunks<'_> {
    /// Decompress chunk `i` until `out` is full; a stream that ends (or
    /// breaks) first is an error, as in `tiff`.
    fn read(&mut self, i: u32, out: &mut [u8]) -> std::result::Result<(), String> {
        let i = i as usize;
        let (Some(&offset), Some(&count)) = (self.offsets.get(i), self.counts.get(i)) else {
            return Err("fewer chunk offsets than chunks".into());
        };
        let src = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(count).ok())
            .and_then(|(o, c)| self.data.get(o..o.checked_add(c)?))
            .ok_or("a chunk lies outside the file")?;
        self.decoder
            .decode_strip(src, out)
            .map_err(|e| e.to_string())
    }
}

/// RGBA8 → RGB8 composited on white (as the other formats, see
/// `flatten_on_white`); premultiplied colour already holds c·a.
fn flatten_row(src: &[u8], dst: &mut [u8], premultiplied: bool) {
    for (d, p) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        let a = u32::from(p[3]);
        for (o, &c) in d.iter_mut().zip(&p[..3]) {
            let c = u32::from(c);
            *o = if premultiplied {
                (c + 255 - a).min(255) as u8
            } else {
                ((c * a + 255 * (255 - a) + 127) / 255) as u8
            };
        }
    }
}

/// CMYK without a profile, as `image` and ImageMagick without one:
/// R = (1 − C)(1 − K).
fn cmyk_naive_row(src: &[u8], dst: &mut [u8]) {
    for (d, p) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        let k = 255 - u32::from(p[3]);
        for (o, &c) in d.iter_mut().zip(&p[..3]) {
            *o = (((255 - u32::from(c)) * k + 127) / 255) as u8;
        }
    }
}

/// Full-range YCbCr (JFIF, the JPEG stream's own) to RGB, in 16.16 fixed
/// point as libjpeg.
fn ycbcr_row(src: &[u8], dst: &mut [u8]) {
    const ONE: i32 = 1 << 16;
    let f = |x: f64| (x * f64::from(ONE)).round() as i32;
    let (cr_r, cb_g, cr_g, cb_b) = (f(1.402), f(0.344_136), f(0.714_136), f(1.772));
    for (d, p) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
        let y = i32::from(p[0]) * ONE + ONE / 2;
        let (cb, cr) = (i32::from(p[1]) - 128, i32::from(p[2]) - 128);
        let c = |v: i32| (v >> 16).clamp(0, 255) as u8;
        d[0] = c(y + cr_r * cr);
        d[1] = c(y - cb_g * cb - cr_g * cr);
        d[2] = c(y + cb_b * cb);
    }
}

/// A transform from a CMYK ICC profile to sRGB (moxcms; 8-bit CMYK in,
/// RGB8 out), `None` when the profile is not a CMYK one or does not parse
/// (then the naive conversion: the figure is still published).
fn cmyk_to_srgb(
    icc: &[u8],
    file: &str,
) -> Result<Option<std::sync::Arc<moxcms::Transform8BitExecutor>>> {
    let Ok(src) = moxcms::ColorProfile::new_from_slice(icc) else {
        tracing::warn!(
            file,
            "embedded ICC profile unreadable, CMYK converted without it"
        );
        return Ok(None);
    };
    if src.color_space != moxcms::DataColorSpace::Cmyk {
        return Ok(None);
    }
    let transform = src
        .create_transform_8bit(
            moxcms::Layout::Rgba,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .map_err(|e| image_error(file, "colour-convert", e))?;
    Ok(Some(transform))
}
