//! Funding awards with funder ids, and the funding statement.
//!
//! As elife-tools' `funding_awards_json`: one award per `award-group`
//! (its `id`, else a generated `award-group-N`), the source from the first
//! `funding-source` (institution name, FundRef id as a bare DOI), the
//! first `award-id` (also `awardDoi` when typed `doi`), the recipients
//! from `principal-award-recipient` (`name` → person, `institution` or
//! bare text → group).

use crate::contrib::{name_from, Name};
use crate::cx::Cx;
use crate::front::{bare_doi, is_doi, META};
use crate::html;
use crate::xml::Element;
use crate::{Article, Result};
use serde::Serialize;

/// The model's `funding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Funding {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<Award>,
    /// HTML.
    pub statement: String,
}

/// One award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Award {
    pub id: String,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award_doi: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
}

/// The funder: a place with an optional Funder Registry DOI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub name: Vec<String>,
    /// `10.13039/501100001659`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funder_id: Option<String>,
}

/// Who received an award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Recipient {
    Person { name: Name },
    Group { name: String },
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    let Some(meta) = root.path("front/article-meta") else {
        return Ok(());
    };
    let mut awards = Vec::new();
    let mut statement = String::new();
    let mut generated = 0;
    for (fi, fg) in meta.children_named("funding-group").enumerate() {
        let base = format!("{META}/funding-group[{}]", fi + 1);
        for (ai, ag) in fg.children_named("award-group").enumerate() {
            let path = format!("{base}/award-group[{}]", ai + 1);
            if let Some(a) = award(cx, ag, &path, &mut generated) {
                awards.push(a);
            }
        }
        for s in fg.children_named("funding-statement") {
            let h = html::inline(cx, s, &format!("{base}/funding-statement"));
            if !h.is_empty() {
                if !statement.is_empty() {
                    statement.push(' ');
                }
                statement.push_str(&h);
            }
        }
    }
    if statement.is_empty() {
        if !awards.is_empty() {
            cx.warn(
                format!("{META}/funding-group/funding-statement"),
                format!(
                    "no funding statement, which the model requires: {} award(s) left out",
                    awards.len()
                ),
            );
        }
        return Ok(());
    }
    article.funding = Some(Funding { awards, statement });
    Ok(())
}

fn award(cx: &mut Cx<'_>, ag: &Element, path: &str, generated: &mut u32) -> Option<Award> {
    let id = match ag
        .attr("id")
        .map(str::trim)
        .filter(|i| !i.is_empty() && !i.contains(char::is_whitespace))
    {
        Some(i) => i.to_owned(),
        None => {
            *generated += 1;
            format!("award-group-{generated}")
        }
    };
    let sources: Vec<&Element> = ag.children_named("funding-source").collect();
    if sources.len() > 1 {
        cx.warn(
            format!("{path}/funding-source[2]"),
            "only the first funding source of an award is kept",
        );
    }
    let Some(source) = sources
        .first()
        .and_then(|s| source(cx, s, &format!("{path}/funding-source")))
    else {
        cx.warn(path, "award without a funder name: left out");
        return None;
    };
    let ids: Vec<&Element> = ag.children_named("award-id").collect();
    if ids.len() > 1 {
        cx.warn(
            format!("{path}/award-id[2]"),
            "only the first award id is kept",
        );
    }
    let award_id = ids.first().map(|e| e.text()).filter(|t| !t.is_empty());
    let award_doi = match (ids.first().and_then(|e| e.attr("award-id-type")), &award_id) {
        (Some("doi"), Some(a)) => {
            let d = bare_doi(a);
            if is_doi(&d) {
                Some(d)
            } else {
                cx.warn(
                    format!("{path}/award-id"),
                    format!("{a:?} is typed doi but is not a DOI"),
                );
                None
            }
        }
        _ => None,
    };
    let mut recipients = Vec::new();
    for (ri, r) in ag.children_named("principal-award-recipient").enumerate() {
        recipients_of(
            cx,
            r,
            &format!("{path}/principal-award-recipient[{}]", ri + 1),
            &mut recipients,
        );
    }
    Some(Award {
        id,
        source,
        award_id,
        award_doi,
        recipients,
    })
}

/// A funding source: `institution-wrap` (institution + institution-id)
/// or bare text.
fn source(cx: &mut Cx<'_>, fs: &Element, path: &str) -> Option<Source> {
    let mut insts = Vec::new();
    fs.descendants("institution", &[], &mut insts);
    let name = match insts.first() {
        Some(i) => html::inline(cx, i, &format!("{path}/institution")),
        None => {
            let bare = Element {
                name: fs.name.clone(),
                attrs: Vec::new(),
                children: fs
                    .children
                    .iter()
                    .filter(|n| !matches!(n, crate::xml::Node::Element(e) if e.name == "institution-id"))
                    .cloned()
                    .collect(),
            };
            html::inline(cx, &bare, path)
        }
    };
    if name.is_empty() {
        return None;
    }
    let mut ids = Vec::new();
    fs.descendants("institution-id", &[], &mut ids);
    let mut funder_id = None;
    for i in ids {
        let raw = i.text();
        let d = bare_doi(&raw);
        // FundRef (Crossref Funder Registry) ids are DOIs; ROR ids and
        // others have no place in the model.
        if is_doi(&d)
            && matches!(
                i.attr("institution-id-type"),
                None | Some("FundRef" | "fundref" | "doi" | "DOI")
            )
        {
            funder_id = funder_id.or(Some(d));
        } else {
            cx.warn(
                format!("{path}/institution-id"),
                format!("{raw:?} is no Funder Registry DOI: left out"),
            );
        }
    }
    Some(Source {
        name: vec![name],
        funder_id,
    })
}

