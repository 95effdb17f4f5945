//! ResizeImages' pure part on the real TIFF and on generated images.

mod common;
#[path = "../benches/support/figures.rs"]
mod figures;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use pressbot_activities::error::Error;
use pressbot_activities::images::resize_to_jpegs;
use pressbot_activities::jats::web_image_name;
use std::io::Read;

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn the_real_tiff_becomes_web_jpegs() {
    let zip = common::read_data("elife-00353-vor-v1-20121213000000.zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut tif = Vec::new();
    archive
        .by_name("elife-00353-fig1-v1.tif")
        .unwrap()
        .read_to_end(&mut tif)
        .unwrap();
    let original = image::load_from_memory(&tif).unwrap();
    let out = resize_to_jpegs(&tif, "elife-00353-fig1-v1.tif", &[300, 100_000], 85).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].pixel_width, 300);
    // Rounded to the nearest pixel, as ImageMagick did for the old bot.
    let expected_h = ((u64::from(original.height()) * 600 + u64::from(original.width()))
        / (2 * u64::from(original.width()))) as u32;
    assert_eq!(out[0].pixel_height, expected_h, "aspect ratio kept");
    let jpeg = image::load_from_memory(&out[0].jpeg).unwrap();
    assert_eq!(
        image::guess_format(&out[0].jpeg).unwrap(),
        ImageFormat::Jpeg
    );
    assert_eq!((jpeg.width(), jpeg.height()), (300, expected_h));
    // Wider than the original: never upscaled.
    assert_eq!(out[1].width, 100_000);
    assert_eq!(out[1].pixel_width, original.width());
}

#[test]
fn png_with_alpha_and_jpeg_inputs_work() {
    let mut rgba = RgbaImage::new(40, 20);
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        *p = Rgba([x as u8 * 6, 10, 200, (x * 6) as u8]);
    }
    let img = DynamicImage::ImageRgba8(rgba);
    for format in [ImageFormat::Png, ImageFormat::Tiff] {
        let out = resize_to_jpegs(&encode(&img, format), "f.png", &[20, 617], 80).unwrap();
        assert_eq!((out[0].pixel_width, out[0].pixel_height), (20, 10));
        assert_eq!((out[1].pixel_width, out[1].pixel_height), (40, 20));
    }
    let jpg = encode(&DynamicImage::ImageRgb8(img.to_rgb8()), ImageFormat::Jpeg);
    let out = resize_to_jpegs(&jpg, "f.jpg", &[10], 50).unwrap();
    assert_eq!((out[0].pixel_width, out[0].pixel_height), (10, 5));
}

