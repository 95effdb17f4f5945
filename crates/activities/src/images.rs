//! `ResizeImages`: figures (TIFF, PNG, JPEG) → web JPEGs at the configured
//! widths. Images are only ever scaled down: a figure narrower than a width
//! is encoded at its own size under that width's name, so the URLs
//! ConvertJATS writes (see [`crate::jats::web_image_name`]) always exist.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageReader};

mod huffman;
mod spare;
pub mod tiff_lzw;
mod tiff_strips;

/// One web JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebImage {
    /// The width asked for (part of the file name).
    pub width: u32,
    pub pixel_width: u32,
    pub pixel_height: u32,
    pub jpeg: Vec<u8>,
}

/// Figure size limits, from `activities.max_image_*` in the settings.
///
/// Why: decoding allocates width × height × channels bytes, and both come
/// from the file's header, which anyone can write: a PNG or TIFF of a few
/// hundred bytes can claim 100 000 × 100 000 pixels (30-40 GB decoded).
/// The header is read first and checked against these, so such a file is
/// refused in microseconds without allocating; the decoder is then also
/// given the same bounds ([`image::Limits`]) in case a format reports one
/// size and decodes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
}

impl ImageLimits {
    /// The defaults of `settings/default.toml`.
    pub const DEFAULT: ImageLimits = ImageLimits {
        max_width: 20_000,
        max_height: 20_000,
        max_pixels: 150_000_000,
    };

    /// The decoder's own limits: the same width and height, and at most 4
    /// bytes (RGBA8) per allowed pixel, never below the image crate's
    /// default of 512 MiB (decoders need working buffers even for small
    /// images).
    fn decoder_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_pixels.saturating_mul(4).max(512 << 20));
        limits
    }
}

impl From<&pressbot_core::settings::ActivitySettings> for ImageLimits {
    fn from(s: &pressbot_core::settings::ActivitySettings) -> Self {
        ImageLimits {
            max_width: s.max_image_width,
            max_height: s.max_image_height,
            max_pixels: s.max_image_pixels,
        }
    }
}

fn reader<'a>(data: &'a [u8], file: &str) -> Result<ImageReader<std::io::Cursor<&'a [u8]>>> {
    let reader = ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| Error::Image {
            file: file.to_owned(),
            operation: "decode",
            message: e.to_string(),
        })?;
    if reader.format().is_none() {
        return Err(Error::Image {
            file: file.to_owned(),
            operation: "decode",
            message: "unrecognised image format".into(),
        });
    }
    Ok(reader)
}

/// An image's width and height from its header alone (nothing decoded),
/// refused with [`Error::ImageTooLarge`] above the limits.
pub fn check_dimensions(data: &[u8], file: &str, limits: &ImageLimits) -> Result<(u32, u32)> {
    let reader = reader(data, file)?;
    // TIFF through `tiff` itself: `image` refuses some TIFFs pressbot reads
    // (YCbCr) before it even gives their size.
    let (width, height) = if reader.format() == Some(image::ImageFormat::Tiff) {
        tiff_strips::dimensions(data, file)?
    } else {
        reader.into_dimensions().map_err(|e| Error::Image {
            file: file.to_owned(),
            operation: "decode",
            message: e.to_string(),
        })?
    };
    let too_large = |limit, value, max, setting| Error::ImageTooLarge {
        file: file.to_owned(),
        width,
        height,
        limit,
        value,
        max,
        setting,
    };
    if width > limits.max_width {
        return Err(too_large(
            "width",
            width.into(),
            limits.max_width.into(),
            "max_image_width",
        ));
    }
    if height > limits.max_height {
        return Err(too_large(
            "height",
            height.into(),
            limits.max_height.into(),
            "max_image_height",
        ));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(too_large(
            "pixel count",
            pixels,
            limits.max_pixels,
            "max_image_pixels",
        ));
    }
    Ok((width, height))
}

