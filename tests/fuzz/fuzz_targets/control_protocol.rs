//! The control socket's request parser: any line is a request or a
//! one-line error, and a parsed request survives a round trip.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../../src/ctl/protocol.rs"]
mod protocol;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match protocol::parse_request(line) {
        Ok(req) => {
            let again = protocol::to_line(&req);
            let text = String::from_utf8(again).expect("to_line writes UTF-8");
            let back =
                protocol::parse_request(text.trim_end()).expect("a serialized request parses");
            assert_eq!(req, back);
        }
        Err(e) => assert!(!e.contains('\n'), "{e}"),
    }
});
