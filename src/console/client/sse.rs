//! A Server-Sent Events parser (the WHATWG "event stream interpretation"): bytes in, messages
//! out, fed chunk by chunk as they arrive, whatever the chunk boundaries. Small enough to own,
//! which spares the client a second HTTP stack or a crate pinned to an older reqwest.

/// One dispatched message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// The `event` field; `message` when absent.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The last event id in effect when the message was dispatched (sticky across messages).
    pub id: Option<String>,
}

/// Longest line accepted; a stream that exceeds it is broken, not merely large.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The current line, before its end arrives.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a LF opening the next one belongs to it.
    after_cr: bool,
    /// Whether the byte-order mark check has been done.
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry: Option<u64>,
}

/// The stream broke the format in a way that cannot be recovered from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event stream sent a line longer than {MAX_LINE} bytes")]
pub struct LineTooLong;

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Feeds the next chunk; returns the messages it completed.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<Vec<SseMessage>, LineTooLong> {
        if !self.started && !chunk.is_empty() {
            self.started = true;
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        let mut out = Vec::new();
        for &byte in chunk {
            let after_cr = std::mem::take(&mut self.after_cr);
            match byte {
                b'\n' if after_cr => {}
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut out);
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err(LineTooLong);
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(out)
    }

    fn end_line(&mut self, out: &mut Vec<SseMessage>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            // A comment: the keep-alives.
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // An id with NUL is ignored, as the spec says.
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseMessage>) {
        let event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        let data = std::mem::take(&mut self.data);
        out.push(SseMessage {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<SseMessage>, SseParser) {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(parser.push(chunk).expect("well-formed stream"));
        }
        (out, parser)
    }

    fn message(event: &str, data: &str, id: Option<&str>) -> SseMessage {
        SseMessage {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let (out, _) = parse_all(&[b"event: job\nid: 7\ndata: {\"a\":\ndata:1}\ndata\n\n"]);
        assert_eq!(out, [message("job", "{\"a\":\n1}\n", Some("7"))]);
    }

    #[test]
    fn comments_are_skipped_and_blank_dispatches_nothing() {
        let (out, _) = parse_all(&[b": keep-alive\n\n:another\n\ndata: x\n\n"]);
        assert_eq!(out, [message("message", "x", None)]);
    }

    #[test]
    fn retry_takes_digits_only() {
        let (_, parser) = parse_all(&[b"retry: 2500\n\n"]);
        assert_eq!(parser.retry(), Some(2500));
        let (_, parser) = parse_all(&[b"retry: 2s\n\n"]);
        assert_eq!(parser.retry(), None);
    }

    #[test]
    fn crlf_cr_and_lf_all_end_lines_even_split_across_chunks() {
        let (out, _) = parse_all(&[
            b"id: 1\r\nevent: task\r",
            b"\ndata: a\r",
            b"\n\r",
            b"\nid: 2\rdata: b\r\r",
        ]);
        assert_eq!(
            out,
            [
                message("task", "a", Some("1")),
                message("message", "b", Some("2"))
            ]
        );
    }

    #[test]
    fn fields_split_across_chunks_and_a_bom_are_handled() {
        let (out, _) = parse_all(&[b"\xEF\xBB\xBFev", b"ent: hel", b"lo\nda", b"ta:x\n", b"\n"]);
        assert_eq!(out, [message("hello", "x", None)]);
    }

    #[test]
    fn the_id_sticks_and_an_id_with_nul_is_ignored() {
        let (out, _) = parse_all(&[b"id: 5\ndata: a\n\ndata: b\n\nid: 6\0\ndata: c\n\n"]);
        let ids: Vec<_> = out.iter().map(|m| m.id.as_deref()).collect();
        assert_eq!(ids, [Some("5"), Some("5"), Some("5")]);
    }

    #[test]
    fn an_unfinished_message_is_not_dispatched() {
        let (out, _) = parse_all(&[b"data: half"]);
        assert!(out.is_empty());
    }
}