/// Decode an image (format guessed from its bytes): its header is checked
/// against `limits` first ([`check_dimensions`]), then it is decoded with
/// the decoder bounded by the same limits.
pub fn decode(data: &[u8], file: &str, limits: &ImageLimits) -> Result<DynamicImage> {
    check_dimensions(data, file, limits)?;
    let mut reader = reader(data, file)?;
    reader.limits(limits.decoder_limits());
    reader.decode().map_err(|e| Error::Image {
        file: file.to_owned(),
        operation: "decode",
        message: e.to_string(),
    })
}

/// A figure's own pixel size and its web JPEGs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizedFigure {
    pub width: u32,
    pub height: u32,
    pub jpegs: Vec<WebImage>,
}

/// Make the web JPEGs of one figure, under [`ImageLimits::DEFAULT`].
pub fn resize_to_jpegs(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
) -> Result<Vec<WebImage>> {
    resize_figure(data, file, widths, quality, &ImageLimits::DEFAULT).map(|r| r.jpegs)
}

fn image_error(file: &str, operation: &'static str, message: impl ToString) -> Error {
    Error::Image {
        file: file.to_owned(),
        operation,
        message: message.to_string(),
    }
}

/// Decode a figure to the 8-bit sRGB pixels the web JPEGs are made of,
/// doing what ImageMagick did for the old bot: EXIF orientation applied
/// (JPEG and TIFF, else a phone photo comes out sideways), alpha flattened
/// on white (a JPEG has no alpha; dropping it would show whatever colour
/// the transparent pixels happen to hold, often black), 16-bit scaled to
/// 8, embedded ICC profiles converted to sRGB. CMYK TIFFs go through their
/// own ICC profile when they carry one, else the naive conversion
/// (R = 255 × (1 − C)(1 − K)) ImageMagick also uses without a profile.
/// JPEG-compressed TIFFs (YCbCr) too. Multi-page TIFFs: the first page.
/// The header is checked against `limits` before anything is decoded.
///
/// TIFFs are read strip by strip into the RGB8 figure (see
/// `tiff_strips`): peak memory about one RGB8 figure whatever the file's
/// bit depth or channels; other formats and TIFF layouts go through the
/// `image` crate.
pub fn decode_rgb8(data: &[u8], file: &str, limits: &ImageLimits) -> Result<image::RgbImage> {
    use image::ImageDecoder;
    check_dimensions(data, file, limits)?;
    let mut reader = reader(data, file)?;
    if reader.format() == Some(image::ImageFormat::Tiff) {
        if let Some(decoded) = tiff_strips::decode(data, file, limits)? {
            let orientation = image::metadata::Orientation::from_exif(
                u8::try_from(decoded.orientation).unwrap_or(1),
            )
            .unwrap_or(image::metadata::Orientation::NoTransforms);
            let mut rgb = decoded.rgb;
            if orientation != image::metadata::Orientation::NoTransforms {
                let mut img = DynamicImage::ImageRgb8(rgb);
                img.apply_orientation(orientation);
                rgb = img.into_rgb8();
            }
            if let Some(icc) = decoded.icc {
                to_srgb(&mut rgb, &icc, file)?;
            }
            return Ok(rgb);
        }
    }
    reader.limits(limits.decoder_limits());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| image_error(file, "decode", e))?;
    // A figure whose EXIF cannot be read is shown as stored, as browsers do.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // Likewise a profile that cannot be read is ignored (pixels as sRGB).
    let icc = decoder.icc_profile().ok().flatten();
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| image_error(file, "decode", e))?;
    img.apply_orientation(orientation);
    let mut rgb = flatten_on_white(img);
    if let Some(icc) = icc {
        to_srgb(&mut rgb, &icc, file)?;
    }
    Ok(rgb)
}

