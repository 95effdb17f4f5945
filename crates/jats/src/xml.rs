//! The XML tree the converter walks, and its parser.
//!
//! Security: a DTD is never fetched and entities are never expanded. A
//! `<!DOCTYPE>` that declares anything (`<!ENTITY`, an internal subset) is
//! refused, and a reference to any entity other than XML's five predefined
//! ones (or a character reference) is an error, so neither XXE
//! (`SYSTEM "file:///etc/passwd"`) nor billion-laughs can do anything.

use crate::error::{Error, Result};
use quick_xml::events::Event;

/// How deep elements may nest before the document is refused (the tree
/// walkers recurse; real JATS stays far below this).
pub const MAX_DEPTH: usize = 256;

// ---------------------------------------------------------------- tree

/// An element of the parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Qualified name as written (`article-title`, `mml:math`).
    pub name: String,
    /// Attributes with qualified names, unescaped.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Follow a `/`-separated path of child names.
    pub fn path(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |e, step| e.child(step))
    }

    /// Every descendant element with this name, in document order, without
    /// descending into elements named in `skip`.
    pub fn descendants<'a>(&'a self, name: &str, skip: &[&str], out: &mut Vec<&'a Element>) {
        for e in self.elements() {
            if skip.contains(&e.name.as_str()) {
                continue;
            }
            if e.name == name {
                out.push(e);
            }
            e.descendants(name, skip, out);
        }
    }

    /// All text, whitespace collapsed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.collect_text(&mut s, &[]);
        collapse_ws(&s)
    }

    /// All text except inside the named elements, whitespace collapsed.
    pub fn text_without(&self, skip: &[&str]) -> String {
        let mut s = String::new();
        self.collect_text(&mut s, skip);
        collapse_ws(&s)
    }

    fn collect_text(&self, out: &mut String, skip: &[&str]) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) if !skip.contains(&e.name.as_str()) => e.collect_text(out, skip),
                Node::Element(_) => {}
            }
        }
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parse XML into a tree; the root element is returned. See the module
/// docs for what is refused.
pub fn parse(xml: &[u8], file: &str) -> Result<Element> {
    let err = |pos: u64, message: String| Error::Xml {
        file: file.to_owned(),
        position: pos,
        message,
    };
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let push_node = |stack: &mut Vec<Element>, node: Node| {
        if let Some(top) = stack.last_mut() {
            if let (Node::Text(t), Some(Node::Text(prev))) = (&node, top.children.last_mut()) {
                prev.push_str(t);
                return;
            }
            top.children.push(node);
        }
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(reader.error_position(), e.to_string()))?;
        match ev {
            Event::Eof => break,
            Event::DocType(d) => {
                let body: &str = &d;
                if body.contains('[') || body.contains("<!") {
                    return Err(err(
                        pos,
                        "DOCTYPE with an internal subset or entity declarations is refused (DTDs are never processed)".into(),
                    ));
                }
            }
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(err(pos, "content after the root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(pos, format!("elements nest deeper than {MAX_DEPTH}")));
                }
                stack.push(start_element(&e).map_err(|m| err(pos, m))?);
            }
            Event::Empty(e) => {
                let el = start_element(&e).map_err(|m| err(pos, m))?;
                if stack.is_empty() {
                    root = Some(el);
                } else {
                    push_node(&mut stack, Node::Element(el));
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| err(pos, "unexpected end tag".into()))?;
                if stack.is_empty() {
                    root = Some(el);
                } else {
                    push_node(&mut stack, Node::Element(el));
                }
            }
            Event::Text(t) => {
                // The raw text, line ends as written (the reader has
                // already refused input that is not UTF-8).
                let s = t.into_inner();
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err(err(pos, "text outside the root element".into()));
                    }
                } else {
                    push_node(&mut stack, Node::Text(s.into_owned()));
                }
            }
            Event::CData(c) => {
                let s = c.into_inner();
                push_node(&mut stack, Node::Text(s.into_owned()));
            }
            Event::GeneralRef(r) => {
                let s = if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .map_err(|e| err(pos, e.to_string()))?
                        .ok_or_else(|| err(pos, "bad character reference".into()))?;
                    c.to_string()
                } else {
                    let name: &str = &r;
                    match quick_xml::escape::resolve_predefined_entity(name) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(err(
                                pos,
                                format!("reference to undeclared entity &{name}; (entities are never expanded)"),
                            ))
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(err(pos, "entity reference outside the root element".into()));
                }
                push_node(&mut stack, Node::Text(s));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            reader.buffer_position(),
            format!("document ends inside <{}>", open.name),
        ));
    }
    root.ok_or_else(|| err(0, "no root element".into()))
}

fn start_element(e: &quick_xml::events::BytesStart<'_>) -> std::result::Result<Element, String> {
    let name = e.name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("<{name}>: {e}"))?;
        let key = a.key.as_ref().to_owned();
        // Predefined entities and character references only, whitespace
        // kept as written (no attribute-value normalisation).
        let value = quick_xml::escape::unescape(&a.value)
            .map_err(|e| format!("<{name} {key}>: {e} (entities are never expanded)"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
    })
}
