//! Where requests go, and how they are named. The base URL is checked once, when the client is
//! built: https anywhere, plain http only to this machine (the sandbox), never credentials or a
//! query in it, so a token cannot cross a network unencrypted or hide in a URL. Every error shows
//! the base through [`shown_url`], which drops the parts that could hold a pasted secret, and
//! every request is named by [`Client::describe`] (method and path below the base, no host).
//! Request URLs are built from path segments, never by pasting strings.

use reqwest::{Method, Url};

use super::error::ApiError;
use super::Client;

/// The base URL as error messages show it: without user info, query or fragment, which could
/// hold a credential someone pasted there.
pub(crate) fn shown_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            let hidden = !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            if hidden {
                format!("{url} (parts that may hold credentials not shown)")
            } else {
                url.to_string()
            }
        }
        Err(_) if raw.contains(['@', '?', '#']) => "(not shown: it may contain credentials)".into(),
        Err(_) => raw.to_string(),
    }
}

/// The URL's host is this machine: 127.0.0.0/8, ::1 or localhost.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What a base URL of the API looks like: said wherever one is refused, before a request (here)
/// or after the API answered that the path is no route of it (`ApiError::Route`).
pub(crate) const BASE_URL_SHAPE: &str = "--api-url / CLOUDFLARE_BASE_URL must end in /client/v4, like https://api.cloudflare.com/client/v4 (or http://127.0.0.1:PORT/client/v4 for the sandbox)";

/// Plain http is allowed only to this machine (the sandbox); credentials never cross a network
/// unencrypted. What can be known wrong without a request is refused here: no scheme
/// (`api.cloudflare.com/client/v4`), or no path at all (every route of the API is below
/// `/client/v4`); a path that is wrong in another way is for the API to say.
pub(crate) fn check_base_url(raw: &str) -> Result<Url, ApiError> {
    let refuse = |why: &str, shape: bool| ApiError::BaseUrl {
        url: shown_url(raw),
        why: why.to_string(),
        shape,
    };
    let fail = |why: &str| refuse(why, false);
    let misshapen = |why: &str| refuse(why, true);
    // `localhost:8787/client/v4` parses, with `localhost` as its scheme.
    if !raw.contains("://") {
        return Err(misshapen("it has no scheme (https://)"));
    }
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| misshapen(&e.to_string()))?;
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(misshapen("it is not a base URL"));
    }
    if url.path().trim_matches('/').is_empty() && matches!(url.scheme(), "http" | "https") {
        return Err(misshapen("it has no path: /client/v4 is missing"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(
            "credentials in the URL are not accepted; use CLOUDFLARE_API_TOKEN",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            if is_loopback(&url) {
                Ok(url)
            } else {
                Err(fail("plain http is refused for any host but this machine (127.0.0.1, ::1, localhost); use https"))
            }
        }
        other => Err(fail(&format!("unsupported scheme `{other}`; use https"))),
    }
}

impl Client {
    /// `{base}/accounts/{account_id}/access/users/{segments…}?{query}`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(["accounts", self.account_id.as_str(), "access", "users"]);
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// `{base}/{segments…}`, for the routes outside the account's users (token verification).
    pub(crate) fn url_root(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// "GET /accounts/…/access/users?page=2" — the request as errors name it (no credentials).
    pub(crate) fn describe(&self, method: &Method, url: &Url) -> String {
        let base_path = self.base.path().trim_end_matches('/');
        let path = url.path().strip_prefix(base_path).unwrap_or(url.path());
        match url.query() {
            Some(q) => format!("{method} {path}?{q}"),
            None => format!("{method} {path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::Credentials;
    use crate::model::AccountId;
    use crate::secret::Secret;

    #[test]
    fn base_url_errors_never_show_credentials() {
        for raw in [
            "https://user:Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@api.cloudflare.com/client/v4",
            "https://api.cloudflare.com/client/v4?token=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY",
            "http://Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@10.0.0.1/client/v4",
            "not a url Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@?",
        ] {
            let e = check_base_url(raw).unwrap_err().to_string();
            assert!(
                !e.contains("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"),
                "{e}"
            );
        }
    }

    #[test]
    fn base_url_rules() {
        assert!(check_base_url("https://api.cloudflare.com/client/v4").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/client/v4/").is_ok());
        assert!(check_base_url("http://localhost:1/client/v4").is_ok());
        assert!(check_base_url("http://[::1]:1/client/v4").is_ok());
        for bad in [
            "http://api.cloudflare.com/client/v4",
            "http://10.0.0.1/client/v4",
            "ftp://x/y",
            "https://user:pw@api.cloudflare.com/client/v4",
            "not a url",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_url_without_scheme_or_path_says_what_it_should_look_like() {
        for (bad, why) in [
            (
                "api.cloudflare.com/client/v4",
                "it has no scheme (https://)",
            ),
            ("localhost:8787/client/v4", "it has no scheme (https://)"),
            ("https://api.cloudflare.com", "/client/v4 is missing"),
            ("http://127.0.0.1:8787/", "/client/v4 is missing"),
        ] {
            let e = check_base_url(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(
                e.contains("like https://api.cloudflare.com/client/v4"),
                "{bad}: {e}"
            );
        }
        // Another path may be a proxy's: only the API can say it is wrong.
        assert!(check_base_url("https://proxy.example.com/cloudflare").is_ok());
    }

    #[test]
    fn urls_are_built_from_segments() {
        let client = Client::new(
            "http://127.0.0.1:1/client/v4/",
            Credentials::Token(Secret::new("t")),
            &AccountId::example(),
        )
        .unwrap();
        let url = client.url(&["f174e90a-fafe-4643-bbbc-4a0ed4fc8415"], &[]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users/f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
        );
        let url = client.url(&[], &[("page", "2".into())]);
        assert_eq!(
            client.describe(&Method::GET, &url),
            "GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users?page=2"
        );
    }
}
