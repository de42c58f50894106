//! Just enough of the PostgreSQL frontend protocol (v3) to tell, in the client→database byte
//! stream, when a statement runs and whether it writes.
//!
//! Why: "the next write" must mean the next SQL statement that changes data, not the next TCP
//! segment. A platform's pool and background pollers send reads all the time (an API-key lookup
//! per request, a queue worker polling every second); a fault that fires on any of them misses the
//! request under test while still being counted as fired.
//!
//! Drivers run statements two ways: the simple protocol (`Q` carries the SQL) and the extended
//! protocol (`P` Parse names a statement and carries its SQL once; every later run of it is only a
//! `B` Bind naming the statement, then `E` Execute). asyncpg caches prepared statements per
//! connection, so after the first request a write is a bare Bind: the parser remembers, per
//! connection, which statement names are writes. A connection that negotiates TLS or GSS
//! encryption cannot be read; it is [`Wire::Opaque`] and every chunk counts as a possible write.

use std::collections::HashMap;

/// Bytes of a message kept for classification (names and the start of the SQL); the rest is only
/// counted, so a large Bind never grows the buffer.
const KEEP: usize = 8 * 1024;
/// Startup-phase request codes (protocol 3.0 uses 196608).
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// A startup-phase message longer than this is not one (a TLS record read as a length is huge).
const MAX_STARTUP: usize = 10_000;

/// Something a chunk of client bytes did, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A statement started running (`Q`, or `B` of a parsed statement); `write` if it changes data.
    Statement { write: bool },
    /// Bytes of a connection the proxy cannot read (TLS/GSS, or not PostgreSQL at all).
    Opaque,
}

/// One message being read: its tag (`0` in the startup phase), bytes still to come, kept bytes.
#[derive(Debug)]
struct Message {
    tag: u8,
    left: usize,
    kept: Vec<u8>,
}

/// The client→database stream of one connection.
#[derive(Debug)]
pub enum Wire {
    /// Untagged startup-phase messages (SSL/GSS negotiation, cancel, then the startup message).
    Startup(Reader),
    /// Tagged messages after the startup message.
    Typed(Reader),
    Opaque,
}

/// Header bytes of the next message, the message being read, and the statements this connection
/// parsed (name → writes).
#[derive(Debug, Default)]
pub struct Reader {
    header: Vec<u8>,
    current: Option<Message>,
    statements: HashMap<Vec<u8>, bool>,
}

impl Default for Wire {
    fn default() -> Self {
        Wire::Startup(Reader::default())
    }
}

impl Wire {
    /// Reads one chunk of client bytes; returns the events it completed, in order.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        while !bytes.is_empty() {
            let (typed, r) = match self {
                Wire::Opaque => {
                    events.push(Event::Opaque);
                    return events;
                }
                Wire::Startup(r) => (false, r),
                Wire::Typed(r) => (true, r),
            };
            let header_len = if typed { 5 } else { 4 };
            if r.current.is_none() {
                let take = (header_len - r.header.len()).min(bytes.len());
                r.header.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if r.header.len() < header_len {
                    break;
                }
                let (tag, len) = if typed {
                    (r.header[0], be32(&r.header[1..5]))
                } else {
                    (0, be32(&r.header[0..4]))
                };
                r.header.clear();
                let len = len as usize;
                if len < 4 || (!typed && !(8..=MAX_STARTUP).contains(&len)) {
                    *self = Wire::Opaque;
                    events.push(Event::Opaque);
                    return events;
                }
                r.current = Some(Message {
                    tag,
                    left: len - 4,
                    kept: Vec::new(),
                });
            }
            let Some(m) = r.current.as_mut() else {
                continue;
            };
            let take = m.left.min(bytes.len());
            let keep = take.min(KEEP.saturating_sub(m.kept.len()));
            m.kept.extend_from_slice(&bytes[..keep]);
            m.left -= take;
            bytes = &bytes[take..];
            if m.left > 0 {
                break;
            }
            let Some(m) = r.current.take() else {
                continue;
            };
            if typed {
                events.extend(r.finish(&m));
            } else if m.kept.len() >= 4 {
                match be32(&m.kept[0..4]) {
                    // the server answers a negotiation with one byte; if it said yes, the next
                    // client bytes are a TLS/GSS handshake, which fails the length check above
                    SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST => {}
                    _ => *self = Wire::Typed(std::mem::take(r)),
                }
            }
        }
        events
    }
}

