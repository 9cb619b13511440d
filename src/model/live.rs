//! A live user as the plan sees it: the fields `reconcile` reads, as the API wrote them. The
//! client converts its wire type into this at its edge, so the planner, the saved plans and the
//! renderers never depend on the HTTP client; the id and the address are checked where they are
//! used (`UserId::parse`, `Email::parse`), once per plan.

/// Every field is optional, as in the spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveUser {
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub access_seat: Option<bool>,
    pub gateway_seat: Option<bool>,
    pub active_device_count: Option<f64>,
    pub last_successful_login: Option<String>,
}
