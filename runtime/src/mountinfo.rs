//! Reading `/proc/<pid>/mountinfo` fields.

/// Undoes the octal escapes (`\040` for a space, `\134` for a backslash ...)
/// the kernel puts in mountinfo's path fields.
///
/// ```
/// use nsinit_runtime::mountinfo::unescape;
/// assert_eq!(unescape(r"/a\040b"), "/a b");
/// assert_eq!(unescape(r"/end\04"), r"/end\04");
/// ```
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(oct) = b.get(i + 1..i + 4) {
                if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    let v = oct
                        .iter()
                        .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                    if let Ok(byte) = u8::try_from(v) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/back\134slash"), r"/back\slash");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape(r"/end\04"), r"/end\04");
        assert_eq!(unescape(r"/big\777"), r"/big\777");
    }
}
