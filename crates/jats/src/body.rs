//! Content blocks: the abstract, digest, body, appendices,
//! acknowledgements and ethics, as the model's nested sections of blocks.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};
use serde::Serialize;

/// One content block (paragraph, section, figure, table, ...).
pub type Block = serde_json::Value;

/// The abstract or the digest: content blocks and their DOI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Abstract {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub content: Vec<Block>,
}

/// An appendix.
pub type Appendix = serde_json::Value;

/// The blocks of an element's content (paragraphs, sections, figures...):
/// what sub-articles and the body share.
pub(crate) fn blocks(cx: &mut Cx<'_>, parent: &Element, path: &str) -> Vec<Block> {
    let mut out = Vec::new();
    for p in parent.children_named("p") {
        out.push(serde_json::json!({"type": "paragraph", "text": crate::html::inline(cx, p, &format!("{path}/p"))}));
    }
    out
}

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
