//! Front matter: ids, doi, version, type, status, stage, dates, volume,
//! elocation id, title, subjects, keywords, research organisms, impact
//! statement, copyright, PDF links.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};
use serde::Serialize;

/// A subject (eLife's "major subject area") with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub id: String,
    pub name: String,
}

/// The model's `copyright`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Copyright {
    pub license: String,
    /// HTML.
    pub statement: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
