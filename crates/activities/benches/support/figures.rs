//! Generated figures for the ResizeImages benchmark and tests: what a
//! journal's figures look like (smooth shading, thin lines and text-like
//! strokes, some photographic noise) in the formats packages bring.
//! Deterministic, so runs compare.
#![allow(dead_code)]

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

/// A figure-like RGB8 picture: gradients, a grid of 1-px lines, filled
/// discs and a little scanner-like noise (±2: strong per-pixel noise is
/// texture JPEG does not keep, and would make SSIM measure the encoder's
/// noise rather than the resize).
pub fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 5) as i32 - 2
    };
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let mut r = 40.0 + 200.0 * fx;
        let mut g = 60.0 + 160.0 * fy;
        let mut b = 220.0 - 150.0 * (fx * fy);
        if x % 97 == 0 || y % 89 == 0 {
            (r, g, b) = (20.0, 20.0, 20.0);
        }
        let (cx, cy) = (
            fx * 6.0 - (fx * 6.0).floor() - 0.5,
            fy * 4.0 - (fy * 4.0).floor() - 0.5,
        );
        if cx * cx + cy * cy < 0.08 {
            (r, g, b) = (230.0, 60.0, 40.0);
        }
        let n = noise() as f32;
        let c = |v: f32| (v + n).clamp(0.0, 255.0) as u8;
        Rgb([c(r), c(g), c(b)])
    })
}

pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding a generated image");
    out.into_inner()
}

/// A TIFF of `C` samples with the given compression, `pages` copies of the
/// image.
pub fn tiff<C: tiff::encoder::colortype::ColorType>(
    w: u32,
    h: u32,
    samples: &[C::Inner],
    compression: tiff::encoder::Compression,
    pages: usize,
) -> Vec<u8>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out)
            .expect("tiff header")
            .with_compression(compression);
        for _ in 0..pages {
            enc.write_image::<C>(w, h, samples).expect("tiff page");
        }
    }
    out.into_inner()
}

/// An RGB8 LZW TIFF, with the horizontal predictor (TIFF `Predictor` 2)
/// or none, in strips of `rows_per_strip` rows, or as the `tiff` encoder
/// cuts them when `None` (~1 MB a strip). libtiff (so ImageMagick and
/// most tools eLife's figures come from) writes ~8 KB a strip: one row
/// for a figure 1366 px wide or more, see [`LIBTIFF_STRIP_BYTES`].
pub fn tiff_rgb8_lzw(
    w: u32,
    h: u32,
    samples: &[u8],
    predictor: bool,
    rows_per_strip: Option<u32>,
) -> Vec<u8> {
    use tiff::encoder::{colortype::RGB8, Compression, Predictor, TiffEncoder};
    let mut out = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut out)
            .expect("tiff header")
            .with_compression(Compression::Lzw)
            .with_predictor(if predictor {
                Predictor::Horizontal
            } else {
                Predictor::None
            });
        let mut image = enc.new_image::<RGB8>(w, h).expect("tiff image");
        if let Some(rows) = rows_per_strip {
            image.rows_per_strip(rows).expect("rows per strip");
        }
        image.write_data(samples).expect("tiff page");
    }
    out.into_inner()
}

/// libtiff's default strip size (`TIFFDefaultStripSize`: 8 KB of
/// uncompressed samples, at least one row).
pub const LIBTIFF_STRIP_BYTES: u32 = 8192;

/// CMYK samples of an RGB picture (naive: K = 1 − max, C = (1 − R − K)/(1 − K)).
pub fn to_cmyk(rgb: &RgbImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.as_raw().len() / 3 * 4);
    for p in rgb.as_raw().chunks_exact(3) {
        let max = p.iter().copied().max().unwrap_or(0);
        let k = 255 - max;
        for &c in p {
            let v = if max == 0 {
                0
            } else {
                (u32::from(max - c) * 255 / u32::from(max)) as u8
            };
            out.push(v);
        }
        out.push(k);
    }
    out
}