/// Convert pixels in an embedded RGB ICC profile (Adobe RGB, Display P3,
/// a camera's) to sRGB, as ImageMagick did for the old bot with its
/// profile: a browser shows a JPEG without a profile as sRGB, so without
/// this a wide-gamut figure comes out dull. With `moxcms` (pure Rust,
/// SIMD shaper paths), in place, a band of rows at a time (no second
/// figure-sized buffer). Profiles that are not RGB (a CMYK profile on a
/// figure that is not CMYK; a grey one) or that do not parse are ignored,
/// not fatal: the figure is still published.
fn to_srgb(rgb: &mut image::RgbImage, icc: &[u8], file: &str) -> Result<()> {
    let Ok(src) = moxcms::ColorProfile::new_from_slice(icc) else {
        tracing::warn!(
            file,
            "embedded ICC profile unreadable, pixels taken as sRGB"
        );
        return Ok(());
    };
    if src.color_space != moxcms::DataColorSpace::Rgb {
        return Ok(());
    }
    let srgb = moxcms::ColorProfile::new_srgb();
    let transform = src
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &srgb,
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .map_err(|e| image_error(file, "colour-convert", e))?;
    const BAND: usize = 64 * 1024 * 3;
    let mut band = vec![0u8; BAND.min(rgb.as_raw().len())];
    for chunk in rgb.chunks_mut(BAND) {
        let out = &mut band[..chunk.len()];
        moxcms::TransformExecutor::transform(transform.as_ref(), chunk, out)
            .map_err(|e| image_error(file, "colour-convert", e))?;
        chunk.copy_from_slice(out);
    }
    Ok(())
}

/// RGB8 of any decoded image, alpha composited on white. Takes the image by
/// value so an RGB8 figure (the common TIFF) is moved, never copied.
fn flatten_on_white(img: DynamicImage) -> image::RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(rgba.as_raw().len() / 4 * 3);
    for p in rgba.as_raw().chunks_exact(4) {
        let a = u32::from(p[3]);
        for &c in &p[..3] {
            // c·a + 255·(1 − a), rounded, in 8.8 fixed point.
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    image::RgbImage::from_raw(w, h, out).unwrap_or_default()
}

/// The height of a rendition `target` pixels wide, the aspect ratio kept,
/// rounded to the nearest pixel as ImageMagick's `-resize Wx` does (the old
/// bot's renditions, whose sizes pages already carry).
fn scaled_height(width: u32, height: u32, target: u32) -> u32 {
    let w = u64::from(width.max(1));
    ((u64::from(height) * u64::from(target) * 2 + w) / (2 * w)).max(1) as u32
}

/// Catmull-Rom (ImageMagick's `-filter Catrom`) resize of packed RGB8, with
/// `fast_image_resize`'s SIMD convolution: the scalar filter of `image`
/// was most of ResizeImages' CPU.
fn resize_rgb8(
    src: &[u8],
    (sw, sh): (u32, u32),
    (dw, dh): (u32, u32),
    resizer: &mut fast_image_resize::Resizer,
    file: &str,
) -> Result<Vec<u8>> {
    use fast_image_resize::{images::ImageRef, FilterType, PixelType, ResizeAlg, ResizeOptions};
    let src =
        ImageRef::new(sw, sh, src, PixelType::U8x3).map_err(|e| image_error(file, "resize", e))?;
    let buffer = spare::take_zeroed(dw as usize * dh as usize * 3);
    let mut dst = fast_image_resize::images::Image::from_vec_u8(dw, dh, buffer, PixelType::U8x3)
        .map_err(|e| image_error(file, "resize", e))?;
    resizer
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|e| image_error(file, "resize", e))?;
    Ok(dst.into_vec())
}

