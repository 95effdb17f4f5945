//! Manifests: the per-file lists of a run, kept as JSON objects in the
//! expanded bucket beside the files they describe.
//!
//! SWF caps a workflow's input, results and context at 32 KB, and the
//! decider merges every activity's output into that context. A list that
//! grows with the package (a package of 153 files already made an 80 KB
//! context) therefore never travels in the context: the activity writes it
//! here and only its key does (`manifest_key`, `images_key`, `assets_key`).
//!
//! | file (under `expanded_folder`) | written by | context key | type |
//! |---|---|---|---|
//! | `manifest.json` | ExpandArticle, rewritten by ApplyVersionNumber | `manifest_key` | [`PackageManifest`] |
//! | `images.json`   | ResizeImages  | `images_key` | [`ImagesManifest`] |
//! | `assets.json`   | DepositAssets | `assets_key` | [`AssetsManifest`] |
//!
//! A manifest that is missing or does not parse is a permanent failure
//! naming its key ([`Error::Manifest`]): the step that wrote it has
//! completed, so retrying the reader cannot bring it back. Transient store
//! errors stay retryable.

use crate::article::{self as a, keys};
use crate::error::{Error, Result};
use crate::{ActivityContext, Env};
use pressbot_core::backend::{ObjectMeta, PutOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The package manifest's file name in the expanded folder.
pub const PACKAGE_MANIFEST: &str = "manifest.json";
/// The web images manifest's file name in the expanded folder.
pub const IMAGES_MANIFEST: &str = "images.json";
/// The deposited assets manifest's file name in the expanded folder.
pub const ASSETS_MANIFEST: &str = "assets.json";

/// Names pressbot itself writes into an expanded folder; a package file of
/// one of these names would be overwritten, so ExpandArticle refuses it.
pub const RESERVED_NAMES: &[&str] = &[
    PACKAGE_MANIFEST,
    IMAGES_MANIFEST,
    ASSETS_MANIFEST,
    crate::naming::ARTICLE_JSON,
];

/// The format version written in every manifest, so a reader can tell an
/// older layout apart if the format ever changes.
pub const FORMAT: u32 = 1;

/// The key of a manifest file in an expanded folder.
pub fn key_in(folder: &str, file: &str) -> String {
    if folder.is_empty() {
        file.to_owned()
    } else {
        format!("{folder}/{file}")
    }
}

// ------------------------------------------------------------ package

/// What a file of the package is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// The article's JATS XML.
    Xml,
    /// The article PDF.
    Pdf,
    /// An image ResizeImages converts (TIFF, PNG, JPEG).
    Figure,
    /// Everything else: supplementary files, figure PDFs, videos...
    Supplementary,
}

/// One file of the expanded package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Its key in the expanded bucket (`<folder>/<name>`).
    pub key: String,
    /// Its file name in the expanded folder (after ApplyVersionNumber: with
    /// the workflow's `-v<version>`).
    pub name: String,
    /// The entry's path in the zip, as supplied (`figures/elife-00353-fig1.tif`):
    /// ApplyVersionNumber renames from this, so a retried attempt computes
    /// the same names.
    pub zip_path: String,
    pub role: FileRole,
    /// By extension (see [`crate::article::content_type`]).
    pub media_type: String,
    /// Bytes, as decompressed.
    pub size: u64,
}

/// `manifest.json`: every file of the package, with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageManifest {
    pub format: u32,
    /// The package's file name (`elife-00353-vor-r1.zip`).
    pub package: String,
    pub article_id: String,
    pub version: u32,
    /// The expanded folder (`<article id>.<version>/<run>`).
    pub folder: String,
    /// In zip order.
    pub files: Vec<ManifestFile>,
}

impl PackageManifest {
    fn with_role(&self, role: FileRole) -> impl Iterator<Item = &ManifestFile> {
        self.files.iter().filter(move |f| f.role == role)
    }

    /// The JATS XML (ExpandArticle refuses a package without one).
    pub fn xml(&self) -> Option<&ManifestFile> {
        self.with_role(FileRole::Xml).next()
    }

    pub fn pdf(&self) -> Option<&ManifestFile> {
        self.with_role(FileRole::Pdf).next()
    }

    pub fn figures(&self) -> impl Iterator<Item = &ManifestFile> {
        self.with_role(FileRole::Figure)
    }

    pub fn supplementary(&self) -> impl Iterator<Item = &ManifestFile> {
        self.with_role(FileRole::Supplementary)
    }
}

// ------------------------------------------------------------ images

/// One web JPEG of a figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    /// The JPEG's actual pixel width (the requested width, or less for a
    /// figure narrower than that: images are never scaled up).
    pub width: u32,
    /// The JPEG's actual pixel height.
    pub height: u32,
    /// Its key in the expanded bucket.
    pub key: String,
    /// Its file name (also its name on the CDN): `elife-00353-fig1-v1-617w.jpg`.
    pub filename: String,
    /// The configured width named in `filename` (`617` for `-617w`).
    pub requested_width: u32,
}

/// One figure and its web JPEGs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFile {
    /// The figure's key in the expanded bucket.
    pub source: String,
    /// The figure's file name (`elife-00353-fig1-v1.tif`).
    pub name: String,
    /// The figure's own pixel size.
    pub width: u32,
    pub height: u32,
    /// In the order of `activities.image_widths`.
    pub renditions: Vec<Rendition>,
}