impl Reader {
    /// What a complete tagged message means.
    fn finish(&mut self, m: &Message) -> Option<Event> {
        let mut fields = m.kept.split(|b| *b == 0);
        match m.tag {
            b'Q' => Some(Event::Statement {
                write: writes(fields.next().unwrap_or_default()),
            }),
            b'P' => {
                let name = fields.next().unwrap_or_default().to_vec();
                let sql = fields.next().unwrap_or_default();
                self.statements.insert(name, writes(sql));
                None
            }
            b'B' => {
                let _portal = fields.next();
                let name = fields.next().unwrap_or_default();
                Some(Event::Statement {
                    write: self.statements.get(name).copied().unwrap_or(false),
                })
            }
            // Close of a statement ('S') frees its name for reuse
            b'C' if m.kept.first() == Some(&b'S') => {
                let name = m.kept[1..].split(|b| *b == 0).next().unwrap_or_default();
                self.statements.remove(name);
                None
            }
            _ => None,
        }
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Statements that change data or schema, by their first keyword.
const WRITES: [&str; 8] = [
    "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "ALTER", "DROP",
];

/// Whether SQL text changes data: its first keyword (after comments and parentheses) is a write,
/// or it is a `WITH` query whose body writes (a data-modifying CTE).
pub fn writes(sql: &[u8]) -> bool {
    let text = strip_comments(&String::from_utf8_lossy(sql).to_ascii_uppercase());
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    match words.first() {
        Some(&"WITH") => words.iter().any(|w| WRITES[..4].contains(w)),
        Some(w) => WRITES.contains(w),
        None => false,
    }
}

/// SQL text without `--` line comments and `/* */` block comments (quoted text is not special:
/// only the keywords matter, and a keyword inside a string of a SELECT is never the first one).
fn strip_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
            out.push(' ');
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn startup() -> Vec<u8> {
        let body = b"\x00\x03\x00\x00user\x00app\x00\x00";
        let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn keywords_decide_what_writes() {
        assert!(writes(b"INSERT INTO t VALUES ($1)"));
        assert!(writes(b"  update t set a = 1"));
        assert!(writes(b"/* hint */ DELETE FROM t"));
        assert!(writes(b"-- note\nMERGE INTO t USING s ON true"));
        assert!(writes(
            b"WITH x AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM x"
        ));
        assert!(!writes(b"SELECT user_id FROM keys WHERE key_hash = $1"));
        assert!(!writes(b"SELECT 1 FOR UPDATE"));
        assert!(!writes(b"WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!writes(b"BEGIN ISOLATION LEVEL READ COMMITTED"));
        assert!(!writes(b"COMMIT"));
        assert!(!writes(b""));
    }

    #[test]
    fn a_cached_prepared_write_is_a_bind_and_split_chunks_are_reassembled() {
        let mut stream = startup();
        stream.extend(msg(b'Q', b"BEGIN\0"));
        stream.extend(msg(b'P', b"s1\0INSERT INTO t VALUES ($1)\0\0\0"));
        stream.extend(msg(b'P', b"s2\0SELECT 1\0\0\0"));
        stream.extend(msg(b'B', b"\0s2\0\0\0\0\0\0\0"));
        stream.extend(msg(b'B', b"\0s1\0\0\0\0\0\0\0"));
        stream.extend(msg(b'E', b"\0\0\0\0\0"));
        stream.extend(msg(b'S', b""));
        let expected = vec![
            Event::Statement { write: false },
            Event::Statement { write: false },
            Event::Statement { write: true },
        ];
        for chunk in [1, 3, 7, stream.len()] {
            let mut w = Wire::default();
            let got: Vec<Event> = stream.chunks(chunk).flat_map(|c| w.feed(c)).collect();
            assert_eq!(got, expected, "chunks of {chunk} bytes");
        }
    }

    #[test]
    fn a_closed_statement_name_is_forgotten() {
        let mut w = Wire::default();
        w.feed(&startup());
        w.feed(&msg(b'P', b"s1\0DELETE FROM t\0\0\0"));
        w.feed(&msg(b'C', b"Ss1\0"));
        assert_eq!(
            w.feed(&msg(b'B', b"\0s1\0\0\0\0\0\0\0")),
            vec![Event::Statement { write: false }]
        );
    }

    #[test]
    fn tls_after_an_ssl_request_is_opaque_and_a_refused_one_is_read() {
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        let mut w = Wire::default();
        assert!(w.feed(&ssl).is_empty());
        assert_eq!(w.feed(&[0x16, 0x03, 0x01, 0x02, 0x00]), vec![Event::Opaque]);
        assert_eq!(w.feed(b"anything"), vec![Event::Opaque]);
        let mut w = Wire::default();
        w.feed(&ssl);
        w.feed(&startup());
        assert_eq!(
            w.feed(&msg(b'Q', b"UPDATE t SET a = 1\0")),
            vec![Event::Statement { write: true }]
        );
    }
}