#[test]
fn garbage_is_a_decode_error_naming_the_file() {
    let e = resize_to_jpegs(
        b"definitely not an image",
        "elife-1-fig1-v1.tif",
        &[100],
        85,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Image {
                operation: "decode",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("elife-1-fig1-v1.tif: image decode failed"),
        "{e}"
    );
}

#[test]
fn web_image_names() {
    assert_eq!(
        web_image_name("a/elife-1-fig1-v1.tif", 617),
        "elife-1-fig1-v1-617w.jpg"
    );
    assert_eq!(
        web_image_name("elife-1-fig1-v1", 1500),
        "elife-1-fig1-v1-1500w.jpg"
    );
    assert_eq!(
        web_image_name("elife-1-fig1-v1.PNG", 10),
        "elife-1-fig1-v1-10w.jpg"
    );
}

use tiff::encoder::{colortype, Compression, DeflateLevel};

/// The pixels of a web JPEG made at the figure's own size (no resize).
fn as_web(data: &[u8], file: &str) -> image::RgbImage {
    let out = resize_to_jpegs(data, file, &[100_000], 95).unwrap();
    image::load_from_memory(&out[0].jpeg).unwrap().to_rgb8()
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn near(p: image::Rgb<u8>, want: [u8; 3], tol: u8) -> bool {
    p.0.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= tol)
}

#[test]
fn lzw_deflate_and_16_bit_tiffs_decode_to_the_source_pixels() {
    let pic = figures::picture(64, 48, 1);
    let rgb16 = DynamicImage::ImageRgb8(pic.clone()).to_rgb16();
    let cases = [
        (
            "lzw",
            figures::tiff::<colortype::RGB8>(64, 48, pic.as_raw(), Compression::Lzw, 1),
        ),
        (
            "deflate",
            figures::tiff::<colortype::RGB8>(
                64,
                48,
                pic.as_raw(),
                Compression::Deflate(DeflateLevel::Balanced),
                1,
            ),
        ),
        (
            "16-bit",
            figures::tiff::<colortype::RGB16>(64, 48, rgb16.as_raw(), Compression::Lzw, 1),
        ),
    ];
    for (what, tif) in cases {
        let d = mean_abs_diff(&as_web(&tif, "f.tif"), &pic);
        // JPEG q95 of 1-px lines: a few levels; a wrong decode is tens.
        assert!(d < 5.0, "{what}: mean difference {d}");
    }
}

#[test]
fn cmyk_tiff_comes_out_as_its_srgb_colour() {
    // C=0 M=100% Y=100% K=0 is red; K=50% alone is mid grey.
    for (cmyk, want) in [
        ([0u8, 255, 255, 0], [255u8, 0, 0]),
        ([0, 0, 0, 128], [127, 127, 127]),
    ] {
        let samples: Vec<u8> = cmyk.iter().copied().cycle().take(32 * 32 * 4).collect();
        let tif = figures::tiff::<colortype::CMYK8>(32, 32, &samples, Compression::Lzw, 1);
        let px = *as_web(&tif, "cmyk.tif").get_pixel(16, 16);
        assert!(near(px, want, 6), "CMYK {cmyk:?} -> {px:?}, want {want:?}");
    }
}

#[test]
fn alpha_is_flattened_on_white() {
    // Black at alpha 0, 128 and 255: white, mid grey, black.
    let mut rgba = RgbaImage::new(48, 16);
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        *p = Rgba([0, 0, 0, [0, 128, 255][(x / 16) as usize]]);
    }
    let img = DynamicImage::ImageRgba8(rgba);
    for format in [ImageFormat::Png, ImageFormat::Tiff] {
        let out = as_web(&encode(&img, format), "a.png");
        for (x, want) in [(8, 255u8), (24, 127), (40, 0)] {
            let px = *out.get_pixel(x, 8);
            assert!(near(px, [want; 3], 6), "{format:?} x={x}: {px:?}");
        }
    }
}

#[test]
fn a_multi_page_tiff_gives_its_first_page() {
    let red: Vec<u8> = [220u8, 20, 20]
        .iter()
        .copied()
        .cycle()
        .take(32 * 32 * 3)
        .collect();
    let tif = figures::tiff::<colortype::RGB8>(32, 32, &red, Compression::Lzw, 1);
    // Append a blue second page by writing both pages with the encoder.
    let blue: Vec<u8> = [20u8, 20, 220]
        .iter()
        .copied()
        .cycle()
        .take(32 * 32 * 3)
        .collect();
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut cur).unwrap();
        enc.write_image::<colortype::RGB8>(32, 32, &red).unwrap();
        enc.write_image::<colortype::RGB8>(32, 32, &blue).unwrap();
    }
    let two_pages = cur.into_inner();
    assert!(
        two_pages.len() > tif.len() + 32 * 32 * 3 / 2,
        "two pages written"
    );
    let px = *as_web(&two_pages, "pages.tif").get_pixel(16, 16);
    assert!(near(px, [220, 20, 20], 8), "first page: {px:?}");
}

#[test]
fn exif_orientation_of_a_jpeg_is_applied() {
    // 40×20, left half red, right half blue; orientation 6 (rotate 90° clockwise):
    // 20×40 with the red half on top.
    let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([20, 20, 230])
        }
    }));
    let jpg = figures::jpeg_with_orientation(&img, 6);
    let out = resize_to_jpegs(&jpg, "photo.jpg", &[617], 90).unwrap();
    assert_eq!((out[0].pixel_width, out[0].pixel_height), (20, 40));
    let web = image::load_from_memory(&out[0].jpeg).unwrap().to_rgb8();
    assert!(
        near(*web.get_pixel(10, 5), [230, 20, 20], 30),
        "{:?}",
        web.get_pixel(10, 5)
    );
    assert!(
        near(*web.get_pixel(10, 35), [20, 20, 230], 30),
        "{:?}",
        web.get_pixel(10, 35)
    );
}

