//! Reading an RFC 1035 zone file a few hundred records at a time.
//!
//! hickory's zone parser reads a whole file into one map of record sets, which for a zone
//! of 100,000 records is hundreds of megabytes at its peak. Here the file is split into
//! entries (comments, quotes, parentheses and directives handled), each record entry is
//! rewritten as one self-contained line (absolute owner, TTL, class and type made
//! explicit, the data tokens unchanged), and batches of such lines go through hickory's
//! parser, which is still what interprets the record data. Each batch's records are
//! handed on before the next batch is parsed, so memory stays small, and the line of
//! every entry is known for error messages.
//!
//! The semantics are hickory's: a blank owner repeats the previous one, `@` is the
//! origin, a record without TTL takes `$TTL` or else the last TTL given, the class
//! carries over, `$INCLUDE file` (without an origin) reads a file relative to the
//! including one and the origin it sets stays set afterwards; an entry with an owner and
//! no type is ignored.
//!
//! Two entry points: [`read`] for a zone file ([`crate::ZoneSpec::from_zone_file`]) and
//! [`parse_records`] for record lines held elsewhere (a configuration's static records),
//! which have no file: there a relative `$INCLUDE` is an error, as in hickory.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_proto::serialize::txt::{Parser, parse_ttl};

/// Record entries parsed by hickory at once.
const BATCH: usize = 512;

/// How deep `$INCLUDE`s may nest.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Zone text that does not parse: the line of the failing entry (its last line) in the
/// top-level text, and hickory's or our description.
///
/// Displays the description only: callers name the place their own way (a file and
/// line, a configuration key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ZoneSyntaxError {
    /// 1-based line of the failing entry (the line its last token is on), when known. An
    /// error inside an `$INCLUDE`d file is reported at the `$INCLUDE` line.
    pub line: Option<usize>,
    /// What is wrong (for an `$INCLUDE`d file, prefixed with its path and line).
    pub message: String,
}

/// Parses `text`, zone-file lines holding records, as a zone file's records are parsed
/// (hickory's parser, the same batching and rules as [`crate::ZoneSpec::from_zone_file`]):
/// relative names are relative to `origin` (`@` is `origin`), a record without a TTL gets
/// `default_ttl` (as after `$TTL`), the class may be left out; `$ORIGIN` and `$TTL` may
/// appear, and `$INCLUDE` only with an absolute path (there is no file to be relative
/// to).
///
/// No zone rules are checked here (a SOA at the origin, names inside it):
/// [`crate::Snapshot::build`] leaves out what it cannot serve, with the reason. An error
/// gives the line of the failing entry in `text`.
pub fn parse_records(
    origin: &Name,
    default_ttl: u32,
    text: &str,
) -> Result<Vec<Record>, ZoneSyntaxError> {
    let mut records = Vec::new();
    let mut origin = origin.clone();
    origin.set_fqdn(true);
    let mut sink = |record| {
        records.push(record);
        Ok(())
    };
    let mut reader = Reader::new(&origin, Some(default_ttl), &mut sink);
    reader.read_text(text, None, 0, None)?;
    reader.flush()?;
    Ok(records)
}

/// Reads the zone file `text` (named `path`, for `$INCLUDE`s), calling `sink` with every
/// record in file order (by batch).
pub(crate) fn read(
    text: &str,
    path: &Path,
    origin: &Name,
    sink: &mut dyn FnMut(Record) -> Result<(), ZoneSyntaxError>,
) -> Result<(), ZoneSyntaxError> {
    let mut reader = Reader::new(origin, None, sink);
    reader.read_text(text, Some(path), 0, None)?;
    reader.flush()
}

struct Reader<'s> {
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// The class token of the previous record.
    class: String,
    /// The owner of the previous record, as written (resolved to absolute text when the
    /// origin changes).
    owner: Option<String>,
    /// Record lines waiting for hickory.
    batch: String,
    /// The top-level line of each record line in `batch`.
    lines: Vec<usize>,
    sink: &'s mut dyn FnMut(Record) -> Result<(), ZoneSyntaxError>,
}

impl<'s> Reader<'s> {
    /// A reader at `origin`; `default_ttl` as if `$TTL` had been given.
    fn new(
        origin: &Name,
        default_ttl: Option<u32>,
        sink: &'s mut dyn FnMut(Record) -> Result<(), ZoneSyntaxError>,
    ) -> Self {
        Reader {
            origin: origin.clone(),
            default_ttl,
            last_ttl: None,
            class: "IN".to_owned(),
            owner: None,
            batch: String::new(),
            lines: Vec::new(),
            sink,
        }
    }

