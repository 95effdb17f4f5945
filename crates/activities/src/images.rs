//! `ResizeImages`: figures (TIFF, PNG, JPEG) → web JPEGs at the configured
//! widths. Images are only ever scaled down: a figure narrower than a width
//! is encoded at its own size under that width's name, so the URLs
//! ConvertJATS writes (see [`crate::jats::web_image_name`]) always exist.

use crate::error::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use serde::Serialize;

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

/// Make the web JPEGs of one figure.
pub fn resize_to_jpegs(
    data: &[u8],
    file: &str,
    widths: &[u32],
    quality: u8,
) -> Result<Vec<WebImage>> {
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
    Ok(out)
}

/// A web image in the workflow context (`images`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageEntry {
    /// The figure's key in the expanded bucket.
    pub source: String,
    pub width: u32,
    /// The JPEG's key in the expanded bucket.
    pub key: String,
    pub pixel_width: u32,
    pub pixel_height: u32,
}

// ---------------------------------------------------------------- activity

/// `ResizeImages`. Input: `figures` (keys in the expanded bucket).
/// Output: `images` ([`ImageEntry`] list). Reports progress after each figure
/// and stops (retryable) when cancelled.
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
        let figures = a::ctx_str_list(ctx, keys::FIGURES)?;
        let expanded = a::bucket(&self.env, "expanded")?;
        let widths = self.env.settings.activities.image_widths.clone();
        let quality = self.env.settings.activities.jpeg_quality;
        let mut entries = Vec::new();
        for (i, fig) in figures.iter().enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("resizing {fig}"),
                });
            }
            let data = a::get(&self.env, &expanded, fig).await?;
            let (file, w) = (a::file_part(fig).to_owned(), widths.clone());
            let images =
                a::blocking("resize", move || resize_to_jpegs(&data, &file, &w, quality)).await?;
            let dir = fig
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            for img in images {
                let key = format!("{dir}{}", crate::jats::web_image_name(fig, img.width));
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
                entries.push(ImageEntry {
                    source: fig.clone(),
                    width: img.width,
                    key,
                    pixel_width: img.pixel_width,
                    pixel_height: img.pixel_height,
                });
            }
            ctx.progress
                .report(format!("resized {} of {} figures", i + 1, figures.len()));
            tracing::debug!(figure = %fig, "figure resized");
        }
        Ok(serde_json::json!({ keys::IMAGES: entries }))
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