#[test]
fn gif_figures_work() {
    let pic = figures::picture(60, 40, 3);
    let flat = DynamicImage::ImageRgb8(image::RgbImage::from_fn(60, 40, |x, y| {
        let p = pic.get_pixel(x, y).0;
        image::Rgb([p[0] & 0xE0, p[1] & 0xE0, p[2] & 0xC0])
    }));
    let gif = encode(&DynamicImage::ImageRgba8(flat.to_rgba8()), ImageFormat::Gif);
    let d = mean_abs_diff(&as_web(&gif, "f.gif"), &flat.to_rgb8());
    assert!(d < 4.0, "mean difference {d}");
    let out = resize_to_jpegs(&gif, "f.gif", &[30], 85).unwrap();
    assert_eq!((out[0].pixel_width, out[0].pixel_height), (30, 20));
}

#[test]
fn the_resize_matches_a_direct_catmull_rom_resize() {
    // The 617 rendition is made from the 1500 one: it must stay close to a
    // direct Catmull-Rom resize of the figure (the `image` crate's, scalar).
    let pic = figures::picture(2000, 1500, 5);
    let tif = figures::tiff::<colortype::RGB8>(2000, 1500, pic.as_raw(), Compression::Lzw, 1);
    let out = resize_to_jpegs(&tif, "big.tif", &[1500, 617], 95).unwrap();
    assert_eq!((out[1].pixel_width, out[1].pixel_height), (617, 463));
    let reference =
        image::imageops::resize(&pic, 617, 463, image::imageops::FilterType::CatmullRom);
    let web = image::load_from_memory(&out[1].jpeg).unwrap().to_rgb8();
    let d = mean_abs_diff(&web, &reference);
    assert!(d < 3.0, "mean difference from a direct resize {d}");
}

#[test]
fn jpeg_compressed_tiff_in_ycbcr_decodes_to_its_colours() {
    // Photometric YCbCr over a JPEG stream (what Photoshop and scanners
    // write): the `image` crate refuses it ("color type Unknown(24)");
    // pressbot reads it with `tiff` and converts YCbCr itself. Treating the
    // samples as RGB would be tens of levels off.
    // Reference: the same JPEG stream as a .jpg, which the JPEG decoder
    // converts to RGB itself.
    let pic = figures::picture(48, 32, 2);
    let tif = figures::jpeg_tiff(&pic, 6);
    let jpg = encode(&DynamicImage::ImageRgb8(pic.clone()), ImageFormat::Jpeg);
    let d = mean_abs_diff(&as_web(&tif, "ycbcr.tif"), &as_web(&jpg, "same.jpg"));
    assert!(d < 1.5, "mean difference {d}");
    // And roughly the source (the JPEG inside is lossy, at quality 75).
    let d = mean_abs_diff(&as_web(&tif, "ycbcr.tif"), &pic);
    assert!(d < 16.0, "mean difference from the source {d}");
}

/// Pixels of a committed fixture against `tiff-source.png` (see
/// tests/data/NOTICE.md for how each was made).
fn fixture_vs_source(name: &str) -> f64 {
    let tif = std::fs::read(common::data(name)).unwrap();
    let source = image::open(common::data("tiff-source.png"))
        .unwrap()
        .to_rgb8();
    mean_abs_diff(&as_web(&tif, name), &source)
}

#[test]
fn libtiff_jpeg_compressed_tiff_decodes() {
    let d = fixture_vs_source("tiff-jpeg-libtiff.tif");
    assert!(d < 4.0, "mean difference {d}");
}

#[test]
fn libtiff_tiled_16_bit_tiff_decodes() {
    let name = "tiff-tiled-16bit-libtiff.tif";
    let tif = std::fs::read(common::data(name)).unwrap();
    // The fixture is what it says: tiles (32×32 over 64×48) of 16-bit RGB.
    let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(&tif)).unwrap();
    assert_eq!(dec.get_chunk_type(), tiff::decoder::ChunkType::Tile);
    assert_eq!(dec.colortype().unwrap(), tiff::ColorType::RGB(16));
    let d = fixture_vs_source(name);
    assert!(d < 2.0, "mean difference {d}");
}