    /// `path`: the file `text` was read from, `None` for text that is not from a file.
    /// `include_line`: for an included file, the line of the top-level `$INCLUDE`, where
    /// its errors are reported.
    fn read_text(
        &mut self,
        text: &str,
        path: Option<&Path>,
        depth: usize,
        include_line: Option<usize>,
    ) -> Result<(), ZoneSyntaxError> {
        let mut entries = Entries::new(text);
        loop {
            let entry = match entries.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => return Ok(()),
                Err((line, message)) => {
                    return Err(located(include_line, line, path, message));
                }
            };
            let line = include_line.unwrap_or(entry.last_line);
            let fail = |message: String| located(include_line, entry.last_line, path, message);
            let first = entry.tokens[0];
            if !entry.blank_owner && first.starts_with('$') {
                let argument = entry.tokens.get(1).copied();
                match (first.to_ascii_uppercase().as_str(), argument) {
                    ("$ORIGIN", Some(origin)) => {
                        let origin = Name::parse(origin, None).map_err(|e| fail(e.to_string()))?;
                        self.set_origin(origin)?;
                    }
                    ("$TTL", Some(ttl)) => {
                        self.default_ttl = Some(parse_ttl(ttl).map_err(|e| fail(e.to_string()))?);
                    }
                    ("$INCLUDE", Some(file)) => {
                        if entry.tokens.len() > 2 {
                            return Err(fail(
                                "Domain name for $INCLUDE is not supported".to_owned(),
                            ));
                        }
                        if depth >= MAX_INCLUDE_DEPTH {
                            return Err(fail(
                                "Max depth level for nested $INCLUDE is reached".to_owned(),
                            ));
                        }
                        let included = resolve_include(path, file).ok_or_else(|| {
                            fail(format!(
                                "$INCLUDE {file}: a relative path needs a zone file"
                            ))
                        })?;
                        let text = std::fs::read_to_string(&included).map_err(|e| {
                            fail(format!("cannot read {}: {e}", included.display()))
                        })?;
                        self.read_text(&text, Some(&included), depth + 1, Some(line))?;
                    }
                    _ => return Err(fail(format!("unexpected directive {first}"))),
                }
                continue;
            }
            self.record(&entry.tokens, entry.blank_owner, line)
                .map_err(fail)?;
            if self.lines.len() >= BATCH {
                self.flush()?;
            }
        }
    }

    /// Adds one record entry to the batch.
    fn record(&mut self, tokens: &[&str], blank_owner: bool, line: usize) -> Result<(), String> {
        let rest = if blank_owner {
            if self.owner.is_none() {
                return Err("record name not specified".to_owned());
            }
            tokens
        } else {
            let owner = tokens[0];
            self.owner = Some(if owner == "@" {
                self.origin.to_ascii()
            } else {
                owner.to_owned()
            });
            &tokens[1..]
        };
        let mut this_ttl = None;
        let mut record_type = None;
        for (i, token) in rest.iter().enumerate() {
            if let Ok(ttl) = parse_ttl(token) {
                this_ttl = Some(ttl);
                continue;
            }
            let upper = token.to_ascii_uppercase();
            if DNSClass::from_str(&upper).is_ok() {
                self.class.clear();
                self.class.push_str(token);
                continue;
            }
            RecordType::from_str(&upper).map_err(|e| e.to_string())?;
            record_type = Some((token, &rest[i + 1..]));
            break;
        }
        if let Some(ttl) = this_ttl {
            self.last_ttl = Some(ttl);
        }
        // An owner (and TTL or class) without a type: hickory ignores the line.
        let Some((record_type, data)) = record_type else {
            return Ok(());
        };
        let ttl = this_ttl
            .or(self.default_ttl)
            .or(self.last_ttl)
            .ok_or_else(|| "record ttl not specified".to_owned())?;
        let owner = self.owner.as_deref().unwrap_or("@");
        let batch = &mut self.batch;
        batch.push_str(owner);
        batch.push(' ');
        batch.push_str(&ttl.to_string());
        batch.push(' ');
        batch.push_str(&self.class);
        batch.push(' ');
        batch.push_str(record_type);
        for token in data {
            batch.push(' ');
            batch.push_str(token);
        }
        batch.push('\n');
        self.lines.push(line);
        Ok(())
    }

    fn set_origin(&mut self, origin: Name) -> Result<(), ZoneSyntaxError> {
        self.flush()?;
        // A blank owner after the directive still means the previous owner.
        if let Some(owner) = &self.owner
            && let Ok(absolute) = Name::parse(owner, Some(&self.origin))
        {
            self.owner = Some(absolute.to_ascii());
        }
        self.origin = origin;
        Ok(())
    }

    /// Parses the batch with hickory and hands its records on.
    fn flush(&mut self) -> Result<(), ZoneSyntaxError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.batch);
        let lines = std::mem::take(&mut self.lines);
        match parse(&self.origin, &text) {
            Ok(records) => {
                for record in records {
                    (self.sink)(record)?;
                }
                self.batch = text;
                self.batch.clear();
                self.lines = lines;
                self.lines.clear();
                Ok(())
            }
            Err(message) => Err(self.locate(&text, &lines, message)),
        }
    }

    /// The first record line of a failed batch that fails on its own (or with the lines
    /// before it, for errors between records).
    fn locate(&self, text: &str, lines: &[usize], message: String) -> ZoneSyntaxError {
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        let (mut low, mut high) = (1, ends.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if parse(&self.origin, &text[..ends[mid - 1]]).is_err() {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        let failing = low.min(ends.len());
        let start = if failing >= 2 { ends[failing - 2] } else { 0 };
        let message = parse(&self.origin, &text[start..ends[failing - 1]])
            .err()
            .unwrap_or(message);
        ZoneSyntaxError {
            line: lines.get(failing - 1).copied(),
            message,
        }
    }
}

/// hickory's parser on self-contained record lines.
fn parse(origin: &Name, lines: &str) -> Result<Vec<Record>, String> {
    let text = format!("$ORIGIN {}\n{lines}", origin.to_ascii());
    let (_, sets) = Parser::new(text, None, Some(origin.clone()))
        .parse()
        .map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    for set in sets.into_values() {
        records.extend(set.records_without_rrsigs().cloned());
    }
    Ok(records)
}

fn located(
    include_line: Option<usize>,
    line: usize,
    path: Option<&Path>,
    message: String,
) -> ZoneSyntaxError {
    match (include_line, path) {
        (Some(at), Some(path)) => ZoneSyntaxError {
            line: Some(at),
            message: format!("in {}:{line}: {message}", path.display()),
        },
        _ => ZoneSyntaxError {
            line: Some(include_line.unwrap_or(line)),
            message,
        },
    }
}

/// The file an `$INCLUDE` names: an absolute path as it is, a relative one against the
/// including file's directory; `None` for a relative path in text that is not from a
/// file.
fn resolve_include(path: Option<&Path>, file: &str) -> Option<PathBuf> {
    let file = Path::new(file);
    if file.is_absolute() {
        return Some(file.to_owned());
    }
    Some(path?.parent().unwrap_or(Path::new(".")).join(file))
}

/// One logical entry: a directive or a record, possibly over several lines.
struct Entry<'t> {
    last_line: usize,
    blank_owner: bool,
    tokens: Vec<&'t str>,
}

