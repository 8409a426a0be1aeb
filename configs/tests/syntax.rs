//! Malformed JSON, unknown keys and wrong types are errors with a line and a
//! column, never a panic.

use nsinit_configs::load::{is_oci, parse_named};
use nsinit_configs::{load, parse, LoadError};

fn syntax(json: &str) -> (usize, usize, String) {
    match parse(json) {
        Err(LoadError::Syntax {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn malformed_json() {
    let (line, column, message) = syntax("{\n  \"rootfs\": \"r\",\n  \"hostname\": \n}");
    assert_eq!((line, column), (4, 1));
    assert!(message.contains("expected value"), "{message}");

    let (line, _, message) = syntax("{\"rootfs\": \"r\"");
    assert_eq!(line, 1);
    assert!(message.contains("EOF"), "{message}");

    let (line, column, _) = syntax("{\"rootfs\": \"r\",}");
    assert_eq!((line, column), (1, 16));

    let (line, column, _) = syntax("");
    assert_eq!((line, column), (1, 0));
}

#[test]
fn unknown_keys() {
    let (line, column, message) = syntax("{\n  \"rootfs\": \"r\",\n  \"hostnme\": \"x\"\n}");
    assert_eq!((line, column), (3, 11));
    assert!(message.starts_with("unknown field `hostnme`"), "{message}");

    // Unknown keys are rejected at every depth.
    let json = r#"{"rootfs": "r", "cgroups": {"memroy": 1}}"#;
    let (_, column, message) = syntax(json);
    assert_eq!(column, 36);
    assert!(message.starts_with("unknown field `memroy`"), "{message}");

    let json =
        r#"{"rootfs": "r", "mounts": [{"destination": "/a", "device": "tmpfs", "opts": ""}]}"#;
    assert!(syntax(json).2.starts_with("unknown field `opts`"));
}

#[test]
fn wrong_types() {
    let (line, column, message) = syntax("{\n  \"rootfs\": 42\n}");
    assert_eq!((line, column), (2, 14));
    assert!(
        message.contains("invalid type: integer `42`, expected a string"),
        "{message}"
    );

    let json = "{\"rootfs\": \"r\",\n \"cgroups\": {\"memory\": \"1g\"}}";
    let (line, _, message) = syntax(json);
    assert_eq!(line, 2);
    assert!(message.contains("invalid type: string \"1g\""), "{message}");

    let json = r#"{"rootfs": "r", "readonlyfs": "yes"}"#;
    assert!(syntax(json).2.contains("expected a boolean"));

    let json = r#"{"rootfs": "r", "namespaces": [{"type": "NEWFOO"}]}"#;
    assert!(syntax(json).2.contains("unknown variant `NEWFOO`"));

    let json =
        r#"{"rootfs": "r", "uid_mappings": [{"container_id": -1, "host_id": 0, "size": 1}]}"#;
    assert!(syntax(json).2.contains("invalid value: integer `-1`"));

    let json = r#"{"rootfs": "r", "mounts": [{"destination": "/a", "device": "tmpfs", "flags": ["mode=755"]}]}"#;
    assert!(syntax(json).2.contains("unknown mount flag \"mode=755\""));

    let json = r#"{"rootfs": "r", "devices": [{"type": "x", "path": "/dev/x"}]}"#;
    assert!(syntax(json).2.contains("a device type"));

    let json = r#"{"rootfs": "r", "rlimits": [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]}"#;
    assert!(syntax(json).2.contains("RLIMIT_FOO"));

    let json = r#"{"rootfs": "r", "parent_death_signal": "SIGFOO"}"#;
    assert!(syntax(json).2.contains("SIGFOO"));

    let json = r#"{"rootfs": "r", "capabilities": 5}"#;
    assert!(syntax(json).2.contains("capability"));
}

#[test]
fn missing_required_keys() {
    assert!(syntax("{}").2.contains("missing field `rootfs`"));
    let json = r#"{"rootfs": "r", "mounts": [{"device": "tmpfs"}]}"#;
    assert!(syntax(json).2.contains("missing field `destination`"));
}

#[test]
fn error_display_names_origin_line_and_column() {
    let e = parse_named("{\"rootfs\": 1}", "box.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "box.json: line 1, column 12: invalid type: integer `1`, expected a string"
    );
}

#[test]
fn no_panic_on_any_truncation_or_corruption() {
    let text = serde_json::to_string_pretty(&nsinit_configs::default_config()).unwrap();
    let bytes = text.as_bytes();
    for end in 0..bytes.len() {
        if let Ok(s) = std::str::from_utf8(&bytes[..end]) {
            let _ = parse(s);
            let _ = is_oci(s);
        }
    }
    // Replace one character at a time with characters JSON cares about.
    for (i, _) in text.char_indices().step_by(7) {
        for c in ['"', '{', ']', ',', '-', '1', 'x'] {
            let mut s = text.clone();
            s.replace_range(i..i + 1, &c.to_string());
            let _ = parse(&s);
        }
    }
}

#[test]
fn load_reports_the_file_name() {
    let dir = std::env::temp_dir().join(format!("nsinit-syntax-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("container.json");
    std::fs::write(
        &file,
        "{\n  \"rootfs\": \"rootfs\",\n  \"bogus\": true\n}\n",
    )
    .unwrap();
    let e = load(&file).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: line 3, column 9: unknown field `bogus`",
            file.display()
        )),
        "{text}"
    );
    let e = load(&dir.join("missing.json")).unwrap_err();
    assert!(matches!(e, LoadError::Read { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}