#[test]
fn an_embedded_icc_profile_is_converted_to_srgb() {
    use image::ImageEncoder;
    // A Display P3 muted red: in sRGB the same colour is more saturated
    // (R up, G and B down; about (216, 93, 96)); grey stays grey.
    let img = image::RgbImage::from_fn(32, 16, |x, _| {
        if x < 16 {
            image::Rgb([200, 100, 100])
        } else {
            image::Rgb([128, 128, 128])
        }
    });
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
        .unwrap();
    enc.write_image(img.as_raw(), 32, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    let out = as_web(&png, "p3.png");
    let red = out.get_pixel(8, 8).0;
    assert!(
        red[0] >= 210 && red[1] <= 95 && red[2] <= 98,
        "P3 (200,100,100) -> {red:?}"
    );
    assert!(near(*out.get_pixel(24, 8), [128, 128, 128], 3));
}

/// A CMYK ICC profile from the system: Ghostscript's (Debian's
/// libgs-common, which scripts/test.sh installs; AGPL, so read where it is
/// and not copied into the repository).
const CMYK_PROFILE: &str = "/usr/share/color/icc/ghostscript/default_cmyk.icc";
const SRGB_PROFILE: &str = "/usr/share/color/icc/ghostscript/srgb.icc";

#[test]
fn a_cmyk_tiffs_own_icc_profile_is_applied_as_lcms_does() {
    let profile = std::fs::read(CMYK_PROFILE)
        .unwrap_or_else(|e| panic!("{CMYK_PROFILE}: {e} (apt-get install libgs-common)"));
    // Patches 16 px wide: paper, cyan, magenta, yellow, 50 % black, a
    // rich dark mix.
    let patches: [[u8; 4]; 6] = [
        [0, 0, 0, 0],
        [255, 0, 0, 0],
        [0, 255, 0, 0],
        [0, 0, 255, 0],
        [0, 0, 0, 128],
        [180, 120, 60, 60],
    ];
    let (w, h) = (16 * patches.len() as u32, 16u32);
    let mut samples = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            samples.extend_from_slice(&patches[(x / 16) as usize]);
        }
    }
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut cur).unwrap();
        let mut img = enc.new_image::<colortype::CMYK8>(w, h).unwrap();
        img.encoder()
            .write_tag(tiff::tags::Tag::IccProfile, &profile[..])
            .unwrap();
        img.write_data(&samples).unwrap();
    }
    let tif = cur.into_inner();
    let ours = as_web(&tif, "cmyk-icc.tif");

    // Reference: ImageMagick converting the same file with lcms2 from its
    // embedded profile to sRGB.
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.tif"), dir.path().join("out.png"));
    std::fs::write(&input, &tif).unwrap();
    let status = std::process::Command::new("/usr/bin/convert")
        .arg(&input)
        .args(["-profile", SRGB_PROFILE])
        .arg(&output)
        .status()
        .expect("/usr/bin/convert (apt-get install imagemagick)");
    assert!(status.success());
    let lcms = image::open(&output).unwrap().to_rgb8();
    let naive = as_web(
        &figures::tiff::<colortype::CMYK8>(w, h, &samples, Compression::Lzw, 1),
        "cmyk.tif",
    );
    for (i, cmyk) in patches.iter().enumerate() {
        let (x, y) = (i as u32 * 16 + 8, 8);
        let (p, r, n) = (
            ours.get_pixel(x, y).0,
            lcms.get_pixel(x, y).0,
            naive.get_pixel(x, y).0,
        );
        assert!(
            near(image::Rgb(p), r, 4),
            "CMYK {cmyk:?}: ours {p:?}, lcms {r:?}"
        );
        eprintln!("CMYK {cmyk:?}: ours {p:?}, lcms {r:?}, naive {n:?}");
    }
    // The profile changes colours: cyan through a press profile is far
    // from the naive (0, 255, 255).
    let cyan = ours.get_pixel(24, 8).0;
    assert!(!near(image::Rgb(cyan), [0, 255, 255], 30), "{cyan:?}");
}