/// Baseline JPEG of packed RGB8 with `jpeg-encoder` (AVX2 colour
/// conversion and DCT; libjpeg's quantisation tables scaled to `quality`,
/// 4:2:0 below quality 90: the same as libjpeg in ImageMagick), its
/// Huffman tables then optimised for this image ([`huffman::optimize`],
/// lossless), as ImageMagick's libjpeg does: ~15 % smaller files than the
/// standard tables. Not `jpeg-encoder`'s own optimisation: it writes one
/// scan per component, which the `image` crate's decoder gets wrong.
fn encode_jpeg(rgb: &[u8], (w, h): (u32, u32), quality: u8, file: &str) -> Result<Vec<u8>> {
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(image_error(
            file,
            "encode",
            format!("{w}x{h} exceeds JPEG's 65535 pixels per side"),
        ));
    };
    let mut jpeg = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality.clamp(1, 100));
    encoder.set_optimized_huffman_tables(false);
    encoder
        .encode(rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| image_error(file, "encode", e))?;
    match huffman::optimize(&jpeg) {
        Some(optimized) => Ok(optimized),
        None => {
            // Never expected (the input is jpeg-encoder's own baseline
            // layout); the standard tables are still a valid JPEG.
            tracing::warn!(file, "JPEG Huffman tables not optimised");
            Ok(jpeg)
        }
    }
}

/// Make the web JPEGs of one figure, keeping the figure's own size too.
/// A figure above `limits` is refused before it is decoded.
///
/// One decode; the widths are made largest first and each smaller one is
/// resized from the previous rendition when that is at least twice its
/// width (1500 → 617 px: the Catmull-Rom cost grows with the source's
/// pixels, so this halves the resize work of a 4 MP figure; SSIM against
/// ImageMagick's direct resize is in docs/benchmarks.md section 6).
/// Memory: the decoded figure plus at most two renditions at a time.
pub fn resize_figure(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
    limits: &ImageLimits,
) -> Result<ResizedFigure> {
    let rgb = decode_rgb8(data, file, limits)?;
    resize_decoded(rgb, file, widths, quality)
}

/// [`resize_figure`] taking the file's bytes by value, to free them as
/// soon as the figure is decoded: the file (as large as the decoded figure
/// for a 16-bit LZW TIFF) is then not held through the resize, whose own
/// working buffer is the largest after the figure. ResizeImages uses this.
pub fn resize_figure_owned(
    data: impl AsRef<[u8]>,
    file: &str,
    widths: &[u32],
    quality: u8,
    limits: &ImageLimits,
) -> Result<ResizedFigure> {
    let rgb = decode_rgb8(data.as_ref(), file, limits)?;
    drop(data);
    resize_decoded(rgb, file, widths, quality)
}

/// [`resize_figure_owned`] for a file read into a buffer of the spare
/// pool (see `spare`).
fn resize_figure_pooled(
    data: Vec<u8>,
    file: &str,
    widths: &[u32],
    quality: u8,
    limits: &ImageLimits,
) -> Result<ResizedFigure> {
    let rgb = decode_rgb8(&data, file, limits);
    // Freed, not kept: as in `resize_figure_owned`, the file's bytes are
    // not held through the resize (peak memory per figure in flight stays
    // the decoded figure, the resizer's buffer and one rendition).
    drop(data);
    resize_decoded(rgb?, file, widths, quality)
}

fn resize_decoded(
    rgb: image::RgbImage,
    file: &str,
    widths: &[u32],
    quality: u8,
) -> Result<ResizedFigure> {
    let (fw, fh) = rgb.dimensions();
    let full = rgb.into_raw();
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by(|&a, &b| widths[b].cmp(&widths[a]));
    let mut resizer = spare::take_resizer();
    let mut out: Vec<Option<WebImage>> = vec![None; widths.len()];
    // The rendition the next (smaller) one may be made from.
    let mut previous: Option<(Vec<u8>, u32, u32)> = None;
    for i in order {
        let width = widths[i];
        let (pw, ph, jpeg, pixels) = if width >= fw {
            (fw, fh, encode_jpeg(&full, (fw, fh), quality, file)?, None)
        } else {
            let height = scaled_height(fw, fh, width);
            let scaled = match &previous {
                Some((p, w, h)) if *w >= 2 * width => {
                    resize_rgb8(p, (*w, *h), (width, height), &mut resizer, file)?
                }
                _ => resize_rgb8(&full, (fw, fh), (width, height), &mut resizer, file)?,
            };
            let jpeg = encode_jpeg(&scaled, (width, height), quality, file)?;
            (width, height, jpeg, Some(scaled))
        };
        if let Some(p) = pixels {
            if let Some((old, _, _)) = previous.replace((p, pw, ph)) {
                spare::give(old);
            }
        }
        out[i] = Some(WebImage {
            width,
            pixel_width: pw,
            pixel_height: ph,
            jpeg,
        });
    }
    spare::give_resizer(resizer);
    spare::give(full);
    if let Some((p, _, _)) = previous {
        spare::give(p);
    }
    Ok(ResizedFigure {
        width: fw,
        height: fh,
        jpegs: out.into_iter().flatten().collect(),
    })
}

