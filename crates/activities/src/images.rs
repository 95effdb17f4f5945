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

/// Decode an image (format guessed from its bytes) within the image
/// crate's default memory limits.
pub fn decode(data: &[u8], file: &str) -> Result<DynamicImage> {
    let err = |m: String| Error::Image {
        file: file.to_owned(),
        operation: "decode",
        message: m,
    };
    let reader = ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    if reader.format().is_none() {
        return Err(err("unrecognised image format".into()));
    }
    reader.decode().map_err(|e| err(e.to_string()))
}

/// A figure's own pixel size and its web JPEGs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizedFigure {
    pub width: u32,
    pub height: u32,
    pub jpegs: Vec<WebImage>,
}

/// Make the web JPEGs of one figure.
pub fn resize_to_jpegs(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
) -> Result<Vec<WebImage>> {
    resize_figure(data, file, widths, quality).map(|r| r.jpegs)
}

/// Make the web JPEGs of one figure, keeping the figure's own size too.
pub fn resize_figure(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
) -> Result<ResizedFigure> {
    let img = decode(data, file)?;
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
            let resized =
                a::blocking("resize", move || resize_figure(&data, &file, &w, quality)).await?;
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