/// The figure as pressbot decodes it (its own LZW path for these) and as
/// the `image` crate does (LZW inside `tiff`): the largest difference of
/// any sample.
fn max_diff_from_image_crate(name: &str) -> u8 {
    use pressbot_activities::images::{decode_rgb8, ImageLimits};
    let tif = std::fs::read(common::data(name)).unwrap();
    let ours = decode_rgb8(&tif, name, &ImageLimits::DEFAULT).unwrap();
    let theirs = image::load_from_memory(&tif).unwrap().to_rgb8();
    assert_eq!(ours.dimensions(), theirs.dimensions(), "{name}");
    ours.as_raw()
        .iter()
        .zip(theirs.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0)
}

#[test]
fn lzw_tiffs_with_the_horizontal_predictor_decode_as_the_tiff_crate_does() {
    // libtiff's files (tests/data/NOTICE.md): 8-bit strips, 16-bit
    // big-endian strips and 16-bit tiles, each with Predictor 2, which
    // pressbot's own LZW path undoes itself.
    for name in [
        "tiff-lzw-predictor-8bit.tif",
        "tiff-lzw-predictor-16bit-msb.tif",
        "tiff-tiled-16bit-libtiff.tif",
    ] {
        assert_eq!(max_diff_from_image_crate(name), 0, "{name}");
        let d = fixture_vs_source(name);
        assert!(d < 2.0, "{name}: mean difference {d}");
    }
    let msb = std::fs::read(common::data("tiff-lzw-predictor-16bit-msb.tif")).unwrap();
    assert!(msb.starts_with(b"MM"), "the fixture is big-endian");
}

#[test]
fn lzw_tiffs_in_libtiff_and_tiff_crate_strips_decode_to_the_source_pixels() {
    use pressbot_activities::images::{decode_rgb8, ImageLimits};
    // 1500 px: one row per strip in libtiff's 8 KB strips (eLife's
    // figures), as against the `tiff` encoder's ~1 MB (the whole figure
    // here); with and without the horizontal predictor. LZW is lossless:
    // every sample must come back.
    let (w, h) = (1500, 60);
    let pic = figures::picture(w, h, 3);
    let one_row = (figures::LIBTIFF_STRIP_BYTES / (w * 3)).max(1);
    for predictor in [false, true] {
        for rows in [Some(one_row), Some(7), None] {
            let tif = figures::tiff_rgb8_lzw(w, h, pic.as_raw(), predictor, rows);
            let ours = decode_rgb8(&tif, "f.tif", &ImageLimits::DEFAULT).unwrap();
            assert!(
                ours.as_raw() == pic.as_raw(),
                "predictor {predictor}, rows per strip {rows:?}"
            );
        }
    }
}

/// A copy of a little-endian TIFF with the first value of `tag` in its
/// first IFD set to `value` (an inline SHORT or LONG).
fn with_tag(tif: &[u8], tag: u16, value: u32) -> Vec<u8> {
    let mut out = tif.to_vec();
    assert!(out.starts_with(b"II"));
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let ifd = u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
    for e in 0..usize::from(u16_at(&out, ifd)) {
        let at = ifd + 2 + 12 * e;
        if u16_at(&out, at) == tag {
            match u16_at(&out, at + 2) {
                3 => out[at + 8..at + 10].copy_from_slice(&(value as u16).to_le_bytes()),
                _ => out[at + 8..at + 12].copy_from_slice(&value.to_le_bytes()),
            }
            return out;
        }
    }
    panic!("tag {tag} not in the first IFD");
}

#[test]
fn a_cut_or_misplaced_lzw_strip_is_a_decode_error() {
    use pressbot_activities::images::{decode_rgb8, ImageLimits};
    let tif = std::fs::read(common::data("tiff-lzw-predictor-8bit.tif")).unwrap();
    let cut = with_tag(&tif, 279, 16); // StripByteCounts: 16 bytes of LZW
    let outside = with_tag(&tif, 273, tif.len() as u32 - 4); // StripOffsets
    for (what, bad) in [("cut", cut), ("outside", outside)] {
        match decode_rgb8(&bad, "bad.tif", &ImageLimits::DEFAULT) {
            Err(Error::Image { operation, .. }) => assert_eq!(operation, "decode", "{what}"),
            other => panic!("{what}: {:?}", other.map(|i| i.dimensions())),
        }
    }
}