// ---------------------------------------------------------------- activity

/// How many figures of one package are resized at once: the machine's
/// cores, but never more than the largest pool of worker slots (a worker
/// told to run N activities at once is given about N cores' worth).
fn figure_parallelism(settings: &pressbot_core::settings::Settings) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slots = settings
        .worker
        .pools
        .iter()
        .map(|p| p.slots)
        .max()
        .unwrap_or(1);
    cores.min(slots).max(1)
}

/// The figures being read, decoded and resized in this process at once,
/// across every ResizeImages running in it: `parallel` (see
/// [`figure_parallelism`]) permits, sized at the first use.
///
/// Why process-wide: each ResizeImages already keeps the cores busy on its
/// own, so a worker running four of them (four slots) gained no speed from
/// eight figures in flight, only memory: each figure holds its file's
/// bytes, the decoded RGB8 figure and the resizer's buffers, and `pressbot
/// up` on the 20-package set peaked at 362 MB (docs/benchmarks.md,
/// section 6). A permit is taken before the file is fetched and given back
/// when its resize ends, so memory is bounded by the cores, not the slots.
fn figure_slots(parallel: usize) -> std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1))))
        .clone()
}

/// Where a figure's bytes come from: the store's own file (embedded) or
/// the body it returned (AWS).
enum FigureSource {
    File(std::fs::File, u64),
    Body(bytes::Bytes),
}

/// Read a figure's file into a buffer of the spare pool.
fn read_pooled(mut file: std::fs::File, size: u64, bucket: &str, key: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = spare::take(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut data).map_err(|source| {
        Error::store(
            "get",
            bucket,
            key,
            pressbot_core::Error::Io {
                path: std::path::PathBuf::from(format!("{bucket}/{key}")),
                source,
            },
        )
    })?;
    Ok(data)
}

/// `ResizeImages`. Input: `manifest_key` (its `figure` files). Writes
/// `images.json` ([`crate::manifest::ImagesManifest`]: each figure's size
/// and its renditions' actual pixel sizes, which ConvertJATS needs) in the
/// expanded folder. Output: `images_key`, `image_count`. Reports progress
/// after each figure and stops (retryable) when cancelled.
#[derive(Debug, Clone)]
pub struct ResizeImages {
    env: std::sync::Arc<crate::Env>,
}

