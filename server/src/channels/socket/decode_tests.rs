//! Properties of the frame decoder over generated input: every valid frame survives a round trip,
//! and no text, JSON or near-JSON makes it panic or misreport what was wrong.

use docket_protocol::channel::PresenceState;
use docket_protocol::error::ErrorCode;
use docket_protocol::ids::MatterId;
use docket_protocol::text::Text;
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::*;

fn matter_id() -> impl Strategy<Value = MatterId> {
    any::<u128>().prop_map(|n| MatterId(Uuid::from_u128(n)))
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Any text, controls and astral characters included: the decoder must not care.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..64).prop_map(String::from_iter)
}

/// Text a frame may carry: any text the checked type accepts (controls are refused by `Text`,
/// which has its own tests; here they would only make the frame invalid).
fn frame_text() -> impl Strategy<Value = Text> {
    text().prop_filter_map("a control character", |t| Text::new(t).ok())
}

fn presence() -> impl Strategy<Value = PresenceState> {
    prop_oneof![
        Just(PresenceState::Online),
        Just(PresenceState::Away),
        Just(PresenceState::Offline),
    ]
}

/// Every kind of client frame, with arbitrary field values.
fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (matter_id(), any::<Option<u64>>())
            .prop_map(|(matter_id, since)| ClientFrame::Subscribe { matter_id, since }),
        matter_id().prop_map(|matter_id| ClientFrame::Unsubscribe { matter_id }),
        (matter_id(), uuid(), frame_text(), any::<Option<u64>>()).prop_map(
            |(matter_id, client_msg_id, text, reply_to)| ClientFrame::Send {
                matter_id,
                client_msg_id,
                text,
                reply_to,
            }
        ),
        (matter_id(), uuid(), any::<u64>(), frame_text()).prop_map(
            |(matter_id, client_msg_id, target_seq, text)| ClientFrame::Edit {
                matter_id,
                client_msg_id,
                target_seq,
                text,
            }
        ),
        (matter_id(), uuid(), any::<u64>()).prop_map(|(matter_id, client_msg_id, target_seq)| {
            ClientFrame::Delete {
                matter_id,
                client_msg_id,
                target_seq,
            }
        }),
        (matter_id(), any::<u64>())
            .prop_map(|(matter_id, seq)| ClientFrame::Read { matter_id, seq }),
        matter_id().prop_map(|matter_id| ClientFrame::Typing { matter_id }),
        presence().prop_map(|state| ClientFrame::Presence { state }),
        proptest::option::of(matter_id()).prop_map(|matter_id| ClientFrame::Viewing { matter_id }),
    ]
}

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
        uuid().prop_map(|id| Value::String(id.to_string())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Field names the frames use, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "matter_id",
            "client_msg_id",
            "text",
            "since",
            "reply_to",
            "target_seq",
            "seq",
            "state",
        ])
        .prop_map(str::to_owned),
        text(),
    ]
}

/// A JSON object tagged as a known (or unknown) frame type, with arbitrary fields.
fn tagged_object() -> impl Strategy<Value = Value> {
    let tag = prop::sample::select(vec![
        "subscribe",
        "unsubscribe",
        "send",
        "edit",
        "delete",
        "read",
        "typing",
        "presence",
        "viewing",
        "hello",
        "",
    ]);
    (
        tag,
        proptest::collection::btree_map(field_name(), json(), 0..6),
    )
        .prop_map(|(tag, fields)| {
            let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
            object.insert("type".into(), Value::String(tag.into()));
            Value::Object(object)
        })
}

/// The serialised form of a valid frame with one edit: a byte range cut out, or text put in.
fn near_json() -> impl Strategy<Value = String> {
    (
        client_frame(),
        any::<prop::sample::Index>(),
        0..8usize,
        text(),
    )
        .prop_map(|(frame, at, cut, insert)| {
            let json = serde_json::to_string(&frame).expect("frames serialise");
            let mut chars: Vec<char> = json.chars().collect();
            let at = at.index(chars.len() + 1);
            let end = (at + cut).min(chars.len());
            chars.splice(at..end, insert.chars());
            chars.into_iter().collect()
        })
}

/// Whatever the text, the decoder answers; an accepted frame re-serialises to the same frame, and
/// well-formed JSON is never reported as malformed.
fn assert_decodes_sanely(text: &str) {
    match decode_frame(text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("frames serialise");
            assert_eq!(decode_frame(&again).ok(), Some(frame));
        }
        Err(err) if text.len() > MAX_FRAME_BYTES => {
            assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
        }
        Err(err) => {
            let code = err.code();
            let well_formed = serde_json::from_str::<Value>(text).is_ok();
            assert!(
                code == ErrorCode::InvalidInput
                    || (code == ErrorCode::MalformedJson && !well_formed),
                "{code:?} for {text:?}: {err}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn every_valid_frame_round_trips(frame in client_frame()) {
        let json = serde_json::to_string(&frame).expect("frames serialise");
        prop_assert_eq!(decode_frame(&json).ok(), Some(frame));
    }

    #[test]
    fn any_text_is_answered(text in text()) {
        assert_decodes_sanely(&text);
    }

    #[test]
    fn any_json_is_answered(value in prop_oneof![json(), tagged_object()]) {
        assert_decodes_sanely(&value.to_string());
    }

    #[test]
    fn damaged_frames_are_answered(text in near_json()) {
        assert_decodes_sanely(&text);
    }
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let text = format!(
        "{{\"type\":\"typing\",\"pad\":\"{}\"}}",
        "x".repeat(MAX_FRAME_BYTES)
    );
    assert_eq!(
        decode_frame(&text).map_err(|err| err.code()),
        Err(ErrorCode::PayloadTooLarge)
    );
}

#[test]
fn errors_say_what_was_wrong() {
    let code = |text: &str| decode_frame(text).map_err(|err| err.code());
    assert_eq!(code("{\"type\":"), Err(ErrorCode::MalformedJson));
    assert_eq!(code("{\"type\":\"shout\"}"), Err(ErrorCode::InvalidInput));
    assert_eq!(
        code("{\"type\":\"typing\",\"matter_id\":\"not a uuid\"}"),
        Err(ErrorCode::InvalidInput)
    );
}
