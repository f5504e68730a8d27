//! The control protocol: one JSON object per line each way (docs/config.md).

use serde::{Deserialize, Serialize};

/// Lines `logs` returns when the request does not say.
pub const DEFAULT_LOG_LINES: usize = 100;
/// Longest request line the server reads.
pub const MAX_REQUEST: usize = 64 * 1024;

fn default_lines() -> usize {
    DEFAULT_LOG_LINES
}

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    Status,
    Logs {
        service: String,
        #[serde(default = "default_lines")]
        lines: usize,
        #[serde(default)]
        follow: bool,
    },
    Start {
        service: String,
    },
    Stop {
        service: String,
    },
    Restart {
        service: String,
    },
    Reboot,
    Poweroff,
}

/// The final answer to a request (for `logs`, after its lines).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceStatus>>,
}

impl Response {
    pub fn ok(message: impl Into<String>) -> Self {
        Response {
            ok: true,
            message: Some(message.into()),
            ..Default::default()
        }
    }

    pub fn error(error: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(error.into()),
            ..Default::default()
        }
    }
}

/// One row of `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub state: String,
    pub pid: Option<i32>,
    pub uptime_secs: Option<u64>,
    pub restarts: u32,
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One log line of a `logs` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub log: String,
}

/// A request line parsed, or the one-line reason it could not be.
pub fn parse_request(line: &str) -> Result<Request, String> {
    serde_json::from_str(line.trim()).map_err(|e| one_line(&format!("bad request: {e}")))
}

/// `text` with control characters (which a client's input can smuggle in
/// through JSON escapes) written as escapes, so it stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `value` as one line of JSON with its newline.
pub fn to_line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(value)
        .unwrap_or_else(|_| br#"{"ok":false,"error":"unserializable reply"}"#.to_vec());
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_of_the_contract_parse() {
        assert_eq!(parse_request(r#"{"cmd":"status"}"#), Ok(Request::Status));
        // Found by fuzzing: an escaped newline in an unknown command.
        let e = parse_request("{\"cmd\":\"restart\\n)u\"}").unwrap_err();
        assert!(!e.contains('\n') && e.contains("restart\\n)u"), "{e}");
        assert_eq!(
            parse_request(r#"{"cmd":"logs","service":"web","lines":5,"follow":true}"#),
            Ok(Request::Logs {
                service: "web".into(),
                lines: 5,
                follow: true
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"logs","service":"web"}"#),
            Ok(Request::Logs {
                service: "web".into(),
                lines: DEFAULT_LOG_LINES,
                follow: false
            })
        );
        assert_eq!(
            parse_request(r#" {"cmd":"restart","service":"x"} "#),
            Ok(Request::Restart {
                service: "x".into()
            })
        );
        assert_eq!(
            parse_request(r#"{"cmd":"poweroff"}"#),
            Ok(Request::Poweroff)
        );
    }

    #[test]
    fn bad_requests_say_why() {
        for bad in [
            "",
            "not json",
            r#"{"cmd":"explode"}"#,
            r#"{"cmd":"start"}"#,
            r#"{"cmd":"logs","service":"x","folow":true}"#,
        ] {
            let e = parse_request(bad).unwrap_err();
            assert!(e.starts_with("bad request: "), "{bad}: {e}");
        }
    }

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::Status,
            Request::Stop {
                service: "a".into(),
            },
            Request::Reboot,
        ] {
            let line = to_line(&r);
            assert_eq!(line.last(), Some(&b'\n'));
            let text = std::str::from_utf8(&line).unwrap();
            assert_eq!(parse_request(text), Ok(r));
        }
    }

    #[test]
    fn responses_leave_out_what_is_unset() {
        let line = to_line(&Response::error("no such service \"x\""));
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"ok\":false,\"error\":\"no such service \\\"x\\\"\"}\n"
        );
        let s = ServiceStatus {
            name: "web".into(),
            state: "running".into(),
            pid: Some(7),
            uptime_secs: Some(3),
            restarts: 1,
            memory_bytes: Some(4096),
            error: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&to_line(&s)).unwrap();
        for k in [
            "name",
            "state",
            "pid",
            "uptime_secs",
            "restarts",
            "memory_bytes",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
