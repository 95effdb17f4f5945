//! ResizeImages' pure part on the real TIFF and on generated images.

mod common;

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
    let expected_h = (u64::from(original.height()) * 300 / u64::from(original.width())) as u32;
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
