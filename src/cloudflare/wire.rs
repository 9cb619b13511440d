//! The API's JSON, as it comes: a [`User`], the envelope every answer is wrapped in, its
//! `result_info` and its messages, and [`interpret`], which says what an answer means (the
//! envelope of a success, or the error it carries). Types here follow the spec, loosely: every
//! field is optional and numbers may be floats, because the published spec says so.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{codes_text, ApiError};

/// A user as the API returns it, with the fields reconcile reads. Every field is optional in the
/// spec, so every field is optional here. The others (`uid`, `seat_uid`, `created_at`,
/// `updated_at`, and any the API adds) are skipped while parsing: a listing of 100,000 users
/// then allocates half as many strings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_seat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_seat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_device_count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_login: Option<String>,
}

/// The edge: the wire type becomes the domain's.
impl From<User> for crate::model::LiveUser {
    fn from(u: User) -> Self {
        crate::model::LiveUser {
            id: u.id,
            email: u.email,
            name: u.name,
            access_seat: u.access_seat,
            gateway_seat: u.gateway_seat,
            active_device_count: u.active_device_count,
            last_successful_login: u.last_successful_login,
        }
    }
}

/// One item of the envelope's `errors` or `messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<ApiMessage>,
}

/// What every answer is wrapped in.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) success: bool,
    #[serde(default)]
    pub(crate) errors: Vec<ApiMessage>,
    pub(crate) result: Option<T>,
    #[serde(default)]
    pub(crate) result_info: Option<ResultInfo>,
}

/// The spec types these as `number` in the base schema and `integer` in the users override, so
/// accept either as long as the value is a whole number.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResultInfo {
    pub(crate) page: Option<f64>,
    pub(crate) total_count: Option<f64>,
    pub(crate) total_pages: Option<f64>,
}

/// A count from `result_info` as a whole number, or nothing when it is not one.
pub(crate) fn whole(n: Option<f64>) -> Option<u64> {
    n.filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 1e15)
        .map(|v| v as u64)
}

/// What a response means: the envelope of a success, or the error it carries. Pure, so that
/// hostile bodies can be thrown at it (see the property tests); it never panics.
pub(crate) fn interpret<T: DeserializeOwned>(
    request: String,
    status: StatusCode,
    body: &[u8],
) -> Result<(StatusCode, Envelope<T>), ApiError> {
    let parsed: Result<Envelope<T>, _> = serde_json::from_slice(body);
    match parsed {
        Ok(envelope) if status.is_success() && envelope.success => Ok((status, envelope)),
        Ok(envelope) if !status.is_success() && !envelope.success => Err(ApiError::Status {
            request,
            status: status.as_u16(),
            errors: envelope.errors,
        }),
        Ok(envelope) => Err(ApiError::Malformed {
            request,
            status: status.as_u16(),
            detail: format!(
                "`success` is {} with HTTP {}{}",
                envelope.success,
                status.as_u16(),
                codes_text(&envelope.errors)
            ),
        }),
        Err(e) if status.is_success() => Err(ApiError::Malformed {
            request,
            status: status.as_u16(),
            detail: e.to_string(),
        }),
        // An error status without a parseable envelope (a proxy's HTML page, say): still an
        // error of that status, and the status is what matters.
        Err(_) => Err(ApiError::Status {
            request,
            status: status.as_u16(),
            errors: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_parsing_tolerates_the_spec_variants() {
        let e: Envelope<Vec<User>> = serde_json::from_str(
            r#"{"success":true,"errors":[],"messages":[],"result":null,"result_info":{"page":1.0,"per_page":1000,"count":0,"total_count":0}}"#,
        )
        .unwrap();
        assert!(e.result.is_none());
        let info = e.result_info.unwrap();
        assert_eq!(whole(info.page), Some(1));
        assert_eq!(whole(info.total_pages), None);
        let u: User =
            serde_json::from_str(r#"{"id":"x","active_device_count":2.0,"future_field":true}"#)
                .unwrap();
        assert_eq!(u.active_device_count, Some(2.0));
    }
}

/// Hostile responses: the parser never panics, and every failure names the request and status.
#[cfg(test)]
mod hostile {
    use super::*;
    use proptest::prelude::*;

    const PAGE: &str = r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","email":"a@example.com","name":"A","access_seat":true,"active_device_count":2,"last_successful_login":"2026-11-27T17:45:00Z"}],"result_info":{"page":1,"per_page":1000,"count":1,"total_count":1,"total_pages":1}}"#;

    fn check(status: u16, body: &[u8]) {
        let status = StatusCode::from_u16(status).unwrap();
        match interpret::<Vec<User>>("GET /accounts/x/access/users?page=1".into(), status, body) {
            Ok((s, envelope)) => {
                assert!(s.is_success() && envelope.success);
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("GET /accounts/x/access/users?page=1"),
                    "{text}"
                );
                assert!(text.contains(&status.as_u16().to_string()), "{text}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_bytes(status in prop::sample::select(vec![200u16, 202, 400, 403, 404, 429, 500, 503]), body in prop::collection::vec(any::<u8>(), 0..512)) {
            check(status, &body);
        }

        #[test]
        fn mutated_pages(at in 0..PAGE.len(), byte in any::<u8>(), cut in any::<bool>()) {
            let mut body = PAGE.as_bytes().to_vec();
            if cut { body.truncate(at) } else { body[at] = byte }
            check(200, &body);
        }

        #[test]
        fn wrong_types_and_huge_numbers(
            field in prop::sample::select(vec!["success", "errors", "result", "result_info", "id", "email", "active_device_count", "access_seat"]),
            value in prop::sample::select(vec!["null", "1e999", "-1", "18446744073709551616", "\"x\"", "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "true"]),
        ) {
            let body = PAGE.replacen(&format!("\"{field}\":"), &format!("\"{field}\":{value},\"_was\":"), 1);
            check(200, body.as_bytes());
        }
    }

    #[test]
    fn a_huge_page_parses() {
        let users: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"id":"00000000-0000-4000-8000-{i:012}","email":"u{i}@example.com","name":"{}"}}"#, "n".repeat(200)))
            .collect();
        let body = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":[{}]}}"#,
            users.join(",")
        );
        let (_, envelope) =
            interpret::<Vec<User>>("GET x".into(), StatusCode::OK, body.as_bytes()).unwrap();
        assert_eq!(envelope.result.unwrap().len(), 1000);
        // Deep nesting where users are expected, or in a field the client ignores: no crash.
        for deep in [
            format!(
                r#"{{"success":true,"errors":[],"result":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            format!(
                r#"{{"success":true,"errors":[],"result":[],"x":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ] {
            let _ = interpret::<Vec<User>>("GET x".into(), StatusCode::OK, deep.as_bytes());
        }
    }
}
