//! A spanned YAML node tree read with serde-saphyr, the input of [`super::convert`].
//!
//! serde-saphyr parses (YAML 1.1 booleans, legacy octal, merge keys expanded) and hands every
//! node to [`Raw`] through `deserialize_any`, wrapped in its `Spanned` so each node keeps its
//! location. Duplicate keys are passed through (`DuplicateKeyPolicy::PassThrough`), so the
//! converter sees them, warns, and keeps the last one as yaml.v2 does.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned as SaphyrSpanned};

use crate::source::Source;

/// What serde-saphyr hands over for one node.
#[derive(Debug)]
enum Raw {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<SaphyrSpanned<Raw>>),
    Map(Vec<(SaphyrSpanned<Raw>, SaphyrSpanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// A YAML node with its byte spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The value.
    pub kind: Kind,
    /// Where the node is used. For a collection: from its start to the end of its last child.
    pub span: Range<usize>,
    /// Where the node is defined (differs from `span` for aliases and merged entries).
    pub defined: Range<usize>,
    /// The node came from an alias or a merge key rather than from this place in the text.
    pub borrowed: bool,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null` or nothing.
    Null,
    /// A boolean (YAML 1.1 spellings included).
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string (quoted, block or plain non-numeric scalar).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in order (merged entries after the explicit ones).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// How the node is described in messages: "a string", "a list", …
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// yaml.v2's tag for the node, used to quote acb's own message.
    pub fn yaml_tag(&self) -> &'static str {
        match self.kind {
            Kind::Null => "!!null",
            Kind::Bool(_) => "!!bool",
            Kind::Int(_) => "!!int",
            Kind::Float(_) => "!!float",
            Kind::Str(_) => "!!str",
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
        }
    }

    /// The scalar's text as yaml.v2 gives it to a string field: strings as decoded, other
    /// scalars as written (`0x10`, `yes`, `1.50`), null as empty. `None` for collections.
    pub fn scalar_text(&self, src: &Source) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Null => Some(String::new()),
            Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => {
                let written = src.text.get(self.defined.clone()).unwrap_or_default();
                let written = written.trim();
                let unquoted = written
                    .strip_prefix('"')
                    .and_then(|w| w.strip_suffix('"'))
                    .or_else(|| {
                        written
                            .strip_prefix('\'')
                            .and_then(|w| w.strip_suffix('\''))
                    })
                    .unwrap_or(written);
                if unquoted.is_empty() {
                    // No usable source text: fall back to the decoded value.
                    Some(match &self.kind {
                        Kind::Bool(b) => b.to_string(),
                        Kind::Int(i) => i.to_string(),
                        Kind::Float(f) => f.to_string(),
                        _ => String::new(),
                    })
                } else {
                    Some(unquoted.to_owned())
                }
            }
            Kind::Seq(_) | Kind::Map(_) => None,
        }
    }
}

/// A YAML syntax error: message (without position) and byte offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    /// serde-saphyr's message, without the trailing ` at line N, column M`.
    pub message: String,
    /// Byte offset of the error.
    pub offset: usize,
}

/// Parses `src` into the node of its first document (`None` for an empty document).
pub(crate) fn parse(src: &Source) -> Result<Option<Node>, SyntaxError> {
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        merge_keys: serde_saphyr::MergeKeyPolicy::Merge,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        with_snippet: false,
    };
    match serde_saphyr::from_multiple_with_options::<SaphyrSpanned<Raw>>(&src.text, options) {
        // yaml.v2's Unmarshal decodes the first document only.
        Ok(docs) => Ok(docs.into_iter().next().map(|d| convert(d, src))),
        Err(err) => Err(syntax_error(&err, src)),
    }
}

fn syntax_error(err: &serde_saphyr::Error, src: &Source) -> SyntaxError {
    let text = err.without_snippet().to_string();
    let location = err.location();
    let message = match text.rfind(" at line ") {
        Some(i) if location.is_some() => text[..i].to_owned(),
        _ => text,
    };
    let offset = location.map_or(src.text.len(), |loc| {
        let (range, _) = byte_range(&loc, src);
        range.start
    });
    SyntaxError { message, offset }
}

/// Byte range of a location, and whether the location is known.
fn byte_range(loc: &Location, src: &Source) -> (Range<usize>, bool) {
    if *loc == Location::UNKNOWN {
        return (0..0, false);
    }
    let span = loc.span();
    let len = src.text.len();
    if let (Some(off), Some(l)) = (span.byte_offset(), span.byte_len()) {
        let start = usize::try_from(off).unwrap_or(len).min(len);
        let end = usize::try_from(off.saturating_add(l))
            .unwrap_or(len)
            .clamp(start, len);
        return (start..end, true);
    }
    let line = usize::try_from(loc.line()).unwrap_or(usize::MAX);
    let col = usize::try_from(loc.column()).unwrap_or(usize::MAX);
    let start = src.offset_of(line, col);
    (start..start, true)
}

fn convert(raw: SaphyrSpanned<Raw>, src: &Source) -> Node {
    let (mut span, known) = byte_range(&raw.referenced, src);
    let (defined, def_known) = byte_range(&raw.defined, src);
    let defined = if def_known { defined } else { span.clone() };
    let borrowed = known && def_known && raw.referenced != raw.defined;
    let kind = match raw.value {
        Raw::Null => Kind::Null,
        Raw::Bool(b) => Kind::Bool(b),
        Raw::Int(i) => Kind::Int(i),
        Raw::Float(f) => Kind::Float(f),
        Raw::Str(s) => Kind::Str(s),
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| convert(i, src)).collect()),
        Raw::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, src), convert(v, src)))
                .collect(),
        ),
    };
    // Collections get a zero-width span at their start: extend it over the children.
    let children_end = match &kind {
        Kind::Seq(items) => items.iter().map(|n| n.span.end).max(),
        Kind::Map(entries) => entries.iter().map(|(_, v)| v.span.end).max(),
        _ => None,
    };
    if let Some(end) = children_end
        && end > span.end
    {
        span.end = end;
    }
    // A flow collection ends at its closing bracket.
    let close = match (&kind, src.text.as_bytes().get(span.start)) {
        (Kind::Seq(_), Some(b'[')) => Some(']'),
        (Kind::Map(_), Some(b'{')) => Some('}'),
        _ => None,
    };
    if let Some(close) = close
        && let Some(rest) = src.text.get(span.end.max(span.start + 1)..)
        && let Some(i) = rest.find(|c: char| !c.is_whitespace() && c != ',')
        && rest[i..].starts_with(close)
    {
        span.end = span.end.max(span.start + 1) + i + 1;
    }
    // Block scalars include trailing blank space; labels look better without it.
    if let Some(text) = src.text.get(span.clone()) {
        span.end = span.start + text.trim_end().len();
    }
    Node {
        kind,
        span,
        defined,
        borrowed,
    }
}