/// `images.json`: every figure's web renditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesManifest {
    pub format: u32,
    pub folder: String,
    pub images: Vec<ImageFile>,
}

impl ImagesManifest {
    /// The figure a JATS reference names: by file name, or by file name
    /// without extension (`<graphic xlink:href="elife-00353-fig1-v1"/>`),
    /// ignoring any folder in the reference.
    pub fn find(&self, reference: &str) -> Option<&ImageFile> {
        let reference = a::file_part(reference);
        self.images
            .iter()
            .find(|i| i.name == reference)
            .or_else(|| {
                self.images.iter().find(|i| {
                    i.name
                        .rsplit_once('.')
                        .is_some_and(|(stem, _)| stem == reference)
                })
            })
    }
}

// ------------------------------------------------------------ assets

/// One file deposited on the CDN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Key in the CDN bucket.
    pub key: String,
    pub url: String,
    pub content_type: String,
    pub size: u64,
    /// The key in the expanded bucket it was copied from.
    pub source: String,
}

/// `assets.json`: everything DepositAssets put on the CDN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetsManifest {
    pub format: u32,
    pub article_id: String,
    pub assets: Vec<Asset>,
}

// ------------------------------------------------------------ read / write

/// Parse a manifest's bytes; `key` names it in the error.
pub fn parse<T: DeserializeOwned>(key: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Manifest {
        key: key.to_owned(),
        problem: format!("malformed: {e}"),
    })
}

/// Read a manifest from the expanded bucket. A missing object is a
/// permanent [`Error::Manifest`]; other store errors keep their kind.
pub async fn read<T: DeserializeOwned>(env: &Env, key: &str) -> Result<T> {
    let bucket = a::bucket(env, "expanded")?;
    let body = match env.backend.objects.get(&bucket, key).await {
        Ok(o) => o.body,
        Err(pressbot_core::Error::NotFound { .. }) => {
            return Err(Error::Manifest {
                key: key.to_owned(),
                problem: format!("missing from bucket {bucket}"),
            })
        }
        Err(e) => return Err(Error::store("get", &bucket, key, e)),
    };
    parse(key, &body)
}

/// Write a manifest to the expanded bucket (pretty JSON: operators read them).
pub async fn write<T: Serialize>(env: &Env, key: &str, manifest: &T) -> Result<ObjectMeta> {
    let bucket = a::bucket(env, "expanded")?;
    let body = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Manifest {
        key: key.to_owned(),
        problem: format!("cannot serialise: {e}"),
    })?;
    a::put(
        env,
        &bucket,
        key,
        bytes::Bytes::from(body),
        PutOptions {
            content_type: Some("application/json".into()),
            cache_control: None,
        },
    )
    .await
}

/// Read the manifest whose key is the context's `ctx_key`; returns the key too.
pub async fn read_from_context<T: DeserializeOwned>(
    env: &Env,
    ctx: &ActivityContext,
    ctx_key: &str,
) -> Result<(String, T)> {
    let key = a::ctx_str(ctx, ctx_key)?;
    let manifest = read(env, &key).await?;
    Ok((key, manifest))
}

/// The package manifest of the run (`manifest_key`).
pub async fn package(env: &Env, ctx: &ActivityContext) -> Result<(String, PackageManifest)> {
    read_from_context(env, ctx, keys::MANIFEST_KEY).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> ImageFile {
        ImageFile {
            source: format!("f/{name}"),
            name: name.to_owned(),
            width: 10,
            height: 5,
            renditions: Vec::new(),
        }
    }

    #[test]
    fn images_are_found_by_reference_with_or_without_extension() {
        let m = ImagesManifest {
            format: FORMAT,
            folder: "f".into(),
            images: vec![image("elife-1-fig1-v1.tif"), image("elife-1-fig10-v1.png")],
        };
        assert_eq!(
            m.find("elife-1-fig1-v1").map(|i| i.name.as_str()),
            Some("elife-1-fig1-v1.tif")
        );
        assert_eq!(
            m.find("elife-1-fig10-v1.png").map(|i| i.name.as_str()),
            Some("elife-1-fig10-v1.png")
        );
        assert!(m.find("elife-1-fig2-v1").is_none());
    }

    #[test]
    fn malformed_manifests_name_their_key() {
        let e = parse::<PackageManifest>("00353.1/r/manifest.json", b"{\"files\": 3}").unwrap_err();
        assert!(matches!(e, Error::Manifest { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("manifest 00353.1/r/manifest.json: malformed"),
            "{e}"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn manifests_round_trip() {
        let m = PackageManifest {
            format: FORMAT,
            package: "elife-1-vor-r1.zip".into(),
            article_id: "1".into(),
            version: 2,
            folder: "1.2/r".into(),
            files: vec![ManifestFile {
                key: "1.2/r/elife-1-v2.xml".into(),
                name: "elife-1-v2.xml".into(),
                zip_path: "elife-1.xml".into(),
                role: FileRole::Xml,
                media_type: "application/xml".into(),
                size: 4,
            }],
        };
        let body = serde_json::to_vec(&m).unwrap();
        let back: PackageManifest = parse("k", &body).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.xml().map(|f| f.size), Some(4));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["files"][0]["role"], "xml");
        assert_eq!(v["files"][0]["media_type"], "application/xml");
    }
}