/// Splits zone-file text into entries.
struct Entries<'t> {
    text: &'t str,
    at: usize,
    line: usize,
}

impl<'t> Entries<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The next entry with at least one token; `Err((line, message))` for an unclosed
    /// parenthesis or quote.
    fn next_entry(&mut self) -> Result<Option<Entry<'t>>, (usize, String)> {
        let bytes = self.text.as_bytes();
        loop {
            if self.at >= bytes.len() {
                return Ok(None);
            }
            let blank_owner = matches!(bytes[self.at], b' ' | b'\t');
            let mut tokens = Vec::new();
            let mut depth = 0usize;
            let mut open_line = self.line;
            let mut last_line = self.line;
            loop {
                let Some(&byte) = bytes.get(self.at) else {
                    if depth > 0 {
                        return Err((open_line, "unclosed parenthesis".to_owned()));
                    }
                    break;
                };
                match byte {
                    b'\n' => {
                        self.at += 1;
                        self.line += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b' ' | b'\t' | b'\r' => self.at += 1,
                    b';' => {
                        while self.at < bytes.len() && bytes[self.at] != b'\n' {
                            self.at += 1;
                        }
                    }
                    b'(' => {
                        if depth == 0 {
                            open_line = self.line;
                        }
                        depth += 1;
                        self.at += 1;
                    }
                    b')' => {
                        if depth == 0 {
                            return Err((self.line, "unexpected ')'".to_owned()));
                        }
                        depth -= 1;
                        self.at += 1;
                    }
                    b'"' => {
                        let start = self.at;
                        let start_line = self.line;
                        self.at += 1;
                        loop {
                            match bytes.get(self.at) {
                                None => {
                                    return Err((start_line, "unclosed quoted string".to_owned()));
                                }
                                Some(b'\\') => {
                                    if bytes.get(self.at + 1) == Some(&b'\n') {
                                        self.line += 1;
                                    }
                                    self.at += 2;
                                }
                                Some(b'"') => {
                                    self.at += 1;
                                    break;
                                }
                                Some(b'\n') => {
                                    self.line += 1;
                                    self.at += 1;
                                }
                                Some(_) => self.at += 1,
                            }
                        }
                        last_line = self.line;
                        tokens.push(&self.text[start..self.at.min(bytes.len())]);
                    }
                    _ => {
                        let start = self.at;
                        while let Some(&byte) = bytes.get(self.at) {
                            match byte {
                                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                                b'\\' => self.at += 2,
                                _ => self.at += 1,
                            }
                        }
                        self.at = self.at.min(bytes.len());
                        last_line = self.line;
                        tokens.push(&self.text[start..self.at]);
                    }
                }
            }
            if !tokens.is_empty() {
                return Ok(Some(Entry {
                    last_line,
                    blank_owner,
                    tokens,
                }));
            }
        }
    }
}
