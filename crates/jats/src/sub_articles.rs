//! Sub-articles: editor's evaluation, eLife assessment, decision letter,
//! recommendations for authors, author response, public reviews.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};

/// One sub-article as the model has it.
pub type SubArticle = serde_json::Value;

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