fn recipients_of(cx: &mut Cx<'_>, r: &Element, path: &str, out: &mut Vec<Recipient>) {
    let mut any = false;
    for c in r.elements() {
        let cpath = format!("{path}/{}", c.name);
        match c.name.as_str() {
            "name" | "string-name" => {
                any = true;
                match name_from(cx, c, &cpath) {
                    Some(name) => out.push(Recipient::Person { name }),
                    None => cx.warn(&cpath, "empty recipient name: left out"),
                }
            }
            "institution" | "collab" => {
                any = true;
                let h = html::inline(cx, c, &cpath);
                if !h.is_empty() {
                    out.push(Recipient::Group { name: h });
                }
            }
            _ => {}
        }
    }
    if !any {
        // A loose institution name, not inside <institution>.
        let h = html::inline(cx, r, path);
        if !h.is_empty() {
            out.push(Recipient::Group { name: h });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use serde_json::{json, Value};

    fn run(funding: &str) -> (Value, Vec<crate::Warning>) {
        let xml =
            format!("<article><front><article-meta>{funding}</article-meta></front></article>");
        let root = crate::xml::parse(xml.as_bytes(), "t.xml").unwrap();
        let opts = Options::default();
        let mut cx = Cx::new(&opts, "t.xml");
        let mut a = Article::default();
        fill(&mut cx, &root, &mut a).unwrap();
        (serde_json::to_value(&a.funding).unwrap(), cx.warnings)
    }

    #[test]
    fn award_with_fundref_and_recipients() {
        let (v, w) = run(
            r#"<funding-group><award-group id="fund1"><funding-source><institution-wrap><institution-id institution-id-type="FundRef">http://dx.doi.org/10.13039/501100001700</institution-id><institution>Ministry of <italic>Education</italic></institution></institution-wrap></funding-source><award-id>18K06216</award-id><principal-award-recipient><name><surname>Ninagawa</surname><given-names>Satoshi</given-names></name><institution>Kyoto Lab</institution></principal-award-recipient></award-group><funding-statement>The funders had no role.</funding-statement></funding-group>"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            v,
            json!({"awards": [{"id": "fund1", "source": {"name": ["Ministry of <i>Education</i>"], "funderId": "10.13039/501100001700"}, "awardId": "18K06216", "recipients": [{"type": "person", "name": {"preferred": "Satoshi Ninagawa", "index": "Ninagawa, Satoshi"}}, {"type": "group", "name": "Kyoto Lab"}]}], "statement": "The funders had no role."})
        );
    }

    #[test]
    fn award_without_fundref_bare_source_generated_id_loose_recipient() {
        let (v, _) = run(
            r#"<funding-group><award-group><funding-source>Max Planck Society</funding-source><principal-award-recipient>The Lab</principal-award-recipient></award-group><award-group><funding-source><institution>X</institution></funding-source><award-id award-id-type="doi">10.35802/212242</award-id></award-group><funding-statement>S</funding-statement></funding-group>"#,
        );
        assert_eq!(
            v["awards"],
            json!([
                {"id": "award-group-1", "source": {"name": ["Max Planck Society"]}, "recipients": [{"type": "group", "name": "The Lab"}]},
                {"id": "award-group-2", "source": {"name": ["X"]}, "awardId": "10.35802/212242", "awardDoi": "10.35802/212242"}
            ])
        );
    }

    #[test]
    fn ror_ids_and_nameless_sources_are_warned() {
        let (v, w) = run(
            r#"<funding-group><award-group id="a1"><funding-source><institution-wrap><institution-id institution-id-type="ror">https://ror.org/01cwqze88</institution-id><institution>NIH</institution></institution-wrap></funding-source></award-group><award-group id="a2"><funding-source> </funding-source></award-group><funding-statement>S</funding-statement></funding-group>"#,
        );
        assert_eq!(
            v["awards"],
            json!([{"id": "a1", "source": {"name": ["NIH"]}}])
        );
        assert_eq!(w.len(), 2);
        assert!(w[0].path.ends_with("institution-id"));
        assert!(w[1].path.ends_with("award-group[2]"));
    }

    #[test]
    fn statement_only_and_none() {
        let (v, _) = run(
            r#"<funding-group><funding-statement>No external funding.</funding-statement></funding-group>"#,
        );
        assert_eq!(v, json!({"statement": "No external funding."}));
        let (v, w) = run(
            r#"<funding-group><award-group id="a"><funding-source>F</funding-source></award-group></funding-group>"#,
        );
        assert_eq!(v, Value::Null);
        assert!(w[0].message.contains("1 award"));
        let (v, w) = run("");
        assert_eq!(v, Value::Null);
        assert!(w.is_empty());
    }

    #[test]
    fn hostile_markup_is_escaped() {
        let (v, _) = run(
            r#"<funding-group><award-group id="a"><funding-source>&lt;script&gt;</funding-source></award-group><funding-statement><ext-link xlink:href="javascript:alert(1)">x</ext-link></funding-statement></funding-group>"#,
        );
        assert_eq!(v["awards"][0]["source"]["name"][0], "&lt;script&gt;");
        assert_eq!(v["statement"], "x");
    }
}
