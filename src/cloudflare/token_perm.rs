//! What a token may do, read from its own details (API-additions §2c/2d): verify gives the
//! token's `id`; `GET /accounts/{account_id}/tokens/{id}` (or `/user/tokens/{id}` when verify
//! answered at the user route) gives its `policies[]`, but only to a token that holds
//! (Account) API Tokens Read. Without it the details call is refused (403 code 10000).

use reqwest::Method;
use serde::Deserialize;

use super::error::ApiError;
use super::verify::{TokenInfo, VerifiedAt};
use super::Client;

/// One policy of a token, as sent (`effect`, the permission groups' names, `resources`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenPolicy {
    #[serde(default)]
    pub effect: String,
    #[serde(default)]
    pub permission_groups: Vec<PermissionGroup>,
    #[serde(default)]
    pub resources: serde_json::Value,
}

/// A permission group of a policy: `id` required by the spec, `name` optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PermissionGroup {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireDetails {
    #[serde(default)]
    policies: Option<Vec<TokenPolicy>>,
}

impl Client {
    /// The token's policies, from its details: one attempt, no retries (a preflight reports,
    /// it does not insist). The route follows the verification's: the account route for a
    /// token verified there, the user route for one verified at `/user/tokens/verify`.
    pub async fn token_policies(&self, info: &TokenInfo) -> Result<Vec<TokenPolicy>, ApiError> {
        let url = match info.at {
            VerifiedAt::Account => {
                self.url_root(&["accounts", self.account_id.as_str(), "tokens", &info.id])
            }
            VerifiedAt::User => self.url_root(&["user", "tokens", &info.id]),
        };
        let request = self.describe(&Method::GET, &url);
        let a = self.attempt::<WireDetails>(Method::GET, url).await;
        let (_, envelope) = a.result.map_err(|e| self.route_error(e))?;
        envelope
            .result
            .and_then(|d| d.policies)
            .ok_or_else(|| ApiError::Malformed {
                request,
                status: a.status.unwrap_or(200),
                detail: "the token's details lack `policies`".into(),
            })
    }
}

/// The permissions in `needed` that `policies` do not grant on the account `account_id`: a
/// permission is granted when an `allow` policy names it (by name) on resources that cover the
/// account, and no `deny` policy names it (whatever its resources: conservative). Resources
/// cover the account only when they read plainly as doing so: a top-level key
/// `com.cloudflare.api.account.<account_id>` or `com.cloudflare.api.account.*` whose value is
/// `"*"`. Anything else (a nested map, a zone, an unknown shape) does not.
pub fn missing<'n>(policies: &[TokenPolicy], account_id: &str, needed: &[&'n str]) -> Vec<&'n str> {
    let names = |p: &TokenPolicy, want: &str| {
        p.permission_groups.iter().any(|g| {
            g.name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(want))
        })
    };
    needed
        .iter()
        .copied()
        .filter(|want| {
            let denied = policies
                .iter()
                .any(|p| !p.effect.eq_ignore_ascii_case("allow") && names(p, want));
            let allowed = policies.iter().any(|p| {
                p.effect.eq_ignore_ascii_case("allow")
                    && names(p, want)
                    && covers(&p.resources, account_id)
            });
            denied || !allowed
        })
        .collect()
}

fn covers(resources: &serde_json::Value, account_id: &str) -> bool {
    let Some(map) = resources.as_object() else {
        return false;
    };
    map.iter().any(|(key, value)| {
        let scope = key
            .strip_prefix("com.cloudflare.api.account.")
            .is_some_and(|rest| rest == "*" || rest.eq_ignore_ascii_case(account_id));
        scope && value.as_str() == Some("*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
    const ZT: &str = "Zero Trust Write";
    const GROUPS: &str = "Access: Organizations, Identity Providers, and Groups Write";

    fn policy(effect: &str, names: &[&str], resources: serde_json::Value) -> TokenPolicy {
        TokenPolicy {
            effect: effect.into(),
            permission_groups: names
                .iter()
                .map(|n| PermissionGroup {
                    id: Some("x".into()),
                    name: Some((*n).into()),
                })
                .collect(),
            resources,
        }
    }

    fn on_account() -> serde_json::Value {
        json!({ format!("com.cloudflare.api.account.{ACCOUNT}"): "*" })
    }

    #[test]
    fn an_allow_on_the_account_grants_and_a_missing_one_is_named() {
        let p = [policy("allow", &[ZT, GROUPS], on_account())];
        assert!(missing(&p, ACCOUNT, &[ZT, GROUPS]).is_empty());
        let p = [policy("allow", &["Zero Trust Read"], on_account())];
        assert_eq!(missing(&p, ACCOUNT, &[ZT, GROUPS]), vec![ZT, GROUPS]);
        let p = [policy(
            "allow",
            &[ZT],
            json!({"com.cloudflare.api.account.*": "*"}),
        )];
        assert!(missing(&p, ACCOUNT, &[ZT]).is_empty());
    }

    #[test]
    fn a_deny_overrides_and_unread_resources_do_not_cover() {
        let p = [
            policy("allow", &[ZT], on_account()),
            policy(
                "deny",
                &[ZT],
                json!({"com.cloudflare.api.account.other": "*"}),
            ),
        ];
        assert_eq!(missing(&p, ACCOUNT, &[ZT]), vec![ZT]);
        for resources in [
            json!({"com.cloudflare.api.account.ffffffffffffffffffffffffffffffff": "*"}),
            json!({"com.cloudflare.api.account.*": {"com.cloudflare.api.account.zone.*": "*"}}),
            json!({"com.cloudflare.api.user.*": "*"}),
            json!("*"),
            json!(null),
        ] {
            let p = [policy("allow", &[ZT], resources.clone())];
            assert_eq!(missing(&p, ACCOUNT, &[ZT]), vec![ZT], "{resources}");
        }
    }
}
