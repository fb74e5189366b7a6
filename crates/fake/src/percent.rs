//! Percent-decoding, for paths (a segment at a time) and form-encoded queries: written once,
//! for the server (routing) and the state (query parameters), so that neither imports the other.

/// `%XX` escapes decoded (and `+` as a space where `plus_is_space`, as a form-encoded query
/// writes it); a malformed escape is kept as it is, and bytes that are not UTF-8 become U+FFFD.
pub(crate) fn decoded(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
