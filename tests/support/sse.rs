//! Reading Server-Sent Events from a streaming response as a console does: messages split at
//! blank lines, comments and keep-alives skipped, `data` parsed as JSON when it is JSON.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

/// One parsed SSE message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

impl Message {
    /// The id as the adapter writes it (the store's event id).
    pub fn numeric_id(&self) -> Option<i64> {
        self.id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// Reads SSE messages from a streaming response.
pub struct Reader {
    response: reqwest::Response,
    buffer: String,
}

impl Reader {
    /// Checks that `response` is an open event stream.
    pub fn new(response: reqwest::Response) -> Reader {
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Reader {
            response,
            buffer: String::new(),
        }
    }

    /// The next message, within 20 s.
    pub async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    if let Some(message) = parse(&block) {
                        return message;
                    }
                    continue;
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .expect("stream readable")
                    .expect("stream still open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event arrives within 20 s")
    }
}

fn parse(block: &str) -> Option<Message> {
    let mut id = None;
    let mut event = String::from("message");
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(Message {
        id,
        event,
        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
    })
}