impl ResizeImages {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ResizeImages { env }
    }

    async fn resize(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        use crate::article::{self as a, keys};
        use crate::manifest::{self as m, ImageFile, ImagesManifest, Rendition};
        let (_, manifest) = m::package(&self.env, ctx).await?;
        let figures: Vec<_> = manifest.figures().cloned().collect();
        let expanded = a::bucket(&self.env, "expanded")?;
        let widths = self.env.settings.activities.image_widths.clone();
        let quality = self.env.settings.activities.jpeg_quality;
        let limits = ImageLimits::from(&self.env.settings.activities);
        let mut images = Vec::with_capacity(figures.len());
        let mut renditions_made = 0usize;
        // Figures are resized in parallel, at most `parallel` at a time (the
        // cores, capped by the worker's largest pool of slots): one figure
        // keeps one core busy, and a package's figures are independent.
        // Bounded, so memory stays at `parallel` decoded figures, and that
        // across every ResizeImages of this process (`figure_slots`);
        // handled in order, so progress, uploads and images.json are as before.
        let parallel = figure_parallelism(&self.env.settings);
        // Buffers are reused between figures while this runs (see `spare`).
        let _spare = spare::Active::start();
        let slots = figure_slots(parallel);
        let mut pending = std::collections::VecDeque::with_capacity(parallel);
        let mut next = 0usize;
        for (i, fig) in figures.iter().enumerate() {
            while next < figures.len() && pending.len() < parallel {
                let fig = &figures[next];
                if ctx.cancel.is_cancelled() {
                    return Err(Error::Cancelled {
                        operation: format!("resizing {}", fig.key),
                    });
                }
                // Never deadlocks: the permits held are those of figures
                // already handed to blocking threads, which finish alone.
                let permit = slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| Error::Task {
                        operation: "resize".to_owned(),
                        message: e.to_string(),
                    })?;
                if ctx.cancel.is_cancelled() {
                    return Err(Error::Cancelled {
                        operation: format!("resizing {}", fig.key),
                    });
                }
                // The embedded store's own file, read on the blocking
                // thread into a pooled buffer; otherwise (AWS) the body.
                let source = match self
                    .env
                    .backend
                    .objects
                    .open_file(&expanded, &fig.key)
                    .await
                    .map_err(|e| Error::store("get", &expanded, &fig.key, e))?
                {
                    Some((file, meta)) => FigureSource::File(file, meta.size),
                    None => FigureSource::Body(a::get(&self.env, &expanded, &fig.key).await?),
                };
                let (file, w) = (fig.name.clone(), widths.clone());
                let (bucket, key) = (expanded.clone(), fig.key.clone());
                // Started now, awaited in order below.
                pending.push_back(tokio::task::spawn_blocking(move || {
                    let resized = match source {
                        FigureSource::File(f, size) => read_pooled(f, size, &bucket, &key)
                            .and_then(|data| {
                                resize_figure_pooled(data, &file, &w, quality, &limits)
                            }),
                        FigureSource::Body(body) => {
                            resize_figure_owned(body, &file, &w, quality, &limits)
                        }
                    };
                    drop(permit);
                    resized
                }));
                next += 1;
            }
            let Some(handle) = pending.pop_front() else {
                break;
            };
            let resized = handle.await.map_err(|e| Error::Task {
                operation: "resize".to_owned(),
                message: e.to_string(),
            })??;
            let mut renditions = Vec::with_capacity(resized.jpegs.len());
            for img in resized.jpegs {
                let filename = crate::jats::web_image_name(&fig.name, img.width);
                let key = m::key_in(&manifest.folder, &filename);
                a::put(
                    &self.env,
                    &expanded,
                    &key,
                    bytes::Bytes::from(img.jpeg),
                    pressbot_core::backend::PutOptions {
                        content_type: Some("image/jpeg".into()),
                        cache_control: None,
                    },
                )
                .await?;
                renditions.push(Rendition {
                    width: img.pixel_width,
                    height: img.pixel_height,
                    key,
                    filename,
                    requested_width: img.width,
                });
            }
            renditions_made += renditions.len();
            images.push(ImageFile {
                source: fig.key.clone(),
                name: fig.name.clone(),
                width: resized.width,
                height: resized.height,
                renditions,
            });
            ctx.progress
                .report(format!("resized {} of {} figures", i + 1, figures.len()));
            tracing::debug!(figure = %fig.key, "figure resized");
        }
        let images_key = m::key_in(&manifest.folder, m::IMAGES_MANIFEST);
        let count = images.len();
        m::write(
            &self.env,
            &images_key,
            &ImagesManifest {
                format: m::FORMAT,
                folder: manifest.folder.clone(),
                images,
            },
        )
        .await?;
        tracing::info!(figures = count, renditions = renditions_made, key = %images_key, "images resized");
        Ok(serde_json::json!({
            keys::IMAGES_KEY: images_key,
            keys::IMAGE_COUNT: count,
        }))
    }
}

#[async_trait::async_trait]
impl crate::Activity for ResizeImages {
    fn name(&self) -> &'static str {
        "ResizeImages"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.resize(ctx).await?)
    }
}
