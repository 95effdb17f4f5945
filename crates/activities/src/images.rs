//! `ResizeImages`: figures (TIFF, PNG, JPEG) → web JPEGs at the configured
//! widths. Images are only ever scaled down: a figure narrower than a width
//! is encoded at its own size under that width's name, so the URLs
//! ConvertJATS writes (see [`crate::jats::web_image_name`]) always exist.

use crate::error::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};

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
    let (width, height) = reader(data, file)?
        .into_dimensions()
        .map_err(|e| Error::Image {
            file: file.to_owned(),
            operation: "decode",
            message: e.to_string(),
        })?;
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

/// Make the web JPEGs of one figure, keeping the figure's own size too.
/// A figure above `limits` is refused before it is decoded.
pub fn resize_figure(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
    limits: &ImageLimits,
) -> Result<ResizedFigure> {
    let img = decode(data, file, limits)?;
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut out = Vec::with_capacity(widths.len());
    for &width in widths {
        let scaled = if width < rgb.width() {
            let height = ((u64::from(rgb.height()) * u64::from(width))
                / u64::from(rgb.width().max(1)))
            .max(1) as u32;
            rgb.resize_exact(width, height, FilterType::CatmullRom)
        } else {
            rgb.clone()
        };
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, quality.clamp(1, 100))
            .encode_image(&scaled)
            .map_err(|e| Error::Image {
                file: file.to_owned(),
                operation: "encode",
                message: e.to_string(),
            })?;
        out.push(WebImage {
            width,
            pixel_width: scaled.width(),
            pixel_height: scaled.height(),
            jpeg,
        });
    }
    Ok(ResizedFigure {
        width: rgb.width(),
        height: rgb.height(),
        jpegs: out,
    })
}

// ---------------------------------------------------------------- activity

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
        for (i, fig) in figures.iter().enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("resizing {}", fig.key),
                });
            }
            let data = a::get(&self.env, &expanded, &fig.key).await?;
            let (file, w) = (fig.name.clone(), widths.clone());
            let resized = a::blocking("resize", move || {
                resize_figure(&data, &file, &w, quality, &limits)
            })
            .await?;
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