/// A JPEG with an EXIF APP1 segment holding only `Orientation` (0x0112).
pub fn jpeg_with_orientation(img: &DynamicImage, orientation: u16) -> Vec<u8> {
    let jpeg = encode(&DynamicImage::ImageRgb8(img.to_rgb8()), ImageFormat::Jpeg);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A named set of figures, `mp` megapixels each (4:3).
pub fn set(mp: f32) -> Vec<(String, Vec<u8>)> {
    use tiff::encoder::{colortype, Compression, DeflateLevel};
    let w = ((mp * 1e6 * 4.0 / 3.0).sqrt()) as u32;
    let h = w * 3 / 4;
    let pic = picture(w, h, 7);
    let rgba = DynamicImage::ImageRgb8(pic.clone()).to_rgba8();
    let mut with_alpha = rgba.clone();
    for (x, _, p) in with_alpha.enumerate_pixels_mut() {
        p.0[3] = if x < w / 3 {
            0
        } else if x < 2 * w / 3 {
            128
        } else {
            255
        };
    }
    let rgb16 = DynamicImage::ImageRgb8(pic.clone()).to_rgb16();
    let mut figures = vec![
        (
            "rgb-lzw.tif".to_string(),
            tiff::<colortype::RGB8>(w, h, pic.as_raw(), Compression::Lzw, 1),
        ),
        (
            "rgb-deflate.tif".to_string(),
            tiff::<colortype::RGB8>(
                w,
                h,
                pic.as_raw(),
                Compression::Deflate(DeflateLevel::Balanced),
                1,
            ),
        ),
        (
            "rgb16-lzw.tif".to_string(),
            tiff::<colortype::RGB16>(w, h, rgb16.as_raw(), Compression::Lzw, 1),
        ),
        (
            "cmyk-lzw.tif".to_string(),
            tiff::<colortype::CMYK8>(w, h, &to_cmyk(&pic), Compression::Lzw, 1),
        ),
        (
            "rgba-lzw.tif".to_string(),
            tiff::<colortype::RGBA8>(w, h, with_alpha.as_raw(), Compression::Lzw, 1),
        ),
        (
            "rgb.png".to_string(),
            encode(&DynamicImage::ImageRgb8(pic.clone()), ImageFormat::Png),
        ),
        (
            "photo-exif6.jpg".to_string(),
            jpeg_with_orientation(&DynamicImage::ImageRgb8(pic.clone()), 6),
        ),
    ];
    // GIF: a palette figure (flat colours); 256 colours at most.
    let flat = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        let p = pic.get_pixel(x, y).0;
        Rgb([p[0] & 0xE0, p[1] & 0xE0, p[2] & 0xC0])
    }));
    let flat = DynamicImage::ImageRgba8(flat.to_rgba8());
    figures.push(("flat.gif".to_string(), encode(&flat, ImageFormat::Gif)));
    figures
}

/// A TIFF with JPEG compression (Compression = 7, one strip holding a whole
/// JPEG stream, no JPEGTables), built by hand: the `tiff` crate cannot
/// write JPEG-compressed TIFFs.
pub fn jpeg_tiff(img: &RgbImage, photometric: u16) -> Vec<u8> {
    let jpeg = encode(&DynamicImage::ImageRgb8(img.clone()), ImageFormat::Jpeg);
    let (w, h) = img.dimensions();
    const ENTRIES: u16 = 10;
    let ifd_end = 8 + 2 + 12 * u32::from(ENTRIES) + 4;
    let bits_at = ifd_end;
    let data_at = bits_at + 6;
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&ENTRIES.to_le_bytes());
    let mut entry = |tag: u16, ty: u16, count: u32, value: u32| {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    };
    let (short, long) = (3u16, 4u16);
    entry(256, long, 1, w);
    entry(257, long, 1, h);
    entry(258, short, 3, bits_at);
    entry(259, short, 1, 7);
    entry(262, short, 1, u32::from(photometric));
    entry(273, long, 1, data_at);
    entry(277, short, 1, 3);
    entry(278, long, 1, h);
    entry(279, long, 1, jpeg.len() as u32);
    entry(284, short, 1, 1);
    out.extend_from_slice(&0u32.to_le_bytes());
    for _ in 0..3 {
        out.extend_from_slice(&8u16.to_le_bytes());
    }
    out.extend_from_slice(&jpeg);
    out
}
